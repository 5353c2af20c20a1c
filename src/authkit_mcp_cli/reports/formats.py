"""doctor's reports, one entry point: ``render(format, reports)`` is the report
document in any format, for one server or several (one section, suite or
item per server, in the order given); ``show`` prints the text report on a
console (a table per area on a terminal). The command only chooses where the
result goes: stdout or a file (``reports.output``).

html draws one server's flow as one interactive page (element ids, its script
and the page's Content-Security-Policy hashes assume one flow), so several
servers are refused there (``commands.doctor``): run doctor once per page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authkit_mcp_cli.reports import common

if TYPE_CHECKING:
    from rich.console import Console

    from authkit_mcp_cli.reports.common import ServerReport

FORMATS = ("text", "json", "junit", "markdown", "html", "sarif")


def render(fmt: str, reports: list[ServerReport], *, strict: bool, verbose: bool = False) -> str:
    """The report as one string (text without colour, as in a file)."""
    one = reports[0] if len(reports) == 1 else None
    if fmt == "text":
        import io

        from authkit_mcp_cli.console import SafeConsole  # a remote's control characters escaped, as on screen

        buffer = io.StringIO()
        show(SafeConsole(file=buffer, force_terminal=False, no_color=True, width=10_000), reports, strict=strict, verbose=verbose)
        return buffer.getvalue()
    if fmt == "json":
        from authkit_mcp_cli.reports import json

        return json.render(one) if one else json.render_many(reports)
    if fmt == "junit":
        from authkit_mcp_cli.reports import junit

        return junit.render_many([(r.results, r.meta(strict)) for r in reports])
    if fmt == "markdown":
        from authkit_mcp_cli.reports import baseline, markdown

        text = markdown.render(one.results, one.meta(strict)) if one else markdown.render_many(reports, strict=strict)
        since = baseline.markdown(reports)
        return text + ("\n" + since if since else "")
    if fmt == "sarif":
        from authkit_mcp_cli.reports import sarif

        return sarif.render(reports, verbose=verbose)
    if fmt == "html":
        from authkit_mcp_cli.reports import html

        if one is None:
            raise ValueError("the html report draws one server")
        return html.render(one.results, one.meta(strict))
    raise ValueError(f"unknown report format {fmt!r}")


def show(console: Console, reports: list[ServerReport], *, strict: bool, verbose: bool = False) -> None:
    """The text report on ``console``: one server's, or each server's under a heading and one line per server."""
    from authkit_mcp_cli.reports import text

    if len(reports) == 1:
        r = reports[0]
        text.render(console, r.results, server=r.server, authorization_server=r.authorization_server, verbose=verbose)
    else:
        text.render_many(console, reports, strict=strict, verbose=verbose)
    if any(r.baseline is not None for r in reports):
        from authkit_mcp_cli.reports import baseline

        for r in reports:
            if r.baseline is not None:
                console.print()
                for line in baseline.lines(r, r.baseline):
                    console.print(line, highlight=False, markup=False, soft_wrap=True)


def exit_code(reports: list[ServerReport], *, strict: bool, fail_on: str | None = None) -> int:
    """The worst (highest) of the servers' exit codes: 3 unreachable > 1 findings > 0; independent of the format.
    With a baseline (``ServerReport.baseline``) only what is new since it counts (reports.baseline)."""
    mode = fail_on or ("warn" if strict else "fail")
    if any(r.baseline is not None for r in reports):
        from authkit_mcp_cli.reports import baseline

        return max((baseline.exit_code(r, r.baseline, mode) if r.baseline is not None else common.exit_code(r.results, strict=strict, fail_on=mode) for r in reports), default=0)
    return max((common.exit_code(r.results, strict=strict, fail_on=mode) for r in reports), default=0)
