"""doctor with several servers (``--server A --server B``): one report per server, in
the order given, in one document.

- json: ``{"schema": 1, "reports": [...]}``, each item exactly the schema-1 report
  doctor prints for that server alone (one server prints that report itself);
- text: each report under a ``Server N of M: URL`` heading, then one line per server;
- junit: one ``<testsuite>`` per server in one ``<testsuites>``;
- markdown: one ``## atoms-auth doctor: URL`` section per server.

html draws one server's flow as one interactive page (element ids, its script and
the page's Content-Security-Policy hashes assume one flow), so several servers are
refused there (``commands.doctor``): run doctor once per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from authkit_mcp_cli import report
from authkit_mcp_cli.checks.model import Result
from authkit_mcp_cli.reports.common import ReportMeta, summary_line


@dataclass
class ServerReport:
    """One server's results and what its report names."""

    results: list[Result]
    server: str | None
    authorization_server: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # json only: requests, typed_server

    def meta(self, strict: bool) -> ReportMeta:
        return ReportMeta(server=self.server, authorization_server=self.authorization_server, strict=strict)


def exit_code(reports: list[ServerReport], *, strict: bool) -> int:
    """The worst (highest) of the servers' exit codes: 3 unreachable > 1 findings > 0."""
    return max((report.exit_code(r.results, strict=strict) for r in reports), default=0)


def to_json(reports: list[ServerReport]) -> str:
    return report.dumps({"schema": 1, "reports": [report.to_doc(r.results, server=r.server, authorization_server=r.authorization_server, extra=r.extra or None) for r in reports]})


def heading(n: int, total: int, r: ServerReport) -> str:
    return f"Server {n} of {total}: {r.server or r.authorization_server or '(none)'}"


def render_text(console: Console, reports: list[ServerReport], *, strict: bool, verbose: bool = False) -> None:
    for n, r in enumerate(reports, start=1):
        if n > 1:
            console.print()
        console.print(Text(heading(n, len(reports), r), style="bold underline"), soft_wrap=True)
        report.render(console, r.results, server=r.server, authorization_server=r.authorization_server, verbose=verbose)
    console.print()
    console.print(Text(f"{len(reports)} servers", style="bold"), soft_wrap=True)
    for r in reports:
        code = report.exit_code(r.results, strict=strict)
        console.print(Text(f"exit {code}  {r.server or r.authorization_server}: {summary_line(r.results)}"), soft_wrap=True)


def junit(reports: list[ServerReport], *, strict: bool) -> str:
    from authkit_mcp_cli.reports.junit import render_many

    return render_many([(r.results, r.meta(strict)) for r in reports])


def markdown(reports: list[ServerReport], *, strict: bool) -> str:
    from authkit_mcp_cli.reports.markdown import code, render

    head = ["# atoms-auth doctor", "", f"{len(reports)} servers, each in its own section below:", ""]
    head += [f"- {code(r.server or r.authorization_server)}: {summary_line(r.results)}" for r in reports]
    sections = [render(r.results, r.meta(strict), title=f"atoms-auth doctor: {code(r.server or r.authorization_server)}") for r in reports]
    return "\n".join(head) + "\n\n" + "\n".join(sections)
