"""The HTML report's style and script, constant so that the page's
Content-Security-Policy can name them by hash (CSP Level 3 §8.3 hash-source):
nothing else may run or style the page, and nothing may be fetched."""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root { color-scheme: light; --fail: #c62828; --warn: #b26a00; --pass: #2e7d32; --skip: #757575; --ink: #1f2328; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f8fa; }
header { padding: 16px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 6px; font-size: 20px; }
header dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
.root-cause { margin-top: 10px; padding: 8px 12px; border-left: 4px solid var(--fail); background: #fff5f5; }
.root-cause p { margin: 2px 0; }
header dt { font-weight: 600; } header dd { margin: 0; word-break: break-all; }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px 24px; align-items: flex-start; }
#flow { position: sticky; top: 8px; flex: 0 0 auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
#details { flex: 1 1 420px; min-width: 320px; }
svg text { font: 13px system-ui, sans-serif; fill: var(--ink); }
svg .actor rect { fill: #eef2f6; stroke: #8c959f; }
svg .actor text { font-weight: 600; text-anchor: middle; }
svg .lifeline { stroke: #8c959f; stroke-dasharray: 4 4; }
.step { cursor: pointer; outline: none; }
.step .hit { fill: transparent; }
.step:hover .hit, .step:focus .hit { fill: #eaeef2; }
.step.selected .hit { fill: #ddf4ff; }
.step line { stroke-width: 2; }
.step .response { stroke-dasharray: 6 4; }
.step .badge { stroke: none; }
.step .badge-text { fill: #fff; font-weight: 700; text-anchor: middle; }
.step.fail line { stroke: var(--fail); } .step.fail .badge { fill: var(--fail); }
.step.warn line { stroke: var(--warn); } .step.warn .badge { fill: var(--warn); }
.step.pass line { stroke: var(--pass); } .step.pass .badge { fill: var(--pass); }
.step.skip line { stroke: var(--skip); } .step.skip .badge { fill: var(--skip); }
.step.skip text.label { fill: var(--skip); }
#arrow-fail path { fill: var(--fail); } #arrow-warn path { fill: var(--warn); } #arrow-pass path { fill: var(--pass); } #arrow-skip path { fill: var(--skip); }
section.checks { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 12px; }
section.checks h2 { margin: 0 0 8px; font-size: 17px; }
article.check { border-left: 4px solid var(--skip); padding: 4px 10px; margin: 8px 0; }
article.check.fail, article.check.error { border-color: var(--fail); }
article.check.warn { border-color: var(--warn); }
article.check.pass, article.check.info { border-color: var(--pass); }
.status { display: inline-block; min-width: 52px; font-weight: 700; font-size: 12px; }
.check.fail .status, .check.error .status { color: var(--fail); } .check.warn .status { color: var(--warn); } .check.pass .status { color: var(--pass); } .check.skip .status, .check.info .status { color: var(--skip); }
.check code { font-weight: 600; }
.check p { margin: 4px 0; white-space: pre-wrap; word-break: break-word; }
.check .fix { font-weight: 500; }
.check .spec { color: #57606a; font-size: 13px; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 320px; font-size: 12px; }
button#show-all { font: inherit; margin-bottom: 12px; }
footer { padding: 8px 24px 24px; color: #57606a; font-size: 12px; }
"""

SCRIPT = """
(function () {
  var steps = Array.prototype.slice.call(document.querySelectorAll('g.step'));
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.checks'));
  function select(key) {
    sections.forEach(function (s) { s.hidden = key !== '*' && s.getAttribute('data-step') !== key; });
    steps.forEach(function (g) {
      var on = g.getAttribute('data-step') === key;
      g.classList.toggle('selected', on);
      g.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
  }
  steps.forEach(function (g) {
    g.addEventListener('click', function () { select(g.getAttribute('data-step')); });
    g.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(g.getAttribute('data-step')); }
    });
  });
  document.getElementById('show-all').addEventListener('click', function () { select('*'); });
  select(document.body.getAttribute('data-initial'));
})();
"""


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = f"default-src 'none'; style-src {sha256_source(STYLE)}; script-src {sha256_source(SCRIPT)}; img-src 'none'; base-uri 'none'; form-action 'none'"
