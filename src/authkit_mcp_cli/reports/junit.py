"""doctor as JUnit XML, the test report CI systems read (GitHub, GitLab, Jenkins):
one <testcase> per check, classname = its area (as, prm, server...), name = its id;
one <testsuite> per server when doctor checks several.

FAIL is a <failure>, ERROR (a check or probe that crashed) an <error>, SKIP a
<skipped>, and so is a result that only follows from another (``caused_by``,
e.g. everything after an unreachable server: "because server.reachable
failed"), as doctor's summary does not count it; WARN passes with its finding and fix in <system-out> (a failure with
--strict, as in the exit code); INFO and PASS pass, their message in <system-out>.
Every string is XML-escaped, and the characters XML 1.0 forbids (most C0
controls, U+FFFE/U+FFFF; XML 1.0 §2.2 Char) are written as \\xNN escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from authkit_mcp_cli.checks.model import Result, Status
from authkit_mcp_cli.reports.common import ReportMeta, caused_by, evidence_json, shows_fix

SUITE = "atoms-auth doctor"
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None) -> str:
    """``text`` with every character XML 1.0 cannot carry written as an escape (ElementTree escapes the rest)."""
    return _NOT_XML_CHAR.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else f"\\u{ord(m.group(0)):04x}", text or "")


def _details(r: Result) -> str:
    lines = [r.message]
    if cause := caused_by(r):
        lines.append(f"because {cause} failed")
    if shows_fix(r):
        lines.append(f"fix: {r.fix}")
    lines.append(f"spec: {r.check.spec}")
    lines.append(f"level: {r.check.level.value}")
    if r.evidence:
        lines.append("evidence: " + evidence_json(r.evidence))
    return xml_text("\n".join(lines))


def _kind(r: Result, strict: bool) -> str | None:
    if r.caused_by is not None:
        return "skipped"
    if r.status is Status.FAIL or (strict and r.status is Status.WARN):
        return "failure"
    if r.status is Status.ERROR:
        return "error"
    if r.status is Status.SKIP:
        return "skipped"
    return None


def _counts(results: list[Result], kinds: list[str | None]) -> dict[str, str]:
    return {"tests": str(len(results)), "failures": str(kinds.count("failure")), "errors": str(kinds.count("error")), "skipped": str(kinds.count("skipped")), "time": "0"}


def _suite(root: ET.Element, results: list[Result], meta: ReportMeta) -> list[str | None]:
    """One <testsuite> for one server's results under ``root``; returns each result's kind."""
    kinds = [_kind(r, meta.strict) for r in results]
    suite = ET.SubElement(root, "testsuite", {"name": xml_text(f"{SUITE} {meta.server or meta.authorization_server or ''}".strip()), **_counts(results, kinds)})
    props = ET.SubElement(suite, "properties")
    for name, value in (("server", meta.server), ("authorization_server", meta.authorization_server), ("atoms-auth.version", meta.version), ("strict", str(meta.strict).lower())):
        if value:
            ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
    for r, kind in zip(results, kinds, strict=True):
        case = ET.SubElement(suite, "testcase", {"classname": r.check.area, "name": r.check.id, "time": "0"})
        title = xml_text(f"{r.status.value.upper()}: {r.message}")
        if kind == "skipped":
            cause = f"because {r.caused_by} failed: " if r.caused_by else ""
            ET.SubElement(case, "skipped", {"message": xml_text(cause + r.message)})
        elif kind is not None:
            element = ET.SubElement(case, kind, {"message": title, "type": r.status.value if kind == "error" else r.check.level.value})
            element.text = _details(r)
        else:
            ET.SubElement(case, "system-out").text = _details(r) if r.status in (Status.WARN, Status.INFO) else xml_text(r.message)
    return kinds


def render(results: list[Result], meta: ReportMeta) -> str:
    return render_many([(results, meta)])


def render_many(reports: list[tuple[list[Result], ReportMeta]]) -> str:
    """One <testsuites>, one <testsuite> per server (doctor --server A --server B), in order."""
    root = ET.Element("testsuites", {"name": SUITE})
    every: list[Result] = []
    kinds: list[str | None] = []
    for results, meta in reports:
        kinds += _suite(root, results, meta)
        every += results
    root.attrib.update(_counts(every, kinds))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
