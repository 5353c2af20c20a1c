#!/usr/bin/env python3
"""Start-up: `atoms-auth --help` and `--version` against the framework's floor,
`python -c "import typer, rich.console"`. Best of N runs each (the minimum is
the least noisy estimate of the cost itself). Target: within 1.3x."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.3
BIN = Path(sys.executable).parent


def best_of(cmd: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="3 runs, no verdict")
    args = parser.parse_args()
    runs = 3 if args.smoke else args.runs
    floor = best_of([sys.executable, "-c", "import typer, rich.console"], runs)
    results = {name: best_of([str(BIN / "atoms-auth"), flag], runs) for name, flag in (("--help", "--help"), ("--version", "--version"))}
    print(f"floor (import typer, rich.console): {floor * 1000:.1f} ms")
    for name, seconds in results.items():
        print(f"atoms-auth {name}: {seconds * 1000:.1f} ms")
    ratio = max(results.values()) / floor
    print(f"ratio: {ratio:.2f} (target <= {TARGET})")
    return 0 if args.smoke or ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
