"""serve's log formatters and access middleware, and what counts as loopback
for the development AS's exposure check."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest

from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.server.config import public_dev_as_exposure, resolve_serve_config
from authkit_mcp_cli.server.logs import AccessLog, JsonFormatter, TextFormatter, logging_config
from authkit_mcp_cli.urls import is_loopback_host


def record(message: str, *, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            exc_info = sys.exc_info()
    rec = logging.LogRecord("uvicorn.error", logging.ERROR, "/somewhere/file.py", 42, message, (), exc_info)
    rec.__dict__.update(extra)
    return rec


def test_text_lines_are_one_line_without_source_or_traceback():
    line = TextFormatter().format(record("Exception in ASGI application\nsecond line", exc=ValueError("bad\nthing")))
    assert "\n" not in line and "file.py" not in line and ":42" not in line and "Traceback" not in line
    assert line.endswith("uvicorn.error: Exception in ASGI application\\nsecond line (ValueError: bad\\nthing)")


def test_json_lines_carry_the_access_fields():
    line = JsonFormatter().format(record("GET /x 200", method="GET", path="/x", status=200, duration_ms=1.5, client="127.0.0.1:1"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "ERROR" and entry["logger"] == "uvicorn.error" and entry["time"].endswith("Z")
    assert (entry["method"], entry["path"], entry["status"], entry["duration_ms"]) == ("GET", "/x", 200, 1.5)


def test_the_access_middleware_logs_a_failed_app_as_500_with_the_query_masked(caplog):
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    scope = {"type": "http", "method": "GET", "path": "/oauth2/token", "query_string": b"code=topsecretvalue&x=1", "client": ("127.0.0.1", 5)}

    async def go() -> None:
        with pytest.raises(RuntimeError):
            await AccessLog(broken)(scope, None, None)

    with caplog.at_level(logging.INFO, logger="atoms_auth.access"):
        asyncio.run(go())
    (entry,) = caplog.records
    assert entry.status == 500 and entry.method == "GET" and "topsecretvalue" not in entry.path and "x=1" in entry.path


def test_the_logging_config_sends_everything_through_one_handler():
    config = logging_config("info", "json")
    assert config["root"]["handlers"] == ["serve"] and config["loggers"]["uvicorn"]["handlers"] == ["serve"]
    assert config["formatters"]["serve"]["()"].endswith("JsonFormatter")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_names(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "foo.localhost", "127.0.0.1.nip.io", "localhost.example.com", "", None])
def test_not_loopback(host):
    assert not is_loopback_host(host)


def test_exposure_names_the_host_or_the_base_url():
    assert public_dev_as_exposure("127.0.0.1", None) is None
    assert public_dev_as_exposure("127.0.0.1", "http://localhost:8000") is None
    assert "--host 0.0.0.0" in (public_dev_as_exposure("0.0.0.0", None) or "")
    assert "--base-url https://x.trycloudflare.com" in (public_dev_as_exposure("127.0.0.1", "https://x.trycloudflare.com") or "")


def options(**overrides):
    base = dict(host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=None, required_scopes=None, auto_approve=False, allowed_hosts=[], stateless=False, workers=1)
    base.update(overrides)
    return base


def test_public_dev_as_is_refused_unless_allowed_and_authkit_mode_is_free():
    with pytest.raises(UsageError) as info:
        resolve_serve_config({}, **options(host="0.0.0.0"))
    assert info.value.code == "usage.public-dev-as"
    assert resolve_serve_config({}, **options(host="0.0.0.0"), allow_public_dev_as=True).allow_public_dev_as
    assert not resolve_serve_config({}, **options(host="127.0.0.1"), allow_public_dev_as=True).allow_public_dev_as  # nothing exposed: no banner
    assert resolve_serve_config({}, **options(host="0.0.0.0", authkit_domain="https://x.authkit.app")).authkit_domain
