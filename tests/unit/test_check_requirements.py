"""Issue 22 §3: each check names the conformance suite's requirement id for the same rule, where one exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from world import World

from authkit_mcp_cli import check_listing
from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.requirements import REQUIREMENTS, REVISION

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "node" / "node_modules" / "@modelcontextprotocol" / "conformance" / "requirements" / f"{REVISION}.yaml"


def suite_ids() -> set[str]:
    """The scenario names the requirement file lists under server: and client:."""
    ids, section = set(), None
    for line in SUITE.read_text().splitlines():
        if re.match(r"^[a-z_]+:\s*$", line):
            section = line.rstrip(":").strip()
        elif section in ("server", "client") and (m := re.match(r"^\s+-\s+(\S+)\s*$", line)):
            ids.add(m.group(1))
    return ids


def test_every_requirement_id_is_one_the_suite_lists_and_every_check_exists():
    listed = suite_ids()
    assert "auth/metadata-default" in listed and len(listed) > 40  # the file was read
    known = {c.id for c in CATALOGUE}
    for cid, reqs in REQUIREMENTS.items():
        assert cid in known, cid
        assert reqs and set(reqs) <= listed, (cid, set(reqs) - listed)


def test_the_catalogue_carries_them_into_json_results_and_the_listing():
    by_id = {c.id: c for c in CATALOGUE}
    assert by_id["as.issuer"].requirements == ("auth/metadata-issuer-mismatch",)
    assert by_id["server.rejects-token-in-query"].requirements == ()
    results = World().run()
    assert results["challenge.scope"].to_json()["requirements"] == ["auth/scope-from-www-authenticate"]
    assert results["server.rejects-invalid-token"].to_json()["requirements"] == []
    listing = json.loads(check_listing.as_json(check_listing.select(["prm.resource", "prm.cors"]) or []))
    assert {c["id"]: c["requirements"] for c in listing["checks"]} == {"prm.resource": ["auth/resource-mismatch"], "prm.cors": []}


def test_docs_list_each_checks_requirement_ids():
    doc = (ROOT / "docs" / "checks.md").read_text()
    section = doc.split("## Conformance suite requirement ids", 1)[1].split("\n## ", 1)[0]
    for cid, reqs in REQUIREMENTS.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{cid}` |")), None)
        assert row is not None and all(f"`{r}`" in row for r in reqs), cid
