"""What the grants without a browser share: the confidential client from the
options (a secret sent as the AS advertises, RFC 6749 §2.3.1 / RFC 8414 §2,
or ``private_key_jwt``, RFC 7523 §2.2), JWTs read from a file or stdin, and
the checks of required options, made before any network."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.registration import SECRET_METHODS, advertised_auth_methods, secret_method
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.oauth.assertion import load_private_key, signing_alg_for
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.option_rules import mutually_exclusive, needs


def require(grant_flag: str, **given: object) -> None:
    """Every option in ``given`` (its name in Python spelling -> its value) is set, else ``usage.missing-option`` naming them all."""
    missing = ["--" + n.replace("_", "-") for n, value in given.items() if not value]
    if missing:
        raise UsageError(f"--grant {grant_flag} needs {' and '.join(missing)}.", code=ErrorCode.USAGE_MISSING_OPTION, hint=f"Run atoms-auth login --help; e.g. {EXAMPLES[grant_flag]}")


EXAMPLES = {
    "client-credentials": "atoms-auth login --server URL --grant client-credentials --client-id ID --client-secret SECRET (or --private-key key.pem)",
    "jwt-bearer": "atoms-auth login --server URL --grant jwt-bearer --assertion token.jwt",
    "enterprise": "atoms-auth login --server URL --grant enterprise --client-id ID --client-secret SECRET --idp-issuer URL --idp-client-id ID --id-token id_token.jwt",
}


def check_client_options(opts: LoginOptions, grant_flag: str) -> None:
    """The client's authentication options fit together, and a key file is usable (read now, before any network)."""
    key = opts.private_key_jwt
    mutually_exclusive({"--client-secret": opts.client_secret, "--private-key": key.private_key}, "they are two ways to authenticate the client")
    if (opts.client_secret or key.private_key) and not opts.client_id:
        raise UsageError(f"--grant {grant_flag}: {'--private-key' if key.private_key else '--client-secret'} needs --client-id.", code=ErrorCode.USAGE_MISSING_OPTION)
    needs("--signing-alg" if key.signing_alg else "--key-id", key.signing_alg or key.key_id, "--private-key", key.private_key, "they describe its assertions")
    if key.private_key:
        signing_alg_for(load_private_key(key.private_key), key.signing_alg)
    mutually_exclusive({"--new-client": opts.new_client, f"--grant {grant_flag}": True}, f"--new-client registers a client dynamically for the browser login; --grant {grant_flag} uses the client you name")


def confidential_client(ctx: Context, metadata: dict[str, Any], issuer: str, opts: LoginOptions, *, at: str = "") -> ClientRegistration:
    """The named client with its authentication at the token endpoint: ``private_key_jwt`` with
    --private-key; with --client-secret, client_secret_basic unless the AS lists only
    client_secret_post (RFC 8414 §2: basic is the default); ``none`` without either."""
    listed = advertised_auth_methods(metadata)
    client_id = opts.client_id or ""
    at = f" {at}" if at else ""
    key_options = opts.private_key_jwt
    if key_options.private_key:
        key = load_private_key(key_options.private_key)
        alg = signing_alg_for(key, key_options.signing_alg)
        algs = metadata.get("token_endpoint_auth_signing_alg_values_supported")
        if listed is not None and "private_key_jwt" not in listed:
            ctx.report("warning", f"the AS lists token_endpoint_auth_methods_supported {listed} without private_key_jwt; trying it anyway")
        if isinstance(algs, list) and alg not in algs:
            ctx.report("warning", f"the AS lists token_endpoint_auth_signing_alg_values_supported {algs} without {alg}")
        reg = ClientRegistration(client_id, None, "private_key_jwt", (), "pre-registered", private_key=str(Path(key_options.private_key).expanduser().resolve()), signing_alg=alg, key_id=key_options.key_id, assertion_audience=issuer)
        ctx.report("register", f"pre-registered client {client_id}{at} (private_key_jwt: {alg}{', kid ' + key_options.key_id if key_options.key_id else ''}; a fresh assertion per request, iss = sub = {client_id}, aud {issuer}, exp 60 s)")
        return reg
    if opts.client_secret:
        method = secret_method(opts, listed)
        why = "--auth-method" if opts.auth_method in SECRET_METHODS else f"the AS lists {listed}" if listed else "the AS lists no methods: RFC 8414's default"
        ctx.report("register", f"pre-registered client {client_id}{at} ({method}; {why})")
        return ClientRegistration(client_id, opts.client_secret, method, (), "pre-registered")
    if client_id:
        ctx.report("register", f"client {client_id}{at} (none: it authenticates with nothing but the grant)")
    else:
        ctx.report("register", "no client identity: the assertion alone is the grant (RFC 7523 §3.1)")
    return ClientRegistration(client_id, None, "none", (), "pre-registered" if client_id else "none")


@cache
def _stdin_text() -> str:
    return sys.stdin.read()


def read_jwt(value: str, flag: str) -> str:
    """The JWT in file ``value``, or on stdin for ``-`` (read once per run: a second login reuses it)."""
    if value == "-":
        text = _stdin_text()
        where = "stdin"
    else:
        try:
            text = Path(value).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{flag} {value}: {getattr(exc, 'strerror', None) or exc}.", code=ErrorCode.USAGE_UNREADABLE_FILE, hint=f"{flag} takes a file holding the JWT, or - to read it from stdin.") from None
        where = value
    token = text.strip()
    if not token or any(c.isspace() for c in token):
        raise UsageError(f"{flag}: {where} does not hold one JWT ({'empty' if not token else 'more than one word'}).", code=ErrorCode.USAGE_INVALID_ASSERTION, hint=f"{flag} takes a file holding only the JWT, or - for stdin.")
    return token
