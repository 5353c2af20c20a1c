"""doctor's check catalogue: the check modules, listed here in catalogue order
(authorization server, MCP server, doctor --login, doctor --active, AuthKit), each contributing
its ``CHECKS``, each given its conformance requirement ids (``checks.requirements``). Ids are a public contract (README); ``check_catalogue.json``
(``doctor --list-checks``) is generated from this list by ``make docs``."""

from __future__ import annotations

from dataclasses import replace

from authkit_mcp_cli.checks import active_checks, as_checks, as_grants, authkit_checks, challenge_checks, login_checks, prm_checks, token_checks
from authkit_mcp_cli.checks.model import Check
from authkit_mcp_cli.checks.requirements import REQUIREMENTS

MODULES = (as_checks, as_grants, challenge_checks, prm_checks, token_checks, login_checks, active_checks, authkit_checks)


def _join() -> list[Check]:
    checks = [replace(c, requirements=REQUIREMENTS.get(c.id, ())) for module in MODULES for c in module.CHECKS]
    ids = [c.id for c in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate check ids: {', '.join(duplicates)}")
    return checks


CATALOGUE: list[Check] = _join()
