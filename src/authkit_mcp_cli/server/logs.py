"""serve's one log format (issue 15 item 4).

uvicorn's error log, our own ``atoms_auth.*`` loggers, the MCP SDK's and
everything else on the root logger go through one stderr handler: one line
per event (newlines in a message are escaped), no source file or line, no
wrapping, terminal or not. ``--log-format json`` writes one JSON object per
line for log shippers: ``time``, ``level``, ``logger``, ``message`` and, on
access lines, ``method``, ``path`` (secret query parameters masked),
``status``, ``duration_ms`` and ``client``.

Access lines come from :class:`AccessLog` (uvicorn's own access log is off:
it has no duration and is written before the response is done); their path
goes through ``redact_url`` as uvicorn's did (codes, tokens and other secret
query parameters masked). The logging
setup is a ``dictConfig`` dict, which uvicorn applies again in each worker
process it spawns.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from authkit_mcp_cli.redact import redact_url

LOG_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG, "trace": 5}
LOG_FORMATS = ("text", "json")
ACCESS_LOGGER = "atoms_auth.access"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")

access_log = logging.getLogger(ACCESS_LOGGER)


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _exception(record: logging.LogRecord) -> str | None:
    """The exception as one phrase; never a traceback."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    exc = record.exc_info[1]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _level_name(record: logging.LogRecord) -> str:
    return "TRACE" if record.levelno == 5 else record.levelname


class TextFormatter(logging.Formatter):
    """``2026-01-02T03:04:05.678Z INFO    uvicorn.error: Application startup complete.``"""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        error = _exception(record)
        if error:
            message = f"{message} ({error})"
        return f"{_timestamp(record)} {_level_name(record):<7} {record.name}: {_one_line(message)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _timestamp(record), "level": _level_name(record), "logger": record.name, "message": record.getMessage()}
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        error = _exception(record)
        if error:
            entry["error"] = error
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for serve (also uvicorn's ``log_config``)."""
    number = LOG_LEVELS[level]
    handler = {"class": "logging.StreamHandler", "formatter": "serve", "stream": "ext://sys.stderr"}
    ours = {"handlers": ["serve"], "level": number, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"serve": {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"}},
        "handlers": {"serve": handler},
        "loggers": {"uvicorn": ours, "uvicorn.error": {"level": number}, "uvicorn.access": {"level": number}, "atoms_auth": ours},
        # the MCP SDK and libraries: same handler, warnings and up unless debugging
        "root": {"handlers": ["serve"], "level": number if number <= logging.DEBUG else max(number, logging.WARNING)},
    }


def configure(level: str, fmt: str) -> dict[str, Any]:
    """Install the handler now (before the MCP SDK's own basicConfig could); return the config."""
    import logging.config

    config = logging_config(level, fmt)
    logging.addLevelName(5, "TRACE")
    logging.config.dictConfig(config)
    return config


class AccessLog:
    """ASGI middleware: one access line per HTTP request, when its response is done."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what uvicorn answers when the app fails before responding

        async def send_and_note(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            path = redact_url(scope.get("path", "") + (f"?{query}" if query else ""))
            client = scope.get("client")
            fields = {
                "method": scope.get("method", ""),
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client": f"{client[0]}:{client[1]}" if client else None,
            }
            access_log.info("%s %s %s %s %.1f ms", fields["client"] or "-", fields["method"], path, status, fields["duration_ms"], extra=fields)
