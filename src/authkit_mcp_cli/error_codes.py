"""Every stable code atoms-auth reports, in one place: the exit codes, and the dotted error codes.

An error's ``code`` (``--json`` prints it, the text form ends with ``code: ...``) is an
:class:`ErrorCode` member. A member is a ``str`` (``StrEnum``): it compares equal to its dotted
string and is serialised as it, so programs and tests read ``"as.insecure"`` as before. Each
member is declared with what it means and the exit codes it ends a command with; ``make docs``
lists them in docs/errors.md. To add a code: add a member here, with its meaning and exit code,
and run ``make docs``. A string is never passed as ``code=`` (tests/unit/test_error_codes.py).

A leaf: nothing here imports anything but :mod:`enum` (``--help`` stays fast).
"""

from __future__ import annotations

import enum


class ExitCode:
    """The documented exit codes (README, ``--help``); ``errors.EXIT_CODE_MEANINGS`` says what each means."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    NETWORK = 3
    PROTOCOL = 4
    DENIED = 5
    SOFTWARE = 70  # a bug in atoms-auth (sysexits.h EX_SOFTWARE)
    INTERRUPTED = 130
    PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a command whose reader went away


FINDINGS, USAGE, NETWORK, PROTOCOL, DENIED = ExitCode.FINDINGS, ExitCode.USAGE, ExitCode.NETWORK, ExitCode.PROTOCOL, ExitCode.DENIED


class ErrorCode(enum.StrEnum):
    """One member a code: ``NAME = "dotted.code", "what it means", exit code(s)``."""

    meaning: str
    exit_codes: tuple[int, ...]

    def __new__(cls, value: str, meaning: str, *exit_codes: int) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        member.exit_codes = exit_codes
        return member

    # The error classes' own codes (errors.py), used when a raise names none.
    ERROR = "error", "A failure with no more specific code (the demo's failed steps).", FINDINGS
    USAGE_INVALID = "usage.invalid", "Bad command-line input or configuration.", USAGE
    NETWORK_FAILED = "network.failed", "The remote could not be reached.", NETWORK
    PROTOCOL_VIOLATION = "protocol.violation", "The remote answered, but not as the protocol requires.", PROTOCOL
    CHALLENGE_MALFORMED = "challenge.malformed", "A WWW-Authenticate header does not follow RFC 9110 §11.6.1.", PROTOCOL
    OAUTH_REMOTE_ERROR = "oauth.remote-error", "The AS refused a request with an OAuth error response (RFC 6749 §5.2); remote.error names it.", FINDINGS
    MCP_AUTH_CHALLENGE = "mcp.auth-challenge", "The MCP server answered 401 or 403 with a Bearer challenge (RFC 6750 §3).", FINDINGS
    AUTHORIZATION_DENIED = "authorization.denied", "The user or the AS denied the authorization (access_denied).", DENIED
    AUTHORIZATION_REFUSED = "authorization.refused", "The AS answered the authorization request with an error other than access_denied (RFC 6749 §4.1.2.1).", DENIED
    # Outside the tree: the command boundary and the CLI framework.
    INTERNAL_BUG = "internal.bug", "A bug in atoms-auth (ATOMS_AUTH_DEBUG=1 shows the traceback).", ExitCode.SOFTWARE
    USAGE_CLI = "usage.cli", "The command line does not parse: an unknown command or option, a missing or bad value.", USAGE

    # The authorization server and its metadata (RFC 8414).
    AS_ENDPOINT_MISSING = "as.endpoint-missing", "The AS (or IdP) metadata lacks an endpoint the flow needs, or it is not a usable URL.", PROTOCOL
    AS_INSECURE = "as.insecure", "The AS issuer or one of its endpoints is not https (loopback exempt; --allow-http allows it).", PROTOCOL
    AS_INVALID_ISSUER = "as.invalid-issuer", "The authorization server named by the server is not an absolute URL.", PROTOCOL
    AS_ISSUER_MISMATCH = "as.issuer-mismatch", "The AS metadata names another issuer than the one it was fetched for (RFC 8414 §3.3).", PROTOCOL
    AS_METADATA_NOT_FOUND = "as.metadata-not-found", "No authorization server metadata at any well-known location.", PROTOCOL
    AS_PKCE_UNSUPPORTED = "as.pkce-unsupported", "The AS does not advertise PKCE S256, which MCP clients require.", PROTOCOL

    # Client registration: Client ID Metadata Documents and dynamic registration (RFC 7591).
    CIMD_INVALID_CLIENT_ID = "cimd.invalid-client-id", "A Client ID Metadata Document URL that cannot be a client_id (https with a path).", USAGE
    DCR_AUTH_METHOD_UNSUPPORTED = "dcr.auth-method-unsupported", "The AS offers no token endpoint auth method atoms-auth can register with.", USAGE
    DCR_INVALID_RESPONSE = "dcr.invalid-response", "The registration response is not JSON, has no client_id, or lacks the secret it promised.", PROTOCOL
    DCR_UNSUPPORTED = "dcr.unsupported", "The AS offers no dynamic client registration, and no client was given.", USAGE

    # init
    INIT_CHECK_FAILED = "init.check-failed", "init did not write the file: the AuthKit domain check failed.", FINDINGS
    INIT_NOT_WRITTEN = "init.not-written", "init did not write the file: updating it was declined.", FINDINGS

    # login and the stored login
    LOGIN_AS_MOVED = "login.as-moved", "The server now names another authorization server than the stored login's.", DENIED
    LOGIN_ASSERTION_AUDIENCE = "login.assertion-audience", "An assertion (or an IdP's ID-JAG) is not meant for this AS: its aud names another.", USAGE, PROTOCOL
    LOGIN_AUTHORIZATION_ENDPOINT_ERROR = "login.authorization-endpoint-error", "The authorization endpoint failed before any sign-in.", FINDINGS
    LOGIN_CALLBACK_TIMEOUT = "login.callback-timeout", "No authorization response reached the loopback callback within --wait.", DENIED
    LOGIN_CLIENT_ISSUER_MISMATCH = "login.client-issuer-mismatch", "The client belongs to another authorization server than the one the server names.", USAGE
    LOGIN_CLIENT_ISSUER_UNKNOWN = "login.client-issuer-unknown", "A pre-registered client whose authorization server atoms-auth does not know.", USAGE
    LOGIN_CLIENT_UNKNOWN = "login.client-unknown", "The AS does not accept the client for the authorization request.", FINDINGS
    LOGIN_CORRUPT_RECORD = "login.corrupt-record", "A stored login, client key or DPoP key is incomplete or unreadable.", USAGE
    LOGIN_DEVICE_DENIED = "login.device-denied", "The user denied the device authorization (RFC 8628 access_denied).", DENIED
    LOGIN_DEVICE_EXPIRED = "login.device-expired", "The device code expired, or the wait ended, before the user approved (RFC 8628).", DENIED
    LOGIN_EXPIRED = "login.expired", "The stored access token expired and there is no refresh token.", DENIED
    LOGIN_GRANT_ENDED = "login.grant-ended", "The AS refused the refresh token (invalid_grant): the grant has ended.", DENIED
    LOGIN_NO_BROWSER = "login.no-browser", "No browser could be opened and stdin is not a terminal, so nobody can sign in.", DENIED
    LOGIN_NOT_LOGGED_IN = "login.not-logged-in", "No stored login for the server (or none at all).", DENIED
    LOGIN_STEP_UP_NEEDED = "login.step-up-needed", "The server needs more scopes than the stored token holds, and this caller may not log in (agent mode): the hint names the login to run.", DENIED
    LOGIN_PORT_BUSY = "login.port-busy", "The loopback callback port is in use.", USAGE
    LOGOUT_NOT_REVOKED = "logout.not-revoked", "The AS did not revoke a token; atoms-auth forgot it anyway.", FINDINGS
    TOKEN_PRINT_TO_TERMINAL = "token.print-to-terminal", "token print was asked to show the access token on a terminal without --reveal.", USAGE
    TOKEN_NO_REFRESH_TOKEN = "token.no-refresh-token", "The AS issued no refresh token for this login: nothing to refresh with.", FINDINGS

    # The MCP server
    MCP_FORBIDDEN = "mcp.forbidden", "The MCP server answered 403 other than insufficient_scope: it refuses this user or client.", FINDINGS
    MCP_HTTP_ERROR = "mcp.http-error", "The MCP server answered an error status without a Bearer challenge.", FINDINGS
    MCP_JSONRPC_ERROR = "mcp.jsonrpc-error", "The MCP server answered with a JSON-RPC error.", FINDINGS
    MCP_STEP_UP_EXHAUSTED = "mcp.step-up-exhausted", "The server still asks for more scope after every authorization atoms-auth may try.", FINDINGS
    MCP_TOKEN_REJECTED = "mcp.token-rejected", "The MCP server refused a freshly issued access token; the message says why it likely did.", FINDINGS
    MCP_TRANSPORT_FAILED = "mcp.transport-failed", "The MCP request failed in the transport (not a network failure).", PROTOCOL
    MCP_UNKNOWN_TOOL = "mcp.unknown-tool", "The MCP server has no tool of that name.", FINDINGS

    # The network: network.<kind> for each kind of transport failure (network_code()).
    NETWORK_CANCELLED = "network.cancelled", "The request was cancelled (a deadline or an interrupt).", NETWORK
    NETWORK_CONNECT = "network.connect", "The connection could not be made.", NETWORK
    NETWORK_DNS = "network.dns", "The host name does not resolve.", NETWORK
    NETWORK_INSECURE = "network.insecure", "A request over plain http to a non-loopback host was refused (--allow-http allows it).", NETWORK
    NETWORK_PROTOCOL = "network.protocol", "The remote broke the HTTP protocol or closed the connection.", NETWORK
    NETWORK_REDIRECT = "network.redirect", "Too many redirects, or a redirect loop.", NETWORK
    NETWORK_REFUSED = "network.refused", "The connection was refused: nothing listens on that port.", NETWORK
    NETWORK_TIMEOUT = "network.timeout", "No complete answer within --timeout.", NETWORK
    NETWORK_TLS = "network.tls", "The TLS handshake or the certificate check failed.", NETWORK
    NETWORK_PLAIN_HTTP = "network.plain-http", "An https:// URL names a port that speaks plain HTTP (no TLS there).", NETWORK
    NETWORK_TOO_LARGE = "network.too-large", "The response body exceeded its size cap; atoms-auth stopped reading.", NETWORK

    # OAuth messages (RFC 6749, 8628, 8693, 7009, 9207)
    OAUTH_INVALID_DEVICE_RESPONSE = "oauth.invalid-device-response", "The device authorization response lacks a required field (RFC 8628 §3.2).", PROTOCOL
    OAUTH_INVALID_TOKEN_EXCHANGE_RESPONSE = "oauth.invalid-token-exchange-response", "The token exchange response lacks access_token or issued_token_type (RFC 8693 §2.2.1).", PROTOCOL
    OAUTH_INVALID_TOKEN_RESPONSE = "oauth.invalid-token-response", "The token response is not JSON, has no access_token, or the wrong token_type (RFC 6749 §5.1).", PROTOCOL
    OAUTH_ISS_MISMATCH = "oauth.iss-mismatch", "The authorization response's iss names another issuer (RFC 9207 mix-up defence).", PROTOCOL
    OAUTH_ISS_MISSING = "oauth.iss-missing", "The authorization response has no iss although the AS advertises it (RFC 9207 §2.4).", PROTOCOL
    OAUTH_NO_CODE = "oauth.no-code", "The authorization response has neither code nor error (RFC 6749 §4.1.2).", PROTOCOL
    OAUTH_REVOCATION_REFUSED = "oauth.revocation-refused", "The AS refused a revocation request (RFC 7009 §2.2.1).", FINDINGS
    OAUTH_STATE_MISMATCH = "oauth.state-mismatch", "The authorization response's state does not match this login (possible CSRF).", PROTOCOL
    OAUTH_UNEXPECTED_RESPONSE = "oauth.unexpected-response", "An OAuth endpoint failed with an HTTP error and no OAuth error body.", PROTOCOL
    OAUTH_UNEXPECTED_TOKEN_TYPE = "oauth.unexpected-token-type", "The IdP issued another token type than the one asked for (RFC 8693).", PROTOCOL

    # Protected-resource metadata (RFC 9728)
    PRM_NO_AUTHORIZATION_SERVERS = "prm.no-authorization-servers", "The protected-resource metadata names no authorization_servers.", PROTOCOL
    PRM_NOT_FOUND = "prm.not-found", "No protected-resource metadata at any location the client may try.", PROTOCOL
    PRM_RESOURCE_MISMATCH = "prm.resource-mismatch", "The protected-resource metadata's resource is not this server's URL (RFC 9728 §3.3).", PROTOCOL
    PRM_RESOURCE_MISSING = "prm.resource-missing", "The protected-resource metadata has no resource.", PROTOCOL

    STORE_LOCKED = "store.locked", "Another atoms-auth process holds the token store's lock.", USAGE
    STORE_UNWRITABLE = "store.unwritable", "The credential store's directory (ATOMS_AUTH_HOME) cannot be created or written.", USAGE

    # Usage: bad flags, files or configuration
    USAGE_ACTIVE_ONE_SERVER = "usage.active-one-server", "doctor --active checks one server (it logs in and sends extra token requests).", USAGE
    USAGE_AMBIGUOUS_LOGIN = "usage.ambiguous-login", "Several logins are stored: --server must say which.", USAGE
    USAGE_ARGUMENTS = "usage.arguments", "--arguments is not a JSON object.", USAGE
    USAGE_BASELINE_INVALID = "usage.baseline-invalid", "doctor --baseline names a file that is not a doctor --json report.", USAGE
    USAGE_BASELINE_UNREADABLE = "usage.baseline-unreadable", "doctor --baseline names a file that cannot be read.", USAGE
    USAGE_COMPLETION_SHELL = "usage.completion-shell", "The shell to install completion for cannot be told.", USAGE
    USAGE_COMPLETION_UNAVAILABLE = "usage.completion-unavailable", "This typer release lacks what the shipped completion scripts call back into.", USAGE
    USAGE_CONFLICTING_OPTIONS = "usage.conflicting-options", "Options that cannot be combined, or an option without the one it needs.", USAGE
    USAGE_DEMO_GRANT = "usage.demo-grant", "demo --grant names a flow the demo does not show.", USAGE
    USAGE_DEVICE_CODE_UNSUPPORTED = "usage.device-code-unsupported", "The AS does not offer the device authorization grant.", USAGE
    USAGE_DPOP_ALG_UNSUPPORTED = "usage.dpop-alg-unsupported", "The AS accepts no DPoP algorithm atoms-auth signs with (ES256).", USAGE
    USAGE_ENV_VALUE = "usage.env-value", "A value init would write contains '${', which dotenv would expand.", USAGE
    USAGE_FORMAT_CONFLICT = "usage.format-conflict", "--json and --format ask for two formats.", USAGE
    USAGE_HTML_ONE_SERVER = "usage.html-one-server", "doctor --format html takes one server.", USAGE
    USAGE_INVALID_ASSERTION = "usage.invalid-assertion", "An assertion file does not hold exactly one JWT.", USAGE
    USAGE_INVALID_URL = "usage.invalid-url", "A URL option is not a valid origin or URL.", USAGE
    USAGE_LOGIN_NEEDS_SERVER = "usage.login-needs-server", "doctor --login needs the MCP server (--server).", USAGE
    USAGE_LOGIN_ONE_SERVER = "usage.login-one-server", "doctor --login checks one server.", USAGE
    USAGE_MISSING_OPTION = "usage.missing-option", "The grant needs an option that was not given.", USAGE
    USAGE_MISSING_OPTIONS = "usage.missing-options", "Without a terminal to ask on, init needs flags that were not given.", USAGE
    USAGE_NO_TARGET = "usage.no-target", "Neither an MCP server nor an authorization server was given.", USAGE
    USAGE_OUTPUT_NOT_A_FILE = "usage.output-not-a-file", "--output names something other than a regular file.", USAGE
    USAGE_OUTPUT_SYMLINK = "usage.output-symlink", "--output names a symbolic link; atoms-auth does not write through one.", USAGE
    USAGE_OUTPUT_UNWRITABLE = "usage.output-unwritable", "--output cannot be written.", USAGE
    USAGE_PRIVATE_KEY = "usage.private-key", "--private-key is unreadable, encrypted, or a key private_key_jwt cannot sign with.", USAGE
    USAGE_PUBLIC_DEV_AS = "usage.public-dev-as", "serve refuses to expose the development authorization server beyond loopback.", USAGE
    USAGE_REDIRECT_URI = "usage.redirect-uri", "--redirect-uri is not a loopback http URL atoms-auth can listen on.", USAGE
    USAGE_SECRET_MISSING = "usage.secret-missing", "A secret to be read from stdin (-) was empty.", USAGE
    USAGE_SIGNING_ALG = "usage.signing-alg", "--signing-alg does not fit the key.", USAGE
    USAGE_STORE_URL = "usage.store-url", "serve --store is not a usable redis:// or rediss:// URL.", USAGE
    USAGE_UNKNOWN_CHECK = "usage.unknown-check", "doctor --check names a check that does not exist (--list-checks lists them).", USAGE
    USAGE_UNKNOWN_GRANT = "usage.unknown-grant", "--grant names a grant atoms-auth does not know.", USAGE
    USAGE_UNREADABLE_FILE = "usage.unreadable-file", "A file the user named cannot be read.", USAGE
    USAGE_UNSAFE_PATH = "usage.unsafe-path", "atoms-auth refuses to write a file there (a symbolic link, or no free backup name).", USAGE
    USAGE_UNWRITABLE_FILE = "usage.unwritable-file", "A file the user named cannot be written.", USAGE


def network_code(kind: str) -> ErrorCode:
    """``network.<kind>`` for a transport failure's kind (``too_large`` -> ``network.too-large``);
    a kind without its own code is ``network.failed``."""
    value = "network." + kind.replace("_", "-")
    return next((member for member in ErrorCode if member == value), ErrorCode.NETWORK_FAILED)
