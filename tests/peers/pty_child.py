"""Children on a pseudo-terminal that never outlive their test: whatever happens in the test
(an assertion, a timeout, a child that never exits), :func:`end_child` reaps the child, killing
it after a grace period, and closes the terminal, so a hung child fails the test instead of
hanging the run."""

from __future__ import annotations

import os
import signal
import time


def end_child(pid: int, fd: int, grace: float = 10.0) -> int | None:
    """The child's exit code; it is killed (exit code None) if it has not exited within ``grace`` seconds."""
    code: int | None = None
    try:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return code
    except ChildProcessError:  # already reaped
        return code
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
