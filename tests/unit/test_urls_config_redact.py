"""URL rules, configuration precedence and redaction."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit_mcp_cli.config import load_environment, parse_dotenv, resolve_target
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.redact import decode_jwt_unverified, redact_body, redact_header, redact_url
from authkit_mcp_cli.urls import as_metadata_urls, is_secure_url, prm_urls, resource_matches


def test_prm_urls():
    assert prm_urls("https://h/api/mcp") == ("https://h/.well-known/oauth-protected-resource/api/mcp", "https://h/.well-known/oauth-protected-resource")
    assert prm_urls("https://h") == ("https://h/.well-known/oauth-protected-resource",) * 2
    assert prm_urls("https://h:8443/mcp/?x=1")[0] == "https://h:8443/.well-known/oauth-protected-resource/mcp"


def test_as_metadata_urls_follow_the_spec_order():
    assert as_metadata_urls("https://auth.example.com") == [
        ("oauth", "https://auth.example.com/.well-known/oauth-authorization-server"),
        ("oidc", "https://auth.example.com/.well-known/openid-configuration"),
    ]
    assert [u for _, u in as_metadata_urls("https://auth.example.com/tenant1")] == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]


@pytest.mark.parametrize(
    ("url", "secure"),
    [("https://x", True), ("http://127.0.0.1:3000/cb", True), ("http://127.8.9.1", True), ("http://[::1]:80", True), ("http://localhost", True), ("http://example.com", False), ("ftp://x", False), ("http://10.0.0.1", False)],
)
def test_https_except_loopback(url, secure):
    assert is_secure_url(url) is secure


def test_resource_matching():
    assert resource_matches("https://h/api/mcp", "https://h/api/mcp", allow_prefix=False) == (True, None)
    assert resource_matches("https://h/api/mcp/", "https://h/api/mcp", allow_prefix=False)[1] == "differs only by a trailing slash"
    assert resource_matches("https://H/api/MCP", "https://h/api/mcp", allow_prefix=False)[1] == "differs only in letter case"
    assert resource_matches("https://h", "https://h/api/mcp", allow_prefix=True) == (True, None)
    assert resource_matches("https://h/api", "https://h/api/mcp", allow_prefix=True) == (True, None)
    assert resource_matches("https://h/ap", "https://h/api/mcp", allow_prefix=True)[0] is False
    assert "another origin" in resource_matches("https://other/api/mcp", "https://h/api/mcp", allow_prefix=True)[1]


@given(st.text(max_size=80))
def test_url_helpers_never_raise_on_junk(text):
    is_secure_url(text)
    resource_matches(text, "https://h/api/mcp", allow_prefix=True)


def test_dotenv_parsing():
    env = parse_dotenv(
        """
        # comment
        export A=1
        B = "two words"
        C='single # not a comment'
        D=plain # trailing comment
        not a line
        E=
        """
    )
    assert env == {"A": "1", "B": "two words", "C": "single # not a comment", "D": "plain", "E": ""}


def test_dotenv_reads_what_the_guides_server_reads(tmp_path):
    """Issue #10 §5: a quoted value with a trailing comment (python-dotenv accepts it; our old parser exited 2)."""
    from dotenv import dotenv_values

    text = 'FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN="https://x.authkit.app" # note\n'
    (tmp_path / ".env").write_text(text)
    env = load_environment(tmp_path, environ={})
    assert env["FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"] == "https://x.authkit.app"
    assert env == dict(dotenv_values(tmp_path / ".env"))
    target = resolve_target(None, None, env)
    assert target.authkit_domain == "https://x.authkit.app"


