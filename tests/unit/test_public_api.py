"""The library's public face: a short, pinned ``__all__`` that loads lazily."""

from __future__ import annotations

import inspect
import subprocess
import sys

import authkit_mcp_cli

PUBLIC = [
    "AtomsAuthError",
    "AuthChallenge",
    "AuthorizationDenied",
    "ChallengeParseError",
    "Context",
    "Diagnosis",
    "Discovered",
    "ExitCode",
    "LoginOptions",
    "NetworkError",
    "ProtocolError",
    "RemoteDetail",
    "RemoteRefused",
    "Session",
    "Target",
    "UsageError",
    "__version__",
    "call_mcp",
    "diagnose",
    "discover",
    "load_session",
    "login",
    "logout",
    "refresh",
    "resolve_target",
]


def test_all_is_pinned_and_sorted():
    assert authkit_mcp_cli.__all__ == PUBLIC == sorted(PUBLIC)
    assert sorted([*authkit_mcp_cli._PUBLIC, "__version__"]) == PUBLIC  # every name has a home module


def test_every_public_name_resolves_and_is_documented():
    for name in PUBLIC:
        value = getattr(authkit_mcp_cli, name)
        if name != "__version__":
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_the_errors_are_one_tree():
    for name in ("AuthChallenge", "AuthorizationDenied", "ChallengeParseError", "NetworkError", "ProtocolError", "RemoteRefused", "UsageError"):
        assert issubclass(getattr(authkit_mcp_cli, name), authkit_mcp_cli.AtomsAuthError)


def test_diagnose_accepts_an_http_client():
    params = inspect.signature(authkit_mcp_cli.diagnose).parameters
    assert "client" in params and params["client"].default is None


def test_importing_the_package_loads_nothing_heavy():
    code = "import sys, authkit_mcp_cli; print([m for m in ('httpx', 'jwt', 'mcp', 'rich') if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_unknown_names_raise_attribute_error():
    try:
        authkit_mcp_cli.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
