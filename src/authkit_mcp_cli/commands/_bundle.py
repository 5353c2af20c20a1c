"""doctor --bundle's inputs, gathered while doctor runs: the trace (the user's --trace, else a
temporary file removed at exit) and the metadata documents as fetched; ``write`` builds the zip
(reports/bundle.py) once the reports and the exit code are known, and says where it went."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authkit_mcp_cli.reports.common import ServerReport


class BundleEvidence:
    """--bundle's inputs: the trace (the user's --trace, else a temporary file) and the metadata documents as fetched."""

    def __init__(self, bundle: str | None, trace: str | None) -> None:
        from authkit_mcp_cli.trace import FetchedDocument

        self.bundle = bundle
        self.documents: list[FetchedDocument] | None = [] if bundle else None
        self.temporary: str | None = None
        if bundle and not trace:
            import tempfile

            self.temporary = tempfile.mkdtemp(prefix="atoms-auth-bundle-")
            import atexit
            import shutil

            atexit.register(shutil.rmtree, self.temporary, True)  # also when the run ends in an error before write()
            trace = f"{self.temporary}/trace.jsonl"
        self.trace_path = trace

    def write(self, reports: list[ServerReport], *, strict: bool, code: int) -> None:
        import shutil
        import sys
        from pathlib import Path

        from authkit_mcp_cli.console import stderr_console
        from authkit_mcp_cli.reports import bundle, common, formats

        assert self.bundle and self.trace_path
        try:
            trace_text = Path(self.trace_path).read_text(encoding="utf-8")
        finally:
            if self.temporary:
                shutil.rmtree(self.temporary, ignore_errors=True)
        summary = "; ".join(f"{r.server or r.authorization_server}: {common.summary_line(r.results)}" for r in reports)
        data = bundle.build(
            reports,
            report_json=formats.render("json", reports, strict=strict),
            report_markdown=formats.render("markdown", reports, strict=strict),
            trace_text=trace_text,
            documents=self.documents,
            argv=["atoms-auth", *sys.argv[1:]],
            exit_code=code,
            summary=summary,
        )
        bundle.write(self.bundle, data)
        stderr_console().print(f"Wrote the evidence bundle to {self.bundle}", highlight=False, soft_wrap=True, markup=False)
