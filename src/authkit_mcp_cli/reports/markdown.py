"""doctor as Markdown for pull-request comments and CI job summaries: the flow as a
Mermaid sequenceDiagram with each arrow marked by its checks' worst outcome, a
summary table (check, status, summary), and what to fix.

Remote text is escaped for where it lands: table cells (``|``, newlines, HTML,
Markdown emphasis and links) and Mermaid labels (``;`` ends a statement, ``#``
starts an entity code, quotes and angle brackets: written as Mermaid entity
codes such as ``#59;``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from authkit_mcp_cli.checks.model import Result, Status
from authkit_mcp_cli.checks.root_cause import root_causes
from authkit_mcp_cli.reports.common import STATUS_LABELS, ReportMeta, ServerReport, caused_by, clean, shows_fix, summary_line
from authkit_mcp_cli.reports.flow import CLIENT, PARTICIPANTS, SYMBOLS, WORDS, Mark, walk

_STATUS_SYMBOLS = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.ERROR: "❌", Status.SKIP: "⏭", Status.INFO: "ℹ️"}
_IDS = {CLIENT: "C", "server": "S", "as": "A"}
_MERMAID = {"#": "#35;", ";": "#59;", '"': "#quot;", "'": "#39;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", "%": "#37;", "{": "#123;", "}": "#125;", "|": "#124;"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def mermaid_text(text: str) -> str:
    """A label Mermaid shows as written: one line, and no character that means something in its syntax."""
    one_line = " ".join(clean(text).split())
    return "".join(_MERMAID.get(ch, ch) for ch in one_line)


def cell(text: str | None) -> str:
    """Text for a Markdown table cell: HTML escaped, Markdown specials backslashed, one line (<br> between lines)."""
    lines = (clean(text)).splitlines() or [""]
    return "<br>".join(_MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(line, quote=False)) for line in lines)


def code(text: str | None) -> str:
    """Inline code that no backtick or newline in ``text`` can break out of."""
    value = " ".join(clean(text).split()).replace("`", "'")
    return f"`{value}`" if value else "—"


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def diagram(results: list[Result], meta: ReportMeta) -> list[str]:
    hosts = {"server": _host(meta.server), "as": _host(meta.authorization_server)}
    lines = ["```mermaid", "sequenceDiagram", "    autonumber"]
    for key, name in PARTICIPANTS.items():
        host = hosts.get(key)
        label = name + (f"<br/>{mermaid_text(host)}" if host else "")
        lines.append(f"    participant {_IDS[key]} as {label}")
    for s in walk(results, strict=meta.strict):
        symbol = SYMBOLS[s.mark]
        peer = _IDS[s.step.peer]
        lines.append(f"    C->>{peer}: {symbol} {mermaid_text(s.step.request)}")
        lines.append(f"    {peer}-->>C: {symbol} {mermaid_text(s.step.response)}")
        if s.mark in (Mark.FAIL, Mark.WARN):
            ids = [r.check.id for r in s.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN) and not r.caused_by]
            lines.append(f"    Note over C,{peer}: {mermaid_text(', '.join(ids))}")
    lines.append("```")
    return lines


def render(results: list[Result], meta: ReportMeta, *, title: str = "atoms-auth doctor") -> str:
    steps = walk(results, strict=meta.strict)
    worst = max((s.mark for s in steps), key=[Mark.SKIP, Mark.PASS, Mark.WARN, Mark.FAIL].index, default=Mark.SKIP)
    out = [f"## {title}", ""]
    if meta.server:
        out.append(f"- **MCP server:** {code(meta.server)}")
    if meta.authorization_server:
        out.append(f"- **Authorization server:** {code(meta.authorization_server)}")
    out.append(f"- **Result:** {SYMBOLS[worst]} {summary_line(results)}" + (" (--strict: warnings count as failures)" if meta.strict else ""))
    for root in root_causes(results):  # root cause first (checks.root_cause)
        assert root.cause is not None
        out += ["", f"> ❌ **Root cause** (`{root.check.id}`): {cell(root.cause.message)}"]
        if root.cause.fix:
            out.append(f"> **fix:** {cell(root.cause.fix)}")
    out += ["", "### The flow", ""]
    out += diagram(results, meta)
    legend = ", ".join(f"{SYMBOLS[m]} {WORDS[m]}" for m in Mark)
    out += ["", f"Each step is marked by its checks' worst outcome: {legend}. The token steps are checked with `atoms-auth doctor --login`.", ""]
    out += ["### Checks", "", "| Step | Check | Status | Summary |", "| --- | --- | --- | --- |"]
    for s in steps:
        for r in s.results:
            summary = cell(r.message)
            if cause := caused_by(r):
                summary += f" (because `{cause}` failed)"
            out.append(f"| {cell(s.step.title)} | `{r.check.id}` | {_STATUS_SYMBOLS[r.status]} {STATUS_LABELS[r.status]} | {summary} |")
    fixes = [r for s in steps for r in s.results if shows_fix(r) and not r.caused_by]
    if fixes:
        out += ["", "### What to fix", ""]
        for r in fixes:
            out.append(f"- {_STATUS_SYMBOLS[r.status]} **`{r.check.id}`** ({r.check.level.value}): {cell(r.message)}")
            out.append(f"  - **fix:** {cell(r.fix)}")
            out.append(f"  - **spec:** {cell(r.check.spec)}")
    out += ["", f"<sub>atoms-auth {html.escape(meta.version)}</sub>", ""]
    return "\n".join(out)


def render_many(reports: list[ServerReport], *, strict: bool) -> str:
    """Several servers: one line per server, then one ``## atoms-auth doctor: URL`` section each."""
    head = ["# atoms-auth doctor", "", f"{len(reports)} servers, each in its own section below:", ""]
    head += [f"- {code(r.server or r.authorization_server)}: {summary_line(r.results)}" for r in reports]
    sections = [render(r.results, r.meta(strict), title=f"atoms-auth doctor: {code(r.server or r.authorization_server)}") for r in reports]
    return "\n".join(head) + "\n\n" + "\n".join(sections)
