"""Write the integration guide's ``.env``: update our keys in place, keep every
other line, back up the old file, write atomically with mode 0600 (it may
hold WORKOS_API_KEY)."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.private_file import create_new, refuse_link, unwritable

_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _quote(value: str) -> str:
    """A value python-dotenv reads back unchanged: bare when plain, else single quotes (no escapes,
    no ${VAR} interpolation there), else double quotes with dotenv's escapes."""
    if re.fullmatch(r"[A-Za-z0-9_./:@,+\-]*", value):
        return value
    if "'" not in value and "\n" not in value and "\\" not in value:
        return "'" + value + "'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render(existing: str, values: dict[str, str]) -> str:
    """Replace the lines of keys we set, append the others; keep everything else as it was."""
    for key, value in values.items():
        if "${" in value:  # python-dotenv expands ${VAR} in every kind of value: it cannot round-trip
            raise UsageError(f"The value for {key} contains '${{', which python-dotenv (and so the MCP server) would expand as a variable.", code=ErrorCode.USAGE_ENV_VALUE, hint="Write the value without '${'.")
    lines = existing.splitlines()
    done: set[str] = set()
    out = []
    for line in lines:
        match = _KEY.match(line)
        if match and match.group(1) in values:
            key = match.group(1)
            if key in done:
                continue  # a duplicate of a key we set: drop it, the first place wins
            out.append(f"{key}={_quote(values[key])}")
            done.add(key)
        else:
            out.append(line)
    missing = [k for k in values if k not in done]
    if missing:
        if out and out[-1].strip():
            out.append("")
        out.append("# written by atoms-auth init")
        out.extend(f"{k}={_quote(values[k])}" for k in missing)
    return "\n".join(out) + "\n"


def write(path: Path, values: dict[str, str]) -> Path | None:
    """Write; returns the backup path when an existing file was replaced.

    Neither the file nor its backup is written through a symbolic link: the
    file is replaced by rename (which would cut a link, so a link is refused
    up front), the backup is a new file (O_EXCL, O_NOFOLLOW), mode 0600.
    """
    refuse_link(str(path), what="the .env file")
    backup = None
    existing = ""
    if path.exists():
        try:
            existing = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"Could not read {path}: {getattr(exc, 'strerror', None) or exc}.", code=ErrorCode.USAGE_UNREADABLE_FILE, hint="Name a readable UTF-8 text file with --output.") from None
    text = render(existing, values)  # a value it refuses leaves no backup behind
    if path.exists():
        backup = _backup(path, existing)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise unwritable(str(path), "the .env file", exc) from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # a name another user owns in a sticky directory: EPERM, reported below
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise unwritable(str(path), "the .env file", exc) from None
        raise
    return backup


def _backup(path: Path, text: str) -> Path:
    """A new file next to ``path`` holding ``text``; a name already taken by a file gets a counter."""
    stem = f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(100):
        backup = path.with_name(stem if n == 0 else f"{stem}-{n}")
        try:
            fd = create_new(str(backup), what="the .env backup")
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return backup
    raise UsageError(f"Could not find a free name for the backup of {path}.", code=ErrorCode.USAGE_UNSAFE_PATH, hint=f"Remove old {path.name}.bak-* files.")
