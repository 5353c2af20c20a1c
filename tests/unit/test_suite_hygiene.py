"""The suite's own promises (issue #28): a hung test fails the run within its timeout instead of
hanging it."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_has_a_timeout_and_a_hang_fails_within_it(tmp_path):
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 60 <= int(options["timeout"]) <= 600, options.get("timeout")
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hangs():\n    time.sleep(600)\n")
    started = time.monotonic()
    # the project's own configuration, with the timeout shortened: the plugin is installed and acts
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "timeout=2", str(tmp_path / "test_hang.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 1 and "Timeout (>2.0s)" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert time.monotonic() - started < 60  # 2 s of hang and the interpreter's start, with a wide margin
