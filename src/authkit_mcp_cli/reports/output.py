"""Write a public file the user named (doctor's report, register's Client ID Metadata
Document): created 0644 (it holds no secret and is meant to be read or hosted), never
through a symlink (O_NOFOLLOW), only a regular file."""

from __future__ import annotations

import errno
import os
import stat

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError


def write_report(path: str, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"--output {path} is a symbolic link; atoms-auth does not write through one.", code=ErrorCode.USAGE_OUTPUT_SYMLINK, hint="Name the file itself (or remove the link).") from None
        raise UsageError(f"Cannot write --output {path}: {exc.strerror}.", code=ErrorCode.USAGE_OUTPUT_UNWRITABLE, hint="Name a file in a directory that exists and that you can write to.") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"--output {path} is not a regular file.", code=ErrorCode.USAGE_OUTPUT_NOT_A_FILE, hint="Name a regular file; leave --output out to print the report on stdout.")
        os.ftruncate(fd, 0)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
