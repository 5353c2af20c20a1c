"""Issue #24 (everyday use, round 2) as a user at a terminal meets it: the CLI run as a subprocess
against serve's development AS on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local():
    with serve_app() as (info, _app):
        yield info


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=timeout, env=full, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# --- item 1: a store that cannot be written is a configuration error, found before the AS is asked ---


@pytest.mark.parametrize("command", ["register", "login"])
def test_a_home_that_is_a_file_is_a_config_error_before_any_request(local, tmp_path, command):
    home = tmp_path / "not-a-dir"
    home.write_text("")
    trace = tmp_path / "trace.jsonl"
    args = [command, "--server", local.mcp_url, "--trace", str(trace)]
    proc = run_cli(*args, env={"ATOMS_AUTH_HOME": str(home)})
    assert proc.returncode == 2, proc.stderr
    assert f"The credential store {home} cannot be written" in proc.stderr
    assert "ATOMS_AUTH_HOME" in proc.stderr and "code: store.unwritable" in proc.stderr
    assert "bug" not in proc.stderr
    # nothing was sent: no discovery, and above all no registration left orphaned at the AS
    assert not trace.exists() or trace.read_text().strip() == ""


def test_register_with_no_save_needs_no_store(local, tmp_path):
    home = tmp_path / "not-a-dir"
    home.write_text("")
    proc = run_cli("register", "--server", local.mcp_url, "--no-save", "--json", env={"ATOMS_AUTH_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["client_id"]


def test_install_completion_into_an_unwritable_home_is_a_usage_error(tmp_path):
    home = tmp_path / "home-file"
    home.write_text("")
    proc = run_cli("--install-completion", "bash", env={"HOME": str(home)})
    assert proc.returncode == 2, proc.stderr
    assert str(home) in proc.stderr and "code: usage.unwritable-file" in proc.stderr
    assert "bug" not in proc.stderr


# --- item 7: a reader that goes away (| head) is a quiet 141 for every command ---


def run_into_closed_pipe(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command with its stdout's reader gone before the first byte (what ``| head -0`` does)."""
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), err


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("doctor", "--help"),
        ("doctor", "--list-checks"),
        ("doctor", "--server", "{mcp}"),
        ("doctor", "--server", "{mcp}", "--json"),
        ("register", "--server", "{mcp}"),
        ("register", "--server", "{mcp}", "--json"),
        ("login", "--server", "{mcp}", "--no-verify"),
        ("demo",),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_is_a_quiet_141(local, tmp_path, args):
    code, err = run_into_closed_pipe(*(a.format(mcp=local.mcp_url) for a in args), env={"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(Path(__file__).resolve().parents[1] / "conformance" / "browser")})
    assert code == 141, err
    assert "Traceback" not in err and "error:" not in err and "Exception" not in err, err


# --- items 3 and 5: a paste on a terminal, answered at once when wrong ---


class Terminal:
    """The CLI on a pseudo-terminal that a test can read from and type into."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", *args], stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "TERM": "xterm-256color", **env}, close_fds=True)
        os.close(follower)
        self.out = ""

    def read_until(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        import select
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.out)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen in:\n{self.out}")
            ready, _, _ = select.select([self.leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self.leader, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"{pattern!r} not seen before the end:\n{self.out}")
                self.out += ANSI.sub("", data.decode("utf-8", "replace")).replace("\r", "")

    def type(self, line: str) -> None:
        os.write(self.leader, line.encode() + b"\n")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=60)
        finally:
            os.close(self.leader)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def redirect_after_sign_in(authorize_url: str) -> str:
    """What the browser's address bar shows once serve's auto-approving AS has answered."""
    answer = httpx.get(authorize_url, follow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


@pytest.mark.parametrize("no_browser", [False, True], ids=["browser-fails-to-open", "--no-browser"])
def test_on_a_terminal_a_paste_finishes_the_login_and_a_wrong_one_is_answered_at_once(local, tmp_path, no_browser):
    args = ["login", "--server", local.mcp_url, "--wait", "60", "--no-verify", *(["--no-browser"] if no_browser else [])]
    term = Terminal(args, {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "false", "NO_COLOR": "1"})
    try:
        url = term.read_until(r"(http://127\.0\.0\.1:\d+/\S*authorize\?\S+)").group(1)
        if no_browser:
            term.read_until(r"paste the final redirect URL from the browser's address bar here")
        else:  # item 5: the hint says what happened (no browser opened) and that a paste still works here
            term.read_until(r"no browser could be opened: open the URL above in a browser \(any machine\), sign in, then paste")
        assert "no browser here" not in term.out and "Ctrl-C and run again" not in term.out
        redirect = redirect_after_sign_in(url)
        term.type("https://example.com/some/other/page?x=1")
        term.read_until(r"That is not the redirect to http://127\.0\.0\.1:\d+/oauth/callback")
        term.type(redirect.split("&state=")[0])  # cut short: state lost
        term.read_until(r"no state parameter: it looks cut short")
        callback = redirect.split("?")[0]
        term.type(f"{callback}?error=access_denied&state=from-another-login")
        term.read_until(r"carries error=access_denied, but not this login's state")
        term.type(redirect)
        term.read_until(r"access token received")
        assert term.close() == 0, term.out
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


# --- item 4: https:// to a port that speaks plain HTTP ---


def test_https_to_a_plain_http_port_says_use_http_once(local, tmp_path):
    wrong = local.mcp_url.replace("http://", "https://")
    login = run_cli("login", "--server", wrong, env={"ATOMS_AUTH_HOME": str(tmp_path / "home")})
    assert login.returncode == 3, login.stderr
    assert "this port speaks http, not https" in login.stderr and "use http://" in login.stderr
    assert "certificate" not in login.stderr and "code: network.plain-http" in login.stderr
    doctor = run_cli("doctor", "--server", wrong)
    assert doctor.returncode == 3, doctor.stdout + doctor.stderr  # unreachable: the network exit code
    root = next(line for line in doctor.stdout.splitlines() if line.startswith("Root cause"))
    assert root.count("speaks http") == 1 and "WRONG_VERSION_NUMBER" not in root, root
    assert "certificate" not in doctor.stdout and "use http://" in doctor.stdout


# --- item 10: --trace - is live HTTP on stderr, like curl -v ---


@pytest.mark.parametrize("where", ["-", "/dev/stderr"])
def test_trace_to_stderr_shows_each_exchange_redacted(local, tmp_path, where):
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(Path(__file__).resolve().parents[1] / "conformance" / "browser")}
    proc = run_cli("login", "--server", local.mcp_url, "--trace", where, "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    traced = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"time"')]
    assert any(t["method"] == "POST" and t["url"].endswith("/token") for t in traced), proc.stderr
    assert not (tmp_path / "-").exists()
    (record,) = (tmp_path / "home" / "tokens").glob("*.json")
    access = json.loads(record.read_text())["tokens"]["access_token"]
    assert access not in proc.stderr  # redacted, as in a trace file
    doctor = run_cli("doctor", "--server", local.mcp_url, "--trace", where, cwd=tmp_path)
    assert '"method": "POST"' in doctor.stderr and "Summary" in doctor.stdout


# --- item 11: token list (gh auth status) and token print (gh auth token) ---

BROWSER = str(Path(__file__).resolve().parents[1] / "conformance" / "browser")


def test_token_list_shows_every_login_and_token_print_gives_the_token_alone(local, tmp_path):
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": BROWSER}
    empty = run_cli("token", "list", "--json", env=env)
    assert empty.returncode == 0 and json.loads(empty.stdout) == {"schema": 1, "logins": []}
    assert run_cli("login", "--server", local.mcp_url, "--no-verify", env=env).returncode == 0
    (record,) = (tmp_path / "home" / "tokens").glob("*.json")
    access = json.loads(record.read_text())["tokens"]["access_token"]

    listed = run_cli("token", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    for row in (local.mcp_url, f"issuer  {local.issuer}", f"audience  {local.resource}", "scope  ", "expires  ", "grant  authorization_code"):
        assert row in listed.stdout, listed.stdout
    assert access not in listed.stdout
    doc = json.loads(run_cli("token", "list", "--json", env=env).stdout)
    (login,) = doc["logins"]
    assert doc["schema"] == 1 and login["server"] == local.mcp_url and login["grant_type"] == "authorization_code" and access not in json.dumps(doc)

    printed = run_cli("token", "print", env=env)  # into a pipe: the token alone, one line
    assert printed.returncode == 0 and printed.stdout == access + "\n", printed.stderr

    term = Terminal(["token", "print"], {**env, "NO_COLOR": "1"})
    term.read_until(r"code: token\.print-to-terminal")
    assert term.close() == 2 and access not in term.out
    term = Terminal(["token", "print", "--reveal"], {**env, "NO_COLOR": "1"})
    term.read_until(re.escape(access))
    assert term.close() == 0


# --- item 8: one vocabulary across commands ---


def test_call_takes_the_one_stored_login_and_lists_several(local, tmp_path):
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": BROWSER}
    assert run_cli("login", "--server", local.mcp_url, "--no-verify", "--quiet", env=env).returncode == 0
    listed = run_cli("call", "--json", env=env)  # no --server: the one stored login
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert doc["schema"] == 1 and {t["name"] for t in doc["tools"]} == {"whoami", "admin_echo"}
    with serve_app() as (other, _app):
        assert run_cli("login", "--server", other.mcp_url, "--no-verify", env=env).returncode == 0
        several = run_cli("call", env=env)
    assert several.returncode == 2 and "code: usage.ambiguous-login" in several.stderr
    assert local.mcp_url in several.stderr and other.mcp_url in several.stderr


def test_verbose_shows_each_exchange_and_quiet_shows_no_progress(local, tmp_path):
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": BROWSER}
    loud = run_cli("login", "--server", local.mcp_url, "-v", env=env)
    assert loud.returncode == 0, loud.stderr
    assert re.search(r"http POST http://127\.0\.0\.1:\d+/\S*token -> 200 \(\d+ ms\)", loud.stderr), loud.stderr
    quiet = run_cli("token", "refresh", "-q", env=env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    both = run_cli("call", "-v", "-q", env=env)
    assert both.returncode == 2 and "code: usage.conflicting-options" in both.stderr


def test_login_takes_the_auth_method_values_register_takes(local, tmp_path):
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": BROWSER}
    login = run_cli("login", "--server", local.mcp_url, "--auth-method", "none", "--no-verify", "--json", env=env)
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["schema"] == 1
    for command in ("login", "register"):
        assert "none (a public client), client_secret_post or client_secret_basic" in re.sub(r"\s+", " ", run_cli(command, "--help").stdout)
    conflict = run_cli("login", "--server", local.mcp_url, "--auth-method", "none", "--client-id", "x", "--client-secret", "-", env=env)
    assert conflict.returncode == 2 and "code: usage.conflicting-options" in conflict.stderr


# --- item 13: the format from -o's extension, several -o in one run ---


def test_doctor_writes_each_output_in_the_format_its_extension_names(local, tmp_path):
    proc = run_cli("doctor", "--server", local.mcp_url, "-o", "r.md", "-o", "r.xml", "-o", "r.json", "-o", "r.html", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert (tmp_path / "r.md").read_text().lstrip().startswith("#")
    assert "<testsuite" in (tmp_path / "r.xml").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == 1
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert "Summary:" in proc.stdout  # the text report for the CI log
    for name, fmt in (("r.md", "markdown"), ("r.xml", "junit"), ("r.json", "json"), ("r.html", "html")):
        assert f"Wrote the {fmt} report to {name}" in proc.stderr
    unknown = run_cli("doctor", "--server", local.mcp_url, "-o", "report.bin", cwd=tmp_path)
    assert unknown.returncode == 2 and "does not say which format" in unknown.stderr


def test_one_code_for_one_mistake_across_commands(tmp_path):
    """A URL that is not one is usage.invalid-url, and no server at all is usage.no-target, in every command."""
    env = {"ATOMS_AUTH_HOME": str(tmp_path / "home")}
    for command in (["doctor"], ["register"], ["login"], ["call"], ["token", "show"], ["token", "refresh"], ["logout"]):
        bad = run_cli(*command, "--server", "notaurl", env=env)
        assert bad.returncode == 2 and "code: usage.invalid-url" in bad.stderr, (command, bad.stderr)
    for command in (["doctor"], ["register"], ["login"], ["call"]):
        missing = run_cli(*command, env=env)
        assert missing.returncode == 2 and "code: usage.no-target" in missing.stderr, (command, missing.stderr)
