#!/usr/bin/env python3
"""Memory: doctor's peak resident set against serve, and serve's resident set
before and after a load run (wrk, C connections for S seconds).

Bounds stated here (and in BENCHMARKS.md; issue 16 item 4): doctor peaks at
60 MB at most; serve stays under 200 MB after the run and grows by 10 MB at
most during it.

doctor's peak is measured from a small launcher process: Linux counts a
child's peak from the size of the process that forked it (the peak of the
address space it had before exec), so measured from this benchmark (serve's
peers and starlette loaded, ~75 MB) it would report this process's size."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from serve_throughput import WRK_SCRIPT, free_port, rss_mb, wait_listening  # noqa: E402

from peers.asgi import serve_asgi  # noqa: E402
from peers.key_as import KeyAS  # noqa: E402

DOCTOR_PEAK_BOUND_MB = 60
SERVE_RSS_BOUND_MB = 200
SERVE_GROWTH_BOUND_MB = 10
# Runs argv and prints its peak resident set (KiB): the launcher itself is ~10 MB, less than doctor.
LAUNCHER = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def peak_mb(argv: list[str]) -> float:
    """The peak resident set of ``argv``, run from the small launcher."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True).stdout
    return int(out) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="a 1 s run, no verdict")
    args = parser.parse_args()
    seconds, concurrency = (1, 4) if args.smoke else (args.seconds, args.concurrency)
    atoms = str(Path(sys.executable).parent / "atoms-auth")
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app) as issuer:
        port = free_port()
        proc = subprocess.Popen([atoms, "serve", "--port", str(port), "--authkit-domain", issuer, "--stateless", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_listening(port, proc)
            url = f"http://127.0.0.1:{port}/api/mcp"
            launcher_alone = peak_mb([sys.executable, "-c", "pass"])
            doctor_peak = peak_mb([atoms, "doctor", "--server", url, "--json"])
            if doctor_peak <= launcher_alone * 1.5:
                raise SystemExit(f"could not measure doctor's peak ({doctor_peak:.1f} MB, a bare interpreter {launcher_alone:.1f} MB)")
            token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 3600))
            script = Path(tempfile.mkstemp(suffix=".lua")[1])
            script.write_text(WRK_SCRIPT)
            env = {**os.environ, "BENCH_TOKEN": token}
            wrk = shutil.which("wrk") or sys.exit("wrk is missing: install Debian's wrk (make bench and make test do).")
            subprocess.run([wrk, "-t1", "-c2", "-d1s", "-s", str(script), url], capture_output=True, env=env, check=True)
            rss_before = rss_mb(proc.pid)
            subprocess.run([wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), url], capture_output=True, env=env, check=True)
            rss_after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(15)
    print(f"doctor peak resident set: {doctor_peak:.1f} MB (bound {DOCTOR_PEAK_BOUND_MB} MB)")
    print(f"serve resident set: {rss_before:.1f} MB before, {rss_after:.1f} MB after {seconds} s at {concurrency} connections (bound {SERVE_RSS_BOUND_MB} MB, growth < {SERVE_GROWTH_BOUND_MB} MB)")
    ratio = max(doctor_peak / DOCTOR_PEAK_BOUND_MB, rss_after / SERVE_RSS_BOUND_MB, (rss_after - rss_before) / SERVE_GROWTH_BOUND_MB)
    print(f"ratio: {ratio:.2f} of the tightest bound (target <= 1.0)")
    return 0 if args.smoke or ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
