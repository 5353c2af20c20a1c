"""doctor's report as text for people: root cause first, then a rich table per
area on a terminal; aligned lines, never wrapped nor padded, into a pipe or a
file. Several servers: each report under a ``Server N of M: URL`` heading, then
one line per server. Also the check catalogue as a table (--list-checks on a terminal)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from authkit_mcp_cli.checks.model import Check, Result, Status
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.root_cause import root_causes
from authkit_mcp_cli.reports.common import ServerReport, exit_code, summary, summary_line

AREAS = {"as": "Authorization server", "server": "MCP server", "challenge": "MCP server", "prm": "MCP server", "token": "With a real token", "authkit": "AuthKit", "profile": "Client profiles (--profile)"}
AREA_NOUNS = {"as": "authorization server", "authkit": "AuthKit", "server": "MCP server", "challenge": "MCP server", "prm": "MCP server", "token": "token", "profile": "client profile"}
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


def render(console: Console, results: list[Result], *, server: str | None, authorization_server: str | None, verbose: bool = False) -> None:
    """Root cause first, then a table per area on a terminal; aligned lines, never wrapped nor padded, into a pipe or a file.

    Consequences of a root cause fold into one line per area, and so do three or more
    skips that give the same reason; ``-v`` lists their ids and shows each result's
    evidence as indented JSON."""
    if server:
        console.print(f"[bold]MCP server[/]           {escape(server)}", highlight=False, soft_wrap=True)
    if authorization_server:
        console.print(f"[bold]Authorization server[/] {escape(authorization_server)}", highlight=False, soft_wrap=True)
    _render_root_causes(console, results)
    rows_by_area = {area: _rows([r for r in results if _group(r) == area], authorization_server, verbose=verbose) for area in dict.fromkeys(AREAS.values())}
    id_width = max((len(row[1]) for rows in rows_by_area.values() for row in rows), default=0)
    for area, rows in rows_by_area.items():
        if not rows:
            continue
        console.print()
        if not console.is_terminal or verbose:  # -v: evidence goes under each result, so lines rather than a table
            _render_lines(console, area, rows, id_width)
            continue
        table = Table(title=area, title_justify="left", title_style="bold", show_header=False, box=None, pad_edge=False, expand=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True, style="bold")
        table.add_column("finding", overflow="fold")
        for status, label, finding, _evidence in rows:
            text, style = STYLES[status]
            table.add_row(Text(text, style=style), label, finding)
        console.print(table)
    counts = summary(results)
    from authkit_mcp_cli.words import plural

    line = ", ".join(plural(n, name) for name, n in (("passed", counts["pass"]), ("warning", counts["warn"]), ("failed", counts["fail"]), ("error", counts["error"]), ("skipped", counts["skip"]), ("info", counts["info"])) if n)
    folded = sum(1 for r in results if r.consequence)
    if folded:
        line += f" (and {folded} that only follow from the root cause, not counted)"
    console.print()
    console.print(f"[bold]Summary:[/] {line or 'no checks ran'}", highlight=False, soft_wrap=True)


Row = tuple[Status, str, Text, str | None]  # status, check id (or "N checks"), finding, evidence JSON (-v)


def _render_root_causes(console: Console, results: list[Result]) -> None:
    for root in root_causes(results):
        assert root.cause is not None
        n = sum(1 for r in results if r.caused_by == root.check.id)
        console.print()
        console.print(Text.assemble(("Root cause", "bold red"), " (", (root.check.id, "bold"), "): ", root.cause.message), soft_wrap=True)
        if root.cause.fix:
            console.print(Text.assemble(("fix: ", "bold"), root.cause.fix), soft_wrap=True)
        if n:
            console.print(Text(f"{n} other check{'s' if n != 1 else ''} only follow from it: folded below and not counted in the summary.", style="dim"), soft_wrap=True)


def _rows(results: list[Result], authorization_server: str | None, *, verbose: bool) -> list[Row]:
    """One row per result, except consequences (one row per cause) and repeated skip reasons (one row per reason)."""
    rows: list[Row] = []
    folds: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.caused_by is not None:
            folds.setdefault(("cause", r.caused_by), []).append(r)
        elif r.status is Status.SKIP:
            folds.setdefault(("reason", r.message), []).append(r)
    done: set[tuple[str, str]] = set()
    for r in results:
        key = ("cause", r.caused_by) if r.caused_by is not None else ("reason", r.message) if r.status is Status.SKIP else None
        if key is None or (key[0] == "reason" and len(folds[key]) < 3):
            rows.append((r.status, r.check.id, _finding(r), _evidence(r) if verbose else None))
            continue
        if key in done:
            continue
        done.add(key)
        group = folds[key]
        ids = ", ".join(g.check.id for g in group)
        if key[0] == "cause":
            finding = Text(_fold_message(group, key[1], authorization_server))
        else:
            finding = Text(key[1])
        if verbose:
            finding.append("\n" + ids, style="dim")
        noun = AREA_NOUNS.get(group[0].check.area, "other") if key[0] == "cause" else ""
        rows.append((Status.SKIP, f"{len(group)} {noun} check{'s' if len(group) != 1 else ''}".replace("  ", " "), finding, _group_evidence(group) if verbose else None))
    return rows


def _fold_message(group: list[Result], cause: str, authorization_server: str | None) -> str:
    area = group[0].check.area
    failed = sum(1 for g in group if g.status is not Status.SKIP)
    if area in ("as", "authkit") and authorization_server is None:
        return f"skipped: no AS known (because {cause} failed)."
    return f"{'skipped' if not failed else 'skipped or failed'} only because {cause} failed."


def _finding(r: Result) -> Text:
    finding = Text(r.message)
    if r.fix and r.status in (Status.WARN, Status.FAIL, Status.ERROR):
        finding.append("\nfix: ", style="bold")
        finding.append(r.fix)
    return finding


def _evidence(r: Result) -> str | None:
    return json.dumps(r.evidence, indent=2, ensure_ascii=False) if r.evidence else None


def _group_evidence(group: list[Result]) -> str | None:
    data = {g.check.id: g.evidence for g in group if g.evidence}
    return json.dumps(data, indent=2, ensure_ascii=False) if data else None


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _render_lines(console: Console, area: str, rows: list[Row], id_width: int) -> None:
    """The table's content for a pipe or a file (and for -v): one line per row, continuation lines and
    evidence indented, no padding at the end; a terminal wraps long lines itself."""
    console.print(Text(area, style="bold"), soft_wrap=True)
    indent = " " * (len("ERROR") + 2 + id_width + 2)
    for status, label, finding, evidence in rows:
        text, style = STYLES[status]
        lines = finding.split("\n")
        first = Text.assemble((f"{text:<5}", style), "  ", (f"{label:<{id_width}}", "bold"), "  ", lines[0] if lines else "")
        first.rstrip()
        console.print(first, soft_wrap=True)
        for more in lines[1:]:
            console.print(Text(indent) + more, soft_wrap=True)
        if evidence:  # -v: indented JSON under the result
            console.print(Text(_indent(evidence, " " * (len("ERROR") + 2)), style="dim"), soft_wrap=True)


def render_catalogue(console: Console, checks: list[Check]) -> None:
    """The catalogue as a table, on a terminal (elsewhere check_listing.as_lines prints one line per check)."""
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("id", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("checks")
    table.add_column("spec", style="dim")
    for c in checks:
        table.add_row(c.id, c.level.value, c.title, c.spec)
    console.print(table)


def heading(n: int, total: int, r: ServerReport) -> str:
    return f"Server {n} of {total}: {r.server or r.authorization_server or '(none)'}"


def render_many(console: Console, reports: list[ServerReport], *, strict: bool, verbose: bool = False) -> None:
    for n, r in enumerate(reports, start=1):
        if n > 1:
            console.print()
        console.print(Text(heading(n, len(reports), r), style="bold underline"), soft_wrap=True)
        render(console, r.results, server=r.server, authorization_server=r.authorization_server, verbose=verbose)
    console.print()
    console.print(Text(f"{len(reports)} servers", style="bold"), soft_wrap=True)
    for r in reports:
        code = exit_code(r.results, strict=strict)
        console.print(Text(f"exit {code}  {r.server or r.authorization_server}: {summary_line(r.results)}"), soft_wrap=True)
