"""Render doctor's results: one model, a rich table for people and one JSON
document (schema 1, design.md) for programs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from authkit_mcp_cli import __version__
from authkit_mcp_cli.checks.model import Check, Result, Status
from authkit_mcp_cli.checks.probes import Probe

AREAS = {"as": "Authorization server", "server": "MCP server", "challenge": "MCP server", "prm": "MCP server", "token": "With a real token", "authkit": "AuthKit"}
STYLES = {
    Status.PASS: ("PASS", "green"),
    Status.WARN: ("WARN", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.ERROR: ("ERROR", "bold magenta"),
    Status.SKIP: ("SKIP", "dim"),
    Status.INFO: ("INFO", "cyan"),
}


def _group(result: Result) -> str | None:
    """The table a result goes in: the server's checks with a real token go with the token's."""
    if result.check.area == "server" and Probe.TOKEN in result.check.probes:
        return AREAS["token"]
    return AREAS.get(result.check.area)


def summary(results: list[Result]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {s.value: counts.get(s, 0) for s in (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR, Status.SKIP, Status.INFO)}


def exit_code(results: list[Result], *, strict: bool) -> int:
    bad = {Status.FAIL, Status.ERROR} | ({Status.WARN} if strict else set())
    return 1 if any(r.status in bad for r in results) else 0


def to_json(results: list[Result], *, server: str | None, authorization_server: str | None, extra: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {
        "schema": 1,
        "version": __version__,
        "target": {"server": server, "authorization_server": authorization_server},
        "summary": summary(results),
        "results": [r.to_json() for r in results],
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render(console: Console, results: list[Result], *, server: str | None, authorization_server: str | None, verbose: bool = False) -> None:
    """A table per area on a terminal; aligned lines, never wrapped nor padded, into a pipe or a file."""
    if server:
        console.print(f"[bold]MCP server[/]           {server}", highlight=False, soft_wrap=True)
    if authorization_server:
        console.print(f"[bold]Authorization server[/] {authorization_server}", highlight=False, soft_wrap=True)
    id_width = max((len(r.check.id) for r in results), default=0)
    for area in dict.fromkeys(AREAS.values()):
        rows = [r for r in results if _group(r) == area]
        if not rows:
            continue
        console.print()
        if not console.is_terminal:
            _render_lines(console, area, rows, id_width, verbose=verbose)
            continue
        table = Table(title=area, title_justify="left", title_style="bold", show_header=False, box=None, pad_edge=False, expand=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True, style="bold")
        table.add_column("finding", overflow="fold")
        for r in rows:
            label, style = STYLES[r.status]
            table.add_row(Text(label, style=style), r.check.id, _finding(r, verbose=verbose))
        console.print(table)
    counts = summary(results)
    line = ", ".join(f"{n} {name}" for name, n in (("passed", counts["pass"]), ("warnings", counts["warn"]), ("failed", counts["fail"]), ("errors", counts["error"]), ("skipped", counts["skip"]), ("info", counts["info"])) if n)
    console.print()
    console.print(f"[bold]Summary:[/] {line or 'no checks ran'}", highlight=False, soft_wrap=True)


def _finding(r: Result, *, verbose: bool) -> Text:
    finding = Text(r.message)
    if r.fix and r.status in (Status.WARN, Status.FAIL, Status.ERROR):
        finding.append("\nfix: ", style="bold")
        finding.append(r.fix)
    if verbose and r.evidence:
        finding.append("\n" + json.dumps(r.evidence, ensure_ascii=False), style="dim")
    return finding


def _render_lines(console: Console, area: str, rows: list[Result], id_width: int, *, verbose: bool) -> None:
    """The table's content for a pipe or a file: one line per check, continuation lines indented, no padding at the end."""
    console.print(Text(area, style="bold"), soft_wrap=True)
    indent = " " * (len("ERROR") + 2 + id_width + 2)
    for r in rows:
        label, style = STYLES[r.status]
        lines = _finding(r, verbose=verbose).split("\n")
        first = Text.assemble((f"{label:<5}", style), "  ", (f"{r.check.id:<{id_width}}", "bold"), "  ", lines[0] if lines else "")
        console.print(first, soft_wrap=True)
        for more in lines[1:]:
            console.print(Text(indent) + more, soft_wrap=True)


def render_catalogue(console: Console, checks: list[Check]) -> None:
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("id", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("checks")
    table.add_column("spec", style="dim")
    for c in checks:
        table.add_row(c.id, c.level.value, c.title, c.spec)
    console.print(table)


def catalogue_json(checks: list[Check]) -> str:
    return json.dumps({"schema": 1, "checks": [{"id": c.id, "title": c.title, "level": c.level.value, "spec": c.spec} for c in checks]}, indent=2)
