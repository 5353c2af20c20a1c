"""doctor --profile CLIENT: the checks one MCP client's known behaviour needs, so "the client completes
OAuth but never calls my server" has an answer for that client.

The profiles are data (``client_profiles.json``): each rule names its kind, its level, why the client
needs it, the fix, and the public sources where the behaviour is documented or shown (a rule with no
source is refused when the file loads). A rule becomes one result, ``profile.<client>.<rule>``, judged
from what doctor already found (no request of its own):

- ``registration``: from ``as.registration``'s evidence (does the AS offer dynamic client registration,
  Client ID Metadata Documents); a problem is a FAIL (MUST) or WARN (SHOULD);
- ``requires``: another check must pass for this client (e.g. the Inspector, a browser, needs CORS);
- ``redirect-uris``: INFO listing the redirect URIs the client sends, which the AS must accept.
A rule whose input was not checked (its check skipped or not run) is skipped and says so.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from authkit_mcp_cli.checks.model import Check, Level, Outcome, Result, Status

PROFILES_FILE = Path(__file__).with_name("client_profiles.json")
_PROBLEM = {Level.MUST: Status.FAIL, Level.SHOULD: Status.WARN}


@cache
def profiles() -> dict[str, dict[str, Any]]:
    data = json.loads(PROFILES_FILE.read_text(encoding="utf-8"))["profiles"]
    for name, profile in data.items():
        for rule in profile["rules"]:
            if not rule.get("sources") or not all(s.startswith("https://") for s in rule["sources"]):
                raise ValueError(f"client profile {name}: rule {rule['id']} cites no public source")
    return data


def names() -> list[str]:
    return list(profiles())


def _unused(_ev: Any) -> Outcome:  # pragma: no cover - a profile rule is judged from other results, never run
    raise AssertionError("profile rules are evaluated by client_profiles.evaluate")


def _check(client: str, rule: dict[str, Any]) -> Check:
    profile = profiles()[client]
    return Check(f"profile.{client}.{rule['id']}", f"{profile['name']}: {rule['why'].split(';')[0].split(':')[0]}", Level(rule["level"]), "client profile; sources: " + ", ".join(rule["sources"]), _unused)


def _result(client: str, rule: dict[str, Any], status: Status, message: str, **evidence: Any) -> Result:
    fix = rule["fix"] if status in (Status.FAIL, Status.WARN) else None
    return Result(_check(client, rule), status, message, fix, {"client": profiles()[client]["name"], "sources": rule["sources"], **evidence})


def evaluate(client: str, results: list[Result]) -> list[Result]:
    """The profile's results for one server, judged from that server's ``results``."""
    by_id = {r.check.id: r for r in results}
    out = []
    for rule in profiles()[client]["rules"]:
        kind, level = rule["kind"], Level(rule["level"])
        if kind == "redirect-uris":
            out.append(_result(client, rule, Status.INFO, f"{rule['why']} Redirect URIs: {', '.join(rule['uris'])}.", redirect_uris=rule["uris"]))
            continue
        basis = by_id.get("as.registration" if kind == "registration" else rule["check"])
        if basis is None or basis.status is Status.SKIP or basis.caused_by is not None:
            out.append(_result(client, rule, Status.SKIP, f"Not checked: {basis.check.id if basis else rule.get('check', 'as.registration')} did not run or was skipped."))
            continue
        if kind == "registration":
            dcr, cimd = bool(basis.evidence.get("dcr")), bool(basis.evidence.get("cimd"))
            good = dcr or (cimd and rule["accepts"] == "dcr-or-cimd")
            offered = " and ".join(n for n, on in (("dynamic client registration", dcr), ("Client ID Metadata Documents", cimd)) if on) or "neither dynamic client registration nor Client ID Metadata Documents"
            message = f"The authorization server offers {offered}. {rule['why']}"
            out.append(_result(client, rule, Status.PASS if good else _PROBLEM[level], message, dcr=dcr, cimd=cimd))
        else:  # requires
            good = basis.status in (Status.PASS, Status.INFO)
            message = f"{basis.check.id} {basis.status.value}: {basis.message} {rule['why']}" if not good else f"{basis.check.id} passes. {rule['why']}"
            out.append(_result(client, rule, Status.PASS if good else _PROBLEM[level], message, check=basis.check.id))
    return out
