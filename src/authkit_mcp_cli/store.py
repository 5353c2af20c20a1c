"""The credential store: client registrations keyed by AS issuer, tokens keyed
by AS issuer and resource (MCP: credentials are bound to the AS that issued
them).

Files are JSON, mode 0600, in a 0700 directory (``ATOMS_AUTH_HOME``, else the
platform's user state directory). Writes are atomic (temporary file, fsync,
rename), so a crash mid-write leaves the old file intact. A per-key lock file
(``fcntl.flock``) serialises read-refresh-write across processes, because a
rotated refresh token that is lost ends the grant. Files found too open are
tightened with a warning; unreadable ones are set aside, never silently
replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

ENV_HOME = "ATOMS_AUTH_HOME"


def default_home() -> Path:
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("atoms-auth", appauthor=False))


def _slug(*parts: str) -> str:
    host = (urlsplit(parts[-1]).hostname or "x").replace(":", "_")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return f"{host}-{digest}"


def unwritable_home(home: Path, exc: OSError | str, *, after: str | None = None) -> UsageError:
    """The store's directory cannot be written: a configuration error (exit 2) naming it and ``ATOMS_AUTH_HOME``,
    not a crash. ``after``: what already happened at the remote that the user must not lose (a client id)."""
    why = exc if isinstance(exc, str) else (exc.strerror or str(exc))
    lead = f"{after} " if after else ""
    return UsageError(
        f"{lead}The credential store {home} cannot be written: {why}.",
        code=ErrorCode.STORE_UNWRITABLE,
        hint=f"Set {ENV_HOME} to a directory you can write (e.g. export {ENV_HOME}=~/.local/state/atoms-auth), or make {home} writable.",
    )


class Store:
    def __init__(self, home: Path | None = None, *, warn=None) -> None:
        self.home = home or default_home()
        # the library never prints (docs/architecture.md): a command hands in where warnings go; without one they are logged
        self.warn = warn or logging.getLogger("atoms_auth.store").warning

    # --- layout -----------------------------------------------------------

    def require_writable(self) -> None:
        """Fail now, before any request with a side effect at a remote (a registration), when records could not be saved."""
        for name in ("clients", "tokens"):
            folder = self._dir(name)
            try:
                fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
            except OSError as exc:
                raise unwritable_home(self.home, exc) from None
            os.close(fd)
            os.unlink(probe)

    def _dir(self, name: str) -> Path:
        path = self.home / name
        for d in (self.home, path):
            try:
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
            except FileExistsError:  # a file where the directory should be
                raise unwritable_home(self.home, f"{d} is not a directory") from None
            except OSError as exc:
                raise unwritable_home(self.home, exc) from None
            mode = stat.S_IMODE(d.stat().st_mode)
            if mode & 0o077:
                os.chmod(d, 0o700)
                self.warn(f"{d} was readable by others (mode {mode:o}); set to 0700.")
        return path

    def client_path(self, issuer: str) -> Path:
        return self._dir("clients") / f"{_slug(issuer)}.json"

    def token_path(self, issuer: str, resource: str) -> Path:
        return self._dir("tokens") / f"{_slug(issuer, resource)}.json"

    # --- reading and writing --------------------------------------------

    def read(self, path: Path) -> dict[str, Any] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            self.warn(f"{path} was readable by others (mode {mode:o}); set to 0600. Consider the credentials in it exposed.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            os.replace(path, aside)
            self.warn(f"{path} could not be read ({exc}); it was moved to {aside.name} and will be recreated.")
            return None
        return data

    def write(self, path: Path, data: dict[str, Any]) -> None:
        payload = json.dumps(data, indent=2, sort_keys=True).encode()
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise unwritable_home(self.home, exc) from None
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def delete(self, path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def lock(self, path: Path, timeout: float = 30.0) -> Iterator[None]:
        """An exclusive lock across processes for read-modify-write of ``path``.

        The lock file is removed on release, so none is left behind. Removing it
        while another process waits on the same file is safe: a lock taken on a
        file that is no longer the one at ``lock_path`` is dropped and taken again.
        """
        import fcntl

        lock_path = path.with_name(path.name + ".lock")
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise UsageError(f"Another atoms-auth process holds {lock_path} for more than {timeout:g} s.", code=ErrorCode.STORE_LOCKED, hint="Wait for it to finish, or remove the lock file if no atoms-auth process is running.") from None
                        time.sleep(0.05)
                try:
                    current = os.stat(lock_path).st_ino
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current == os.fstat(fd).st_ino:
                break
            os.close(fd)  # the holder before us removed this file: lock the one now at lock_path
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)  # while still holding it: a waiter then sees another inode and retries
            os.close(fd)  # closing releases the lock

    # --- records ------------------------------------------------------------

    def load_client(self, issuer: str) -> dict[str, Any] | None:
        data = self.read(self.client_path(issuer))
        return data if data and data.get("issuer") == issuer else None

    def save_client(self, issuer: str, record: dict[str, Any]) -> Path:
        path = self.client_path(issuer)
        self.write(path, {**record, "issuer": issuer, "saved_at": int(time.time())})
        return path

    def load_tokens(self, issuer: str, resource: str) -> dict[str, Any] | None:
        data = self.read(self.token_path(issuer, resource))
        return data if data and data.get("issuer") == issuer and data.get("resource") == resource else None

    def save_tokens(self, issuer: str, resource: str, record: dict[str, Any]) -> Path:
        path = self.token_path(issuer, resource)
        self.write(path, {**record, "issuer": issuer, "resource": resource, "saved_at": int(time.time())})
        return path

    def all_tokens(self) -> list[tuple[Path, dict[str, Any]]]:
        return self._all("tokens")

    def all_records(self, kind: str) -> list[dict[str, Any]]:
        """Every readable record of ``kind`` ("clients" or "tokens"), creating nothing."""
        return [data for _, data in self._all(kind)]

    def _all(self, kind: str) -> list[tuple[Path, dict[str, Any]]]:
        folder = self.home / kind
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob("*.json")):
            data = self.read(path)
            if data:
                out.append((path, data))
        return out

    def find_tokens_for_server(self, server_url: str) -> list[tuple[Path, dict[str, Any]]]:
        return [(p, d) for p, d in self.all_tokens() if d.get("server_url") == server_url or d.get("resource") == server_url]