@given(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True), st.text(st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"), max_size=40).filter(lambda v: "${" not in v), max_size=5))
def test_env_write_then_read_round_trips(values):
    """What init writes, python-dotenv (the server's reader) and we read back unchanged."""
    from dotenv import dotenv_values

    from authkit_mcp_cli.envfile import render

    existing = "# kept\nOTHER='x y'\n"
    text = render(existing, values)
    expected = {"OTHER": "x y", **values}
    assert parse_dotenv(text) == expected
    assert dict(dotenv_values(stream=io.StringIO(text))) == expected


def test_env_writer_refuses_values_dotenv_would_expand():
    from authkit_mcp_cli.envfile import render
    from authkit_mcp_cli.errors import UsageError

    with pytest.raises(UsageError, match="expand"):
        render("", {"A": "${HOME}/x"})


def test_flags_beat_environment_beat_dotenv(tmp_path):
    (tmp_path / ".env").write_text(
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://from-file.authkit.app\n"
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL=https://file.example.com/\n"
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES=openid,profile,email\n"
    )
    env = load_environment(tmp_path, {"FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN": "https://from-env.authkit.app"})
    target = resolve_target(None, None, env)
    assert target.authkit_domain == "https://from-env.authkit.app"
    assert target.server_url == "https://file.example.com/api/mcp"
    assert target.required_scopes == ("openid", "profile", "email")
    env["ATOMS_FASTMCP_HTTP_PATH"] = "/mcp"
    assert resolve_target(None, None, env).server_url == "https://file.example.com/mcp"
    target = resolve_target("https://flag.example.com/x", "https://flag.authkit.app", env)
    assert (target.server_url, target.authkit_domain, target.server_source) == ("https://flag.example.com/x", "https://flag.authkit.app", "--server")


@pytest.mark.parametrize("bad", ["not a url", "ftp://x/y", "https://", "https://h/x#frag", "https://h:99999/"])
def test_bad_urls_are_usage_errors(bad):
    with pytest.raises(UsageError) as info:
        resolve_target(bad, None, {})
    assert info.value.exit_code == 2 and "--server" in (info.value.hint or "")


def test_redaction():
    assert redact_header("Authorization", "Bearer abc.def.ghi").startswith("Bearer [redacted len=11 sha256:")
    assert redact_header("Content-Type", "application/json") == "application/json"
    url = redact_url("http://127.0.0.1/cb?code=SECRETCODE&state=xyz")
    assert "SECRETCODE" not in url and "state=xyz" in url
    body = redact_body(b'{"access_token":"AT-SECRET","token_type":"Bearer","nested":{"refresh_token":"RT"}}', "application/json")
    assert "AT-SECRET" not in body and '"RT"' not in body and "Bearer" in body
    form = redact_body(b"grant_type=authorization_code&code=C0DE&code_verifier=V3R&client_id=abc", "application/x-www-form-urlencoded")
    assert "C0DE" not in form and "V3R" not in form and "client_id=abc" in form



def test_every_body_shape_a_trace_records_is_redacted_and_the_rest_kept_exactly():
    from urllib.parse import urlencode

    from authkit_mcp_cli.redact import mask

    form = "grant_type=refresh_token&refresh_token=RT-1&client_id=abc"
    expected_form = urlencode([("grant_type", "refresh_token"), ("refresh_token", mask("RT-1")), ("client_id", "abc")])
    for ctype in ("application/x-www-form-urlencoded; charset=utf-8", "Application/X-WWW-Form-Urlencoded", None):  # parameters, case, no type at all
        assert redact_body(form.encode(), ctype) == expected_form, ctype
    # an empty form-typed body, and text that is neither form nor JSON, come back as they were
    assert redact_body(b"", "application/x-www-form-urlencoded") == ""
    assert redact_body(b"not json at all", "text/plain") == "not json at all"
    assert redact_body(b'{"a": 1}', None) == '{"a": 1}'  # JSON without a type: parsed as JSON, not as a form
    # MCP over SSE: each data line masked, other lines (event names, blank separators) kept
    sse = 'event: message\ndata: {"jsonrpc":"2.0","result":{"access_token":"AT-2","é":"ü"}}\n\ndata: not json\n'.encode()
    shown = redact_body(sse, "text/event-stream")
    lines = shown.split("\n")
    assert lines[0] == "event: message" and lines[2] == "" and lines[3] == "data: not json" and lines[4] == ""
    assert lines[1] == 'data: {"jsonrpc": "2.0", "result": {"access_token": "' + mask("AT-2") + '", "é": "ü"}}'  # non-ASCII kept as is
    assert redact_body('{"code":"C","name":"é"}'.encode(), "application/json") == '{"code": "' + mask("C") + '", "name": "é"}'


def test_decode_jwt_unverified():
    import jwt

    token = jwt.encode({"sub": "u", "aud": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "1"})
    decoded = decode_jwt_unverified(token)
    assert decoded["header"]["kid"] == "1" and decoded["claims"]["sub"] == "u"
    assert decode_jwt_unverified("not.a.jwt") is None
    assert decode_jwt_unverified("garbage") is None


def test_redirect_locations_and_fragments_are_masked():
    """An AS that approves without a page answers the authorization request with the code in Location."""
    from authkit_mcp_cli.redact import redact_headers, redact_url

    code = "SplxlOBeZQQYbYS6WxSbIA"
    headers = redact_headers([("Location", f"http://127.0.0.1:3000/oauth/callback?code={code}&state=xyz"), ("Content-Type", "text/html")])
    assert code not in str(headers) and "state=xyz" in headers[0][1] and headers[1] == ("Content-Type", "text/html")
    implicit = redact_url("https://client.example/cb#access_token=secret-token&token_type=bearer")
    assert "secret-token" not in implicit and "token_type=bearer" in implicit
    assert redact_url("https://h/p#section-2") == "https://h/p#section-2"
