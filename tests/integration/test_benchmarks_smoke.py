"""Each benchmark runs at tiny sizes, so the scripts cannot rot (their
verdicts come from `make bench`, never from timed tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# a benchmark script, with its own 600 s subprocess deadline
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script", ["startup.py", "doctor_latency.py", "doctor_many.py", "serve_throughput.py", "memory.py", "dpop_store.py"])
def test_benchmark_smoke(script):
    proc = subprocess.run([sys.executable, str(BENCH / script), "--smoke"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("ratio: ")
