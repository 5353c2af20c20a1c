"""Read a child process's output while it runs, without select() on a
buffered stream (select sees the pipe empty while lines sit in Python's
buffer). A thread pumps lines; the test waits for a pattern, and can read
everything after the process ends."""

from __future__ import annotations

import re
import threading
import time
from typing import IO, Any


class LineReader:
    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return "".join(self._lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str] | None:
        """The first match of ``pattern`` in the output so far or to come, or None at timeout/EOF."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = regex.search("".join(self._lines))
                if match or self._closed:
                    return match
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def finish(self, timeout: float = 15) -> str:
        """After the process has ended: all of its output."""
        self._thread.join(timeout)
        return self.text


def paste_redirect(proc: Any, timeout: float) -> tuple[str, str]:
    """Drive a ``--no-browser`` login child: wait for the URL it prints, follow it as a browser
    elsewhere would, paste the redirect it ends at; its (stdout, stderr). Every wait has a deadline."""
    import httpx

    stdout, stderr = LineReader(proc.stdout), LineReader(proc.stderr)
    found = stderr.wait_for(r"open (http://\S+)", timeout=30)
    assert found, stderr.text
    redirect = httpx.get(found.group(1), follow_redirects=False, timeout=10).headers["location"]
    proc.stdin.write(redirect + "\n")
    proc.stdin.close()
    proc.wait(timeout=timeout)
    return stdout.finish(), stderr.finish()
