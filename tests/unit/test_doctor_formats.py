"""doctor --format junit|markdown|html and --output: each report is rendered from
the results of a real doctor run against the canned world (respx), parsed as its
readers parse it (xml.etree for JUnit, html.parser for HTML), and checked to carry
every check, its outcome, fix and spec, with remote text escaped for where it lands."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import respx
from typer.testing import CliRunner
from world import SERVER, World

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.model import Check, Level, Result, Status
from authkit_mcp_cli.cli import app
from authkit_mcp_cli.reports import html as html_report
from authkit_mcp_cli.reports import junit, markdown
from authkit_mcp_cli.reports.common import ReportMeta
from authkit_mcp_cli.reports.flow import STEPS, Mark, mark, step_key, walk
from authkit_mcp_cli.reports.html_assets import CSP, SCRIPT, STYLE

runner = CliRunner()
META = ReportMeta(server=SERVER, authorization_server="https://test-env.authkit.app")
HOSTILE = 'bad | cell\n<script>alert(1)</script>; #x "q" `tick` *em* \x1b[2J\x00\ufffe end'


def broken_world_results() -> list[Result]:
    """A real run: no PKCE (as.pkce FAIL), no scopes_supported in the PRM (prm.scopes WARN), the token checks skipped."""
    world = World()
    del world.oauth_metadata["code_challenge_methods_supported"]
    world.oidc_metadata.pop("code_challenge_methods_supported", None)
    del world.prm["scopes_supported"]
    return list(world.run().values())


@pytest.fixture(scope="module")
def results() -> list[Result]:
    return broken_world_results()


def fake(check_id: str, status: Status, message: str = "m", fix: str | None = "do this", evidence: dict | None = None) -> Result:
    check = Check(check_id, f"title of {check_id}", Level.MUST if status is Status.FAIL else Level.SHOULD, "RFC 0000 §1", lambda ev: None)  # type: ignore[arg-type,return-value]
    return Result(check, status, message, fix, evidence or {})


# --- the flow table ---------------------------------------------------------


def test_the_step_table_names_only_catalogue_checks_each_once():
    named = [c for s in STEPS for c in s.checks]
    assert len(named) == len(set(named))
    assert set(named) <= {c.id for c in CATALOGUE}


def test_every_catalogue_check_has_a_step_and_a_new_check_goes_with_its_area():
    keys = {s.key for s in STEPS}
    assert all(step_key(c.id) in keys for c in CATALOGUE)
    assert step_key("as.pkce") == "authorize" and step_key("prm.resource") == "prm" and step_key("token.audience") == "token"
    assert step_key("prm.some-new-check") == "prm" and step_key("challenge.new") == "challenge"


def test_a_steps_mark_is_its_worst_outcome():
    assert mark([fake("a.x", Status.PASS), fake("a.y", Status.ERROR), fake("a.z", Status.WARN)]) is Mark.FAIL
    assert mark([fake("a.x", Status.PASS), fake("a.z", Status.WARN)]) is Mark.WARN
    assert mark([fake("a.x", Status.PASS), fake("a.z", Status.WARN)], strict=True) is Mark.FAIL
    assert mark([fake("a.x", Status.INFO), fake("a.z", Status.SKIP)]) is Mark.PASS
    assert mark([fake("a.z", Status.SKIP)]) is Mark.SKIP and mark([]) is Mark.SKIP


def test_the_broken_world_marks_authorize_failed_and_token_not_checked(results):
    marks = {s.step.key: s.mark for s in walk(results)}
    assert marks["authorize"] is Mark.FAIL  # as.pkce
    assert marks["token"] is Mark.SKIP  # no --login
    assert marks["prm"] is Mark.WARN  # prm.scopes
    assert marks["challenge"] is Mark.PASS


# --- junit ------------------------------------------------------------------


def test_junit_has_one_testcase_per_check_with_consistent_counts(results):
    root = ET.fromstring(junit.render(results, META))
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.check.id for r in results]
    assert all(c.get("classname") == c.get("name", "").split(".")[0] for c in cases)
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    for element in (root, suite):
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(len(failures)) == str(sum(r.status is Status.FAIL for r in results))
        assert element.get("errors") == str(len(errors))
        assert element.get("skipped") == str(len(skipped)) == str(sum(r.status is Status.SKIP for r in results))
    pkce = next(c for c in cases if c.get("name") == "as.pkce").find("failure")
    assert pkce is not None and "code_challenge_methods_supported" in (pkce.get("message") or "")
    assert "fix: Advertise code_challenge_methods_supported" in (pkce.text or "") and "spec: MCP 2026-07-28" in (pkce.text or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["server"] == SERVER


def test_junit_warnings_pass_with_their_fix_and_fail_with_strict(results):
    warned = [r.check.id for r in results if r.status is Status.WARN]
    assert warned
    suite = ET.fromstring(junit.render(results, META)).find("testsuite")
    assert suite is not None
    case = next(c for c in suite.findall("testcase") if c.get("name") == warned[0])
    assert case.find("failure") is None and "fix: " in (case.findtext("system-out") or "")
    strict = ET.fromstring(junit.render(results, ReportMeta(SERVER, None, strict=True)))
    assert strict.get("failures") == str(sum(r.status in (Status.FAIL, Status.WARN) for r in results))


def test_junit_escapes_everything_and_writes_forbidden_characters_as_escapes():
    rs = [fake("as.x", Status.FAIL, HOSTILE, HOSTILE, {"body": HOSTILE}), fake("prm.y", Status.ERROR, HOSTILE), fake("server.z", Status.SKIP, HOSTILE)]
    text = junit.render(rs, ReportMeta(server='https://h/"<&>', authorization_server=None))
    root = ET.fromstring(text)  # parses: no raw control character, every & < " escaped
    assert "\x1b" not in text and "\x00" not in text and "\ufffe" not in text
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "<script>alert(1)</script>" in (failure.text or "") and "\\x1b[2J\\x00\\ufffe end" in (failure.text or "")
    assert root.find("testsuite/testcase/error") is not None and root.find("testsuite/testcase/skipped") is not None
    assert root.get("errors") == "1" and root.get("failures") == "1" and root.get("skipped") == "1"


# --- markdown ---------------------------------------------------------------


def mermaid_block(text: str) -> list[str]:
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_markdown_draws_the_flow_with_each_steps_worst_outcome(results):
    text = markdown.render(results, META)
    lines = mermaid_block(text)
    assert lines[0] == "sequenceDiagram"
    arrows = [line.strip() for line in lines if "->>" in line]
    assert len(arrows) == 2 * len(STEPS)
    symbols = {Mark.FAIL: "❌", Mark.WARN: "⚠️", Mark.PASS: "✅", Mark.SKIP: "⏭"}
    for i, s in enumerate(walk(results)):
        request, response = arrows[2 * i], arrows[2 * i + 1]
        assert request.startswith("C->>") and response.endswith(response.split(": ", 1)[1])
        assert request.split(": ", 1)[1].startswith(symbols[s.mark]) and response.split(": ", 1)[1].startswith(symbols[s.mark])
    assert "Note over C,A: as.pkce" in text
    assert all(";" not in line.split(": ", 1)[-1].replace("#59;", "").replace("#35;", "").replace("#quot;", "") for line in arrows)


def test_markdown_summary_table_has_every_check(results):
    text = markdown.render(results, META)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert [re.search(r"`([^`]+)`", r).group(1) for r in rows] == [r.check.id for s in walk(results) for r in s.results]  # type: ignore[union-attr]
    pkce = next(r for r in rows if "`as.pkce`" in r)
    assert "❌ FAIL" in pkce
    assert "**fix:** Advertise code\\_challenge\\_methods\\_supported" in text


def test_markdown_escapes_remote_text_in_cells_and_mermaid():
    text = markdown.render([fake("prm.x", Status.FAIL, HOSTILE)], ReportMeta(server='https://evil;"x<y>.example/mcp', authorization_server=None))
    row = next(line for line in text.splitlines() if "`prm.x`" in line)
    assert row.count(" | ") == 3  # the | in the message is escaped: the row keeps its four cells
    assert "<script>" not in text and "&lt;script&gt;" in row and "\\*em\\*" in row and "\x1b" not in text
    participant = next(line for line in mermaid_block(text) if "participant S" in line)
    assert "evil#59;#quot;x#lt;y#gt;.example" in participant
    assert markdown.mermaid_text('a;b#c"d<e>\nf') == "a#59;b#35;c#quot;d#lt;e#gt; f"


# --- html -------------------------------------------------------------------


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_html_is_self_contained_with_a_csp_that_names_its_script_and_style_by_hash(results):
    page = Parsed()
    page.feed(html_report.render(results, META))
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp == CSP and "default-src 'none'" in csp and "unsafe" not in csp
    assert page.scripts == [SCRIPT] and page.styles == [STYLE]
    assert sha(SCRIPT) in csp and sha(STYLE) in csp
    for tag, attrs in page.tags:  # nothing to fetch: no src, no link, no href but in-page ones, no inline handlers
        assert "src" not in attrs and tag != "link", (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)


def test_html_has_a_step_per_flow_step_and_every_check(results):
    text = html_report.render(results, META)
    page = Parsed()
    page.feed(text)
    steps = [(a["data-step"], a["class"]) for t, a in page.tags if t == "g" and "data-step" in a]
    assert steps == [(s.step.key, f"step {s.mark.value}") for s in walk(results)]
    articles = [a["data-check"] for t, a in page.tags if t == "article"]
    assert articles == [r.check.id for s in walk(results) for r in s.results]
    body = next(a for t, a in page.tags if t == "body")
    assert body["data-initial"] == "authorize"  # the first failing step opens first


def test_html_escapes_every_remote_string():
    text = html_report.render([fake("prm.x", Status.FAIL, HOSTILE, HOSTILE, {"k": HOSTILE})], ReportMeta(server='https://e/"><script>x()</script>', authorization_server=None))
    assert text.count("<script>") == 1  # ours only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "\x1b" not in text and "\\x1b[2J" in text
    assert '"><script>x()' not in text


# --- the command ------------------------------------------------------------


def doctor(world: World, *args: str):
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=world.handle)
        return runner.invoke(app, ["doctor", "--server", SERVER, *args], env={"NO_COLOR": "1"})


@pytest.fixture
def broken_world(tmp_path, monkeypatch) -> World:
    monkeypatch.chdir(tmp_path)  # no .env of this checkout
    world = World()
    del world.oauth_metadata["code_challenge_methods_supported"]
    return world


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown", "html"])
def test_the_exit_code_does_not_depend_on_the_format(broken_world, fmt):
    result = doctor(broken_world, "--format", fmt)
    assert result.exit_code == 1, result.output
    assert "as.pkce" in result.stdout


def test_json_is_format_json_and_stays_schema_1(broken_world):
    a, b = doctor(broken_world, "--json"), doctor(broken_world, "--format", "json")
    docs = [json.loads(r.stdout) for r in (a, b)]
    assert [[(r["id"], r["status"]) for r in d["results"]] for d in docs][0] == [(r["id"], r["status"]) for r in docs[1]["results"]]  # timings in messages differ
    assert docs[0].keys() == docs[1].keys() and docs[0]["schema"] == 1 and docs[0]["summary"] == docs[1]["summary"]


def test_json_with_another_format_is_a_usage_error(broken_world):
    result = doctor(broken_world, "--json", "--format", "html")
    assert result.exit_code == 2 and "two formats" in result.output and broken_world.requests == []  # --json: the error is JSON too


def test_output_writes_the_report_0644_and_the_text_report_to_stdout(broken_world, tmp_path):
    out = tmp_path / "doctor.xml"
    out.write_text("old content that is longer than nothing" * 1000)
    os.chmod(out, 0o600)  # an existing file keeps its mode; a new one is 0644
    result = doctor(broken_world, "--format", "junit", "-o", str(out))
    assert result.exit_code == 1
    assert ET.fromstring(out.read_text()).get("tests") == str(len(CATALOGUE))
    assert "FAIL" in result.stdout and "as.pkce" in result.stdout and "<testsuite" not in result.stdout
    fresh = tmp_path / "new.md"
    os.umask(old := os.umask(0o022))
    result = doctor(broken_world, "--format", "markdown", "--output", str(fresh))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644 & ~old and fresh.read_text().startswith("## atoms-auth doctor")


def test_output_never_follows_a_symlink(broken_world, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    result = doctor(broken_world, "--format", "html", "-o", str(link))
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep"


def test_output_refuses_what_is_not_a_regular_file(broken_world, tmp_path):
    result = doctor(broken_world, "--format", "html", "-o", str(tmp_path))
    assert result.exit_code == 2 and "error: " in result.stderr and "Traceback" not in result.output


def test_help_lists_the_formats():
    result = runner.invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"})
    assert all(f in result.output for f in ("text", "json", "junit", "markdown", "html", "sarif")) and "--output" in result.output


# --- root cause first ---------------------------------------------------------


@pytest.fixture
def closed_port_server(tmp_path, monkeypatch) -> str:
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"  # nothing listens: connection refused


def test_an_unreachable_server_leads_every_report_and_its_consequences_are_not_failures(closed_port_server):
    codes, texts = set(), {}
    for fmt in ("junit", "markdown", "html"):
        result = runner.invoke(app, ["doctor", "--server", closed_port_server, "--format", fmt, "--timeout", "2"], env={"NO_COLOR": "1"})
        codes.add(result.exit_code)
        texts[fmt] = result.stdout
    assert codes == {3}  # the network-failure code, whatever the format
    root = ET.fromstring(texts["junit"])
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["server.reachable"] and root.get("failures") == "1"
    skipped = [c.find("skipped") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert any((s.get("message") or "").startswith("because server.reachable failed") for s in skipped)
    md = texts["markdown"]
    assert "> ❌ **Root cause** (`server.reachable`)" in md and md.index("Root cause") < md.index("```mermaid")
    arrows = [line.strip() for line in mermaid_block(md) if "->>" in line]
    assert arrows[0].split(": ", 1)[1].startswith("❌") and all(a.split(": ", 1)[1].startswith("⏭") for a in arrows[2:])
    assert '<div class="root-cause" data-check="server.reachable">' in texts["html"]


def test_the_command_offers_exactly_the_report_formats():
    from typing import get_args

    from authkit_mcp_cli.commands.doctor import ReportFormat
    from authkit_mcp_cli.reports.formats import FORMATS

    assert get_args(ReportFormat) == FORMATS


def test_one_render_entry_point_serves_one_server_and_several(results):
    """reports.formats.render(format, reports): one server's report is the format's own document;
    several are one document holding one report each, in order; html draws one server only."""
    from authkit_mcp_cli.reports import formats
    from authkit_mcp_cli.reports.common import ServerReport

    one = ServerReport(results, SERVER, "https://test-env.authkit.app", {"requests": 7})
    other = ServerReport(results, SERVER + "2", None, {"requests": 3})
    doc = json.loads(formats.render("json", [one], strict=False))
    assert doc["schema"] == 1 and doc["target"]["server"] == SERVER and doc["requests"] == 7 and "reports" not in doc
    many = json.loads(formats.render("json", [one, other], strict=False))
    assert [r["target"]["server"] for r in many["reports"]] == [SERVER, SERVER + "2"] and [r["requests"] for r in many["reports"]] == [7, 3]
    assert formats.render("junit", [one], strict=True) == junit.render(results, ReportMeta(SERVER, "https://test-env.authkit.app", strict=True))
    assert formats.render("markdown", [one], strict=False) == markdown.render(results, META)
    assert formats.render("html", [one], strict=False) == html_report.render(results, META)
    assert ET.fromstring(formats.render("junit", [one, other], strict=False)).findall("testsuite")[1].get("name", "").endswith(SERVER + "2")
    text = formats.render("text", [one, other], strict=False)
    assert text.startswith(f"Server 1 of 2: {SERVER}\n") and "\x1b[" not in text and f"Server 2 of 2: {SERVER}2" in text
    with pytest.raises(ValueError, match="one server"):
        formats.render("html", [one, other], strict=False)
    assert formats.exit_code([one, other], strict=False) == max(formats.exit_code([one], strict=False), formats.exit_code([other], strict=False))
