"""The client's files, terminal and trust decisions (issue 14 items 9-12), at the unit level:
files on a user's path are never written through a symlink and end 0600; every character a
console writes is free of control sequences a remote sent; loopback means IP literals and the
literal ``localhost`` (RFC 8252 §8.3)."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from authkit_mcp_cli import envfile
from authkit_mcp_cli.console import make_console
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.safe_text import json_text
from authkit_mcp_cli.trace import TracedExchange, TraceWriter
from authkit_mcp_cli.urls import is_loopback_host, is_secure_url

HOSTILE = "\x1b[2J\x1b[H fake prompt$ \x9b31m red \x07\x08\r\x1b]0;title\x07\u2028"
CONTROL_BYTES = (b"\x1b", b"\x9b", b"\x07", b"\x08", b"\r")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- item 9: files ------------------------------------------------------------


def test_trace_refuses_a_symlink_and_leaves_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    link = tmp_path / "trace.jsonl"
    link.symlink_to(victim)
    with pytest.raises(UsageError) as info:
        TraceWriter(str(link))
    assert info.value.code == "usage.unsafe-path" and info.value.exit_code == 2
    assert "symbolic link" in info.value.message
    assert victim.read_text() == "precious\n" and _mode(victim) == 0o644


def test_trace_refuses_a_dangling_symlink_without_creating_its_target(tmp_path):
    link = tmp_path / "trace.jsonl"
    link.symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(UsageError):
        TraceWriter(str(link))
    assert not (tmp_path / "created-through-the-link").exists()


def test_an_existing_0644_trace_ends_0600_and_is_emptied(tmp_path):
    path = tmp_path / "trace.jsonl"
    path.write_text("old trace line\n")
    path.chmod(0o644)
    with TraceWriter(str(path), reveal=True) as writer:
        assert _mode(path) == 0o600  # before the first line, which may hold a raw token
        writer.record(TracedExchange("GET", "https://h/x", [("Authorization", "Bearer t")], None, 200))
    assert _mode(path) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["url"] == "https://h/x"


def test_a_trace_holds_no_raw_control_character_a_remote_sent(tmp_path):
    path = tmp_path / "trace.jsonl"
    body = json.dumps({"error_description": HOSTILE}, ensure_ascii=False).encode()
    with TraceWriter(str(path)) as writer:
        writer.record(TracedExchange("POST", "https://as/token", [], None, 400, [("Content-Type", "application/json")], body))
    raw = path.read_bytes()
    assert not any(b in raw for b in CONTROL_BYTES) and b"\xe2\x80\xa8" not in raw, raw
    assert json.loads(json.loads(raw)["response"]["body"])["error_description"] == HOSTILE  # the value survives, escaped in the file


def test_a_new_trace_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        TraceWriter(str(tmp_path / "t.jsonl")).close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "t.jsonl") == 0o600


def test_trace_refuses_a_hard_linked_file_and_a_fifo(tmp_path):
    other = tmp_path / "other"
    other.write_text("x")
    os.link(other, tmp_path / "hard.jsonl")
    with pytest.raises(UsageError, match="hard links"):
        TraceWriter(str(tmp_path / "hard.jsonl"))
    assert other.read_text() == "x"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UsageError):  # no reader: refused at once, never blocks
        TraceWriter(str(tmp_path / "fifo"))


def test_env_backup_onto_a_symlink_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(envfile.time, "strftime", lambda _fmt: "20260101-000000")
    env = tmp_path / ".env"
    env.write_text("KEEP=1\n")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / ".env.bak-20260101-000000").symlink_to(victim)
    with pytest.raises(UsageError, match="symbolic link"):
        envfile.write(env, {"A": "b"})
    assert victim.read_text() == "precious\n"
    assert env.read_text() == "KEEP=1\n"  # nothing replaced when the backup could not be made


def test_env_backup_is_a_new_0600_file_and_a_taken_name_gets_a_counter(tmp_path, monkeypatch):
    monkeypatch.setattr(envfile.time, "strftime", lambda _fmt: "20260101-000000")
    env = tmp_path / ".env"
    env.write_text("WORKOS_API_KEY=sk_old\n")
    env.chmod(0o644)
    (tmp_path / ".env.bak-20260101-000000").write_text("an older backup\n")
    backup = envfile.write(env, {"A": "b"})
    assert backup is not None and backup.name == ".env.bak-20260101-000000-1"
    assert backup.read_text() == "WORKOS_API_KEY=sk_old\n" and _mode(backup) == 0o600
    assert (tmp_path / ".env.bak-20260101-000000").read_text() == "an older backup\n"
    assert _mode(env) == 0o600 and "A=b" in env.read_text()


def test_env_file_that_is_a_symlink_is_refused(tmp_path):
    victim = tmp_path / "shared.env"
    victim.write_text("X=1\n")
    (tmp_path / ".env").symlink_to(victim)
    with pytest.raises(UsageError, match="symbolic link"):
        envfile.write(tmp_path / ".env", {"A": "b"})
    assert victim.read_text() == "X=1\n" and (tmp_path / ".env").is_symlink()


def test_unwritable_paths_are_usage_errors_not_crashes(tmp_path):
    with pytest.raises(UsageError) as info:
        TraceWriter(str(tmp_path / "missing-dir" / "t.jsonl"))
    assert info.value.code == "usage.unwritable-file" and info.value.exit_code == 2
    with pytest.raises(UsageError) as info:
        envfile.write(tmp_path / "missing-dir" / ".env", {"A": "b"})
    assert info.value.code == "usage.unwritable-file"


def test_a_refused_env_value_leaves_no_backup(tmp_path):
    env = tmp_path / ".env"
    env.write_text("KEEP=1\n")
    with pytest.raises(UsageError):
        envfile.write(env, {"A": "${HOME}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


# --- item 10: terminal escapes ---------------------------------------------------


@pytest.mark.parametrize("terminal", [False, True])
def test_the_console_writes_no_control_character_a_remote_sent(monkeypatch, terminal):
    monkeypatch.setenv("NO_COLOR", "1")
    console = make_console()
    console.file = buffer = io.StringIO()
    if terminal:
        console._force_terminal = True
    console.print(f"[bold]error:[/] {HOSTILE}", soft_wrap=True)
    console.print(HOSTILE, markup=False)
    out = buffer.getvalue().encode()
    assert not any(b in out for b in CONTROL_BYTES), out
    assert b"\\x1b[2J" in out and b"\\x9b31m" in out  # shown, visibly, not dropped


def test_styling_survives_while_remote_escapes_do_not(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    console = make_console()
    console.file = buffer = io.StringIO()
    console._force_terminal = True
    console._color_system = __import__("rich.color", fromlist=["ColorSystem"]).ColorSystem.STANDARD
    console.print(f"[red]{HOSTILE}[/]")
    out = buffer.getvalue()
    assert out.startswith("\x1b[31m")  # rich's own style
    assert "\x1b[2J" not in out and "\x9b" not in out


def test_json_text_escapes_what_the_encoder_leaves_raw():
    value = {"description": HOSTILE + "\x7f é"}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(ch in text for ch in "\x1b\x9b\x7f\u2028") and "é" in text


# --- item 11: loopback means IP literals and the literal localhost -------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("app.localhost", False),
        ("foo.bar.localhost", False),
        ("localhost.", False),
        ("localhost.example.com", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        (None, False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


def test_plain_http_to_a_dot_localhost_name_is_not_secure():
    assert is_secure_url("http://localhost:8000/mcp") and is_secure_url("http://127.0.0.1:8000/mcp")
    assert not is_secure_url("http://app.localhost:8000/mcp")


# --- item 12: a PRM resource that is a prefix -------------------------------------------


def test_doctor_names_the_broader_audience_of_a_prefix_and_warns_of_it_at_the_path_inserted_url():
    from world import ORIGIN, PRM_PATH, PRM_ROOT, SERVER, World

    from authkit_mcp_cli.checks.model import Status

    world = World(challenge_header=f'Bearer resource_metadata="{PRM_ROOT}", scope="openid"')
    world.routes[("GET", PRM_PATH)] = lambda r: httpx.Response(404)
    world.prm["resource"] = ORIGIN
    r = world.run()["prm.resource"]
    assert r.status is Status.PASS and "broader audience" in r.message and ORIGIN in r.message
    assert r.evidence["broader_audience"] == [ORIGIN]
    exact = World().run()["prm.resource"]
    assert exact.status is Status.PASS and "broader" not in exact.message
    world = World()  # the path-inserted document should name the exact identifier (RFC 9728 §3.3); clients accept it
    world.prm["resource"] = ORIGIN
    results = world.run()
    assert results["prm.resource"].status is Status.PASS and results["prm.resource"].evidence["broader_audience"] == [ORIGIN]
    assert results["prm.resource-exact"].status is Status.WARN
    assert SERVER.startswith(ORIGIN)


def test_broader_audience_is_the_resource_only_when_it_is_not_the_server():
    from authkit_mcp_cli.urls import broader_audience

    assert broader_audience("https://h/api/mcp", "https://h/api/mcp") is None
    assert broader_audience("https://h", "https://h/api/mcp") == "https://h"
