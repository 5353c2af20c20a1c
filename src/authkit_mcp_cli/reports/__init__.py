"""doctor's reports for CI and for people, each rendered from the same results
(checks.model): JUnit XML (junit), Markdown with a Mermaid diagram (markdown),
one self-contained HTML file (html); ``flow`` maps the guide's steps to checks
once for the two drawings, ``output`` writes a report file safely. The text
table and JSON (schema 1) stay in ``report``."""

FORMATS = ("text", "json", "junit", "markdown", "html")
