"""doctor --bundle FILE.zip: everything a vendor needs in one attachment.

- ``report.json`` and ``report.md``: the report as doctor --json and --format markdown print it;
- ``trace.jsonl``: every HTTP exchange, secrets masked (trace.py), and ``trace.har``: the same as
  HAR 1.2, so it opens in a browser's network panel (headers and bodies as masked in the trace);
- ``metadata/NN-<host>-<path>.json``: each metadata document (a GET of a ``/.well-known/`` URL that
  answered 200) exactly as fetched; with ``--login`` the documents come from the masked trace
  (``metadata/index.json`` says which);
- ``versions.json``: atoms-auth, Python, the platform and the HTTP and MCP libraries;
- ``command.txt``: the command line, the value of every secret-bearing option and any secret in a
  URL replaced by ``[redacted]``;
- ``README.txt``: what to look at first.

No token, authorization code, PKCE verifier or client secret goes in: the trace is masked before
it is written, the documents are public metadata, and the command line is redacted.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import shlex
import sys
import zipfile
from importlib import metadata as importlib_metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.redact import redact_url

if TYPE_CHECKING:
    from authkit_mcp_cli.reports.common import ServerReport
    from authkit_mcp_cli.trace import FetchedDocument

REDACTED = "[redacted]"
# An option whose value is a credential: its value never reaches command.txt (--client-secret, --token, --assertion...).
_SECRET_OPTION = re.compile(r"^--?[a-z0-9-]*(secret|token|password|assertion|verifier|code|key|credential)[a-z0-9-]*$", re.IGNORECASE)
_NOT_SECRET = frozenset({"--fail-on", "--client-metadata-url"})


def command_line(argv: list[str]) -> str:
    """``argv`` with secrets removed: every secret option's value, and credentials or secret query parameters in URLs."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        name, eq, value = arg.partition("=")
        if name.startswith("-") and _SECRET_OPTION.match(name) and name not in _NOT_SECRET:
            if eq:
                out.append(f"{name}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(_url_redacted(arg))
    return " ".join(shlex.quote(a) for a in out)


def _url_redacted(arg: str) -> str:
    name, eq, value = arg.partition("=")
    target = value if eq and name.startswith("-") else arg
    if "://" not in target:
        return arg
    parts = urlsplit(target)
    clean = redact_url(target)
    if parts.username or parts.password:
        clean = clean.replace(parts.netloc, parts.netloc.rsplit("@", 1)[1], 1)
    return f"{name}={clean}" if target is value else clean


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {"atoms-auth": __version__, "python": sys.version.split()[0], "implementation": platform.python_implementation(), "platform": platform.platform()}
    for package in ("httpx", "mcp", "typer", "pyjwt"):
        try:
            found[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            found[package] = None
    return found


def trace_entries(trace_text: str) -> list[dict[str, Any]]:
    entries = []
    for line in trace_text.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def _pairs(headers: list[list[str]] | list[tuple[str, str]] | None) -> list[dict[str, str]]:
    return [{"name": str(k), "value": str(v)} for k, v in headers or []]


def _header(headers: list[Any] | None, name: str) -> str:
    return next((str(v) for k, v in headers or [] if str(k).lower() == name), "")


def har(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The masked trace as HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): one entry per exchange;
    an exchange that got no answer has status 0 and its error in ``_error`` (HAR's custom-field prefix)."""
    out = []
    for e in entries:
        request, response = e.get("request") or {}, e.get("response") or {}
        url = str(e.get("url", ""))
        body = request.get("body")
        har_request: dict[str, Any] = {
            "method": e.get("method", "GET"),
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(request.get("headers")),
            "queryString": [{"name": k, "value": v} for k, v in _query(url)],
            "headersSize": -1,
            "bodySize": len(body.encode()) if body else 0,
        }
        if body:
            har_request["postData"] = {"mimeType": _header(request.get("headers"), "content-type"), "text": body}
        text = response.get("body") or ""
        elapsed = float(e.get("elapsed_ms") or 0)
        entry: dict[str, Any] = {
            "startedDateTime": e.get("started") or e.get("time"),
            "time": elapsed,
            "request": har_request,
            "response": {
                "status": int(response.get("status") or 0),
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": _pairs(response.get("headers")),
                "content": {"size": len(text.encode()), "mimeType": _header(response.get("headers"), "content-type") or "x-unknown", "text": text},
                "redirectURL": _header(response.get("headers"), "location"),
                "headersSize": -1,
                "bodySize": len(text.encode()) if response else -1,
            },
            "cache": {},
            "timings": {"send": 0, "wait": elapsed, "receive": 0},
        }
        if e.get("error"):
            entry["_error"] = e["error"]
        out.append(entry)
    return {"log": {"version": "1.2", "creator": {"name": "atoms-auth", "version": __version__}, "entries": out}}


def _query(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _document_name(index: int, url: str) -> str:
    parts = urlsplit(url)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.hostname or 'host'}{'-' + str(parts.port) if parts.port else ''}{parts.path}").strip("-")
    return f"metadata/{index:02d}-{slug[:120]}.json"


def documents_from_trace(entries: list[dict[str, Any]]) -> list[tuple[str, str | None, bytes]]:
    """Metadata documents as the (masked) trace recorded them: for runs whose client kept no raw copy (--login)."""
    found = []
    for e in entries:
        response = e.get("response") or {}
        if e.get("method") == "GET" and response.get("status") == 200 and "/.well-known/" in str(e.get("url", "")).split("?", 1)[0] and response.get("body"):
            found.append((str(e["url"]), _header(response.get("headers"), "content-type") or None, str(response["body"]).encode()))
    return found


README = """atoms-auth doctor evidence bundle
=================================

{servers}
Exit code: {code}. Summary: {summary}

Look first at:
1. report.md - the report: each finding with its fix and the spec section it comes from.
   The first failing check is usually the root cause; the checks after it often only follow from it.
2. metadata/ - each metadata document (protected-resource and authorization-server metadata)
   {documents}.
3. trace.har - every HTTP exchange doctor made; open it in a browser's developer tools
   (Network panel, "Import HAR"). trace.jsonl holds the same, one JSON object per line.

report.json is the same report for programs (doctor --json, schema 1); versions.json and
command.txt say what ran. Secrets (tokens, authorization codes, PKCE verifiers, client
secrets, Authorization and Cookie headers) are masked in the trace and removed from the
command line; no secret is in this file.
"""


def build(reports: list[ServerReport], *, report_json: str, report_markdown: str, trace_text: str, documents: list[FetchedDocument] | None, argv: list[str], exit_code: int, summary: str) -> bytes:
    """The zip's bytes, README.txt first."""
    entries = trace_entries(trace_text)
    raw = [(d.url, d.content_type, d.body) for d in documents] if documents else []
    kept = list({url: (url, ctype, body) for url, ctype, body in reversed(raw or documents_from_trace(entries))}.values())[::-1]  # each URL once, the first answer
    servers = "".join(f"Server: {r.server or r.authorization_server}\n" for r in reports)
    how = "exactly as fetched" if raw else "as recorded in the masked trace (--login: the client kept no raw copy)"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", README.format(servers=servers, code=exit_code, summary=summary, documents=how if kept else "(none was fetched)"))
        z.writestr("report.json", report_json)
        z.writestr("report.md", report_markdown)
        z.writestr("trace.jsonl", trace_text)
        z.writestr("trace.har", json.dumps(har(entries), indent=1, ensure_ascii=False))
        index = []
        for i, (url, ctype, body) in enumerate(kept, 1):
            name = _document_name(i, url)
            z.writestr(name, body)
            index.append({"file": name, "url": url, "content_type": ctype, "as_fetched": bool(raw)})
        z.writestr("metadata/index.json", json.dumps(index, indent=1))
        z.writestr("versions.json", json.dumps(versions(), indent=1))
        z.writestr("command.txt", command_line(argv) + "\n")
    return buffer.getvalue()


def write(path: str, data: bytes) -> None:
    """The bundle to ``path``: created 0600, never through a symlink (private_file)."""
    from authkit_mcp_cli.private_file import open_private

    fd = open_private(path, what="the bundle")  # created or emptied
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
