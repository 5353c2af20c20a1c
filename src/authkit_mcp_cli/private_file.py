"""Files the client writes on a path the user named (``--trace FILE``, ``init``'s
``.env`` and its backup): never through a symbolic link, always mode 0600.

A path in a shared directory (``/tmp``) may be a link planted by another
user; following it would truncate the link's target and pour tokens into it.
So the last component is opened with ``O_NOFOLLOW``, a file that already
exists must be a regular file of ours with one link, and its mode is set to
0600 with ``fchmod`` on the open descriptor before a byte is written (an
existing 0644 file keeps no readable mode). New names are created with
``O_EXCL``. POSIX open(2): O_NOFOLLOW, O_EXCL.
"""

from __future__ import annotations

import errno
import os
import stat

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _refuse(path: str, what: str, why: str, hint: str) -> UsageError:
    return UsageError(f"Refusing to write {what} {path}: {why}.", code=ErrorCode.USAGE_UNSAFE_PATH, hint=hint)


def unwritable(path: str, what: str, exc: OSError) -> UsageError:
    """An OS error writing a file the user named, as a usage error (exit 2), not a crash."""
    return UsageError(f"Could not write {what} {path}: {exc.strerror or exc}.", code=ErrorCode.USAGE_UNWRITABLE_FILE, hint="Name a file in a directory you can write.")


def _link_error(path: str, what: str) -> UsageError:
    return _refuse(path, what, "it is a symbolic link, and writing through it would overwrite the file it points to", "Remove the link, or name a regular file (atoms-auth creates it with mode 0600).")


def open_private(path: str, *, what: str) -> int:
    """A descriptor to ``path``, created or emptied, mode 0600; a link or another's file is refused."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC  # no O_TRUNC before the checks
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise _link_error(path, what) from None
        raise unwritable(path, what, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, what, "it is not a regular file", "Name a regular file.")
        if st.st_uid != os.geteuid():
            raise _refuse(path, what, "the existing file belongs to another user", "Name a new file, or remove that one first.")
        if st.st_nlink > 1:
            raise _refuse(path, what, "the existing file has other hard links, which would see what is written", "Name a new file, or remove that one first.")
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_new(path: str, *, what: str) -> int:
    """A descriptor to a file created by this call (``O_EXCL``), mode 0600; ``FileExistsError`` when the name is taken by a file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    except FileExistsError:
        if os.path.islink(path):
            raise _link_error(path, what) from None
        raise
    except OSError as exc:
        raise unwritable(path, what, exc) from None
    os.fchmod(fd, 0o600)
    return fd


def refuse_link(path: str, *, what: str) -> None:
    """Raise when ``path`` itself is a symbolic link."""
    if os.path.islink(path):
        raise _link_error(path, what)
