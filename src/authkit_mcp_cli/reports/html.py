"""doctor as one self-contained HTML page: the guide's flow drawn as inline SVG,
each step marked by its checks' worst outcome and clickable to its checks, their
findings, fixes, spec references and evidence.

Nothing is fetched: no external script, font or image, and a
Content-Security-Policy (html_assets.CSP) that allows only this page's own
style and script by hash. Every string is HTML-escaped (remote text also has
its control characters written as escapes); the script only shows and hides
elements, it never builds HTML from data.
"""

from __future__ import annotations

from html import escape

from authkit_mcp_cli.checks.model import Result
from authkit_mcp_cli.checks.root_cause import root_causes
from authkit_mcp_cli.reports.common import STATUS_LABELS, ReportMeta, caused_by, clean, evidence_json, shows_fix, summary_line
from authkit_mcp_cli.reports.flow import CLIENT, PARTICIPANTS, WORDS, Mark, StepResult, first_to_look_at, walk
from authkit_mcp_cli.reports.html_assets import CSP, SCRIPT, STYLE

WIDTH, TOP, ROW = 640, 64, 60
X = {CLIENT: 90, "server": 320, "as": 550}
GLYPHS = {Mark.FAIL: "✕", Mark.WARN: "!", Mark.PASS: "✓", Mark.SKIP: "–"}


def e(text: str | None) -> str:
    return escape(clean(text), quote=True)


def _svg(steps: list[StepResult]) -> str:
    height = TOP + ROW * len(steps) + 16
    out = [
        f'<svg id="flow-svg" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="flow-title">',
        '<title id="flow-title">The MCP authorization flow, each step marked by its checks</title>',
        "<defs>",
    ]
    for m in Mark:
        out.append(f'<marker id="arrow-{m.value}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>')
    out.append("</defs>")
    for key, name in PARTICIPANTS.items():
        x = X[key]
        out.append(f'<line class="lifeline" x1="{x}" y1="46" x2="{x}" y2="{height - 8}"/>')
        out.append(f'<g class="actor" id="actor-{key}"><rect x="{x - 80}" y="8" width="160" height="36" rx="6"/><text x="{x}" y="31">{e(name)}</text></g>')
    for n, s in enumerate(steps, start=1):
        top = TOP + (n - 1) * ROW
        left, right = X[CLIENT], X[s.step.peer]
        middle = (left + right) // 2
        mark = s.mark.value
        label = f"Step {n}: {s.step.title}: {WORDS[s.mark]} ({len(s.results)} checks)"
        out += [
            f'<g class="step {mark}" id="step-{s.step.key}" data-step="{s.step.key}" data-mark="{mark}" tabindex="0" role="button" aria-pressed="false" aria-controls="checks-{s.step.key}">',
            f"<title>{e(label)}</title>",
            f'<rect class="hit" x="4" y="{top + 2}" width="{WIDTH - 8}" height="{ROW - 4}" rx="6"/>',
            f'<circle class="badge" cx="24" cy="{top + ROW // 2}" r="12"/>',
            f'<text class="badge-text" x="24" y="{top + ROW // 2 + 5}">{GLYPHS[s.mark]}</text>',
            f'<text class="label" x="{middle}" y="{top + 17}" text-anchor="middle">{n}. {e(s.step.request)}</text>',
            f'<line class="request" x1="{left}" y1="{top + 23}" x2="{right - 2}" y2="{top + 23}" marker-end="url(#arrow-{mark})"/>',
            f'<text class="label" x="{middle}" y="{top + 43}" text-anchor="middle">{e(s.step.response)}</text>',
            f'<line class="response" x1="{right}" y1="{top + 50}" x2="{left + 2}" y2="{top + 50}" marker-end="url(#arrow-{mark})"/>',
            "</g>",
        ]
    out.append("</svg>")
    return "\n".join(out)


def _check(r: Result) -> str:
    status = r.status.value
    parts = [
        f'<article class="check {status}" id="check-{e(r.check.id)}" data-check="{e(r.check.id)}" data-status="{status}">',
        f'<div><span class="status">{STATUS_LABELS[r.status]}</span> <code>{e(r.check.id)}</code> <span class="level">{e(r.check.level.value)}</span> — {e(r.check.title)}</div>',
        f'<p class="message">{e(r.message)}</p>',
    ]
    if cause := caused_by(r):
        parts.append(f'<p class="cause">because <code>{e(cause)}</code> failed</p>')
    if shows_fix(r):
        parts.append(f'<p class="fix"><strong>fix:</strong> {e(r.fix)}</p>')
    parts.append(f'<p class="spec">spec: {e(r.check.spec)}</p>')
    if r.evidence:
        parts.append(f'<details class="evidence"><summary>evidence</summary><pre>{escape(evidence_json(r.evidence), quote=True)}</pre></details>')
    parts.append("</article>")
    return "\n".join(parts)


def _section(n: int, s: StepResult) -> str:
    head = f'<section class="checks {s.mark.value}" id="checks-{s.step.key}" data-step="{s.step.key}">'
    title = f"<h2>{n}. {e(s.step.title)} — {WORDS[s.mark]}</h2>"
    body = [_check(r) for r in s.results] or ["<p>No check of this step ran.</p>"]
    return "\n".join([head, title, *body, "</section>"])


def _root_causes(results: list[Result]) -> str:
    """Root cause first: what made the other findings follow (checks.root_cause)."""
    out = []
    for r in root_causes(results):
        assert r.cause is not None
        fix = f'<p class="fix"><strong>fix:</strong> {e(r.cause.fix)}</p>' if r.cause.fix else ""
        out.append(f'<div class="root-cause" data-check="{e(r.check.id)}"><p><strong>Root cause</strong> (<code>{e(r.check.id)}</code>): {e(r.cause.message)}</p>{fix}</div>')
    return "\n".join(out)


def render(results: list[Result], meta: ReportMeta) -> str:
    steps = walk(results, strict=meta.strict)
    target = [("MCP server", meta.server), ("Authorization server", meta.authorization_server), ("Checks", summary_line(results))]
    if meta.strict:
        target.append(("Mode", "--strict: warnings count as failures"))
    dl = "\n".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in target if v)
    sections = "\n".join(_section(n, s) for n, s in enumerate(steps, start=1))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atoms-auth doctor: {e(meta.server or meta.authorization_server or "report")}</title>
<style>{STYLE}</style>
</head>
<body data-initial="{first_to_look_at(steps)}">
<header>
<h1>atoms-auth doctor</h1>
<dl>
{dl}
</dl>
{_root_causes(results)}
</header>
<main>
<div id="flow">
{_svg(steps)}
</div>
<div id="details">
<button id="show-all" type="button">Show every step's checks</button>
{sections}
</div>
</main>
<footer>Generated by atoms-auth {e(meta.version)}. Click a step to see its checks; the token steps are checked with <code>atoms-auth doctor --login</code>.</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""
