"""doctor's check catalogue as data, for ``doctor --list-checks``.

Listing the catalogue is a local command (issue #16 §2): it must not import
every check module, the evidence model and rich to print four columns. So the
catalogue's id, level, title and spec are kept in a file next to
this module (``check_catalogue.json``), generated from ``checks.catalogue`` by
``make docs`` (scripts/docs.py); a test fails when the file and the catalogue
differ. The same file carries each check's "what it checks" and "typical fix"
from docs/checks.md's tables, for the agent's ``explain_check`` tool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOGUE_FILE = Path(__file__).with_name("check_catalogue.json")


def load() -> list[dict[str, Any]]:
    """Every check, in catalogue order, as {id, level, title, spec}."""
    return json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))["checks"]


def generate(catalogue: Any, checks_doc: str = "") -> str:
    """check_catalogue.json's text for ``checks.catalogue.CATALOGUE``, with docs/checks.md's
    (``checks_doc``) "what it checks" and "typical fix" cells for each id it documents, and the
    conformance suite's requirement ids where a check has them."""
    documented = doc_rows(checks_doc)
    rows = [
        {"id": c.id, "level": c.level.value, "title": c.title, "spec": c.spec, **({"requirements": list(c.requirements)} if c.requirements else {}), **documented.get(c.id, {})}
        for c in catalogue
    ]
    return json.dumps({"checks": rows}, indent=1, ensure_ascii=False) + "\n"


def doc_rows(checks_doc: str) -> dict[str, dict[str, str]]:
    """docs/checks.md's table rows ``| `id` | LEVEL | what it checks | typical fix |`` by id, with the
    anchor of the ``##`` section each is in (``section``: SARIF's helpUri, docs/checks.md#section)."""
    found: dict[str, dict[str, str]] = {}
    section = ""
    for line in checks_doc.splitlines():
        if line.startswith("## "):
            section = heading_anchor(line[3:])
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("| `") and len(cells) == 4:
            found[cells[0].strip("`")] = {"checks": cells[2], "fix": cells[3], "section": section}
    return found


def heading_anchor(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading: lower case, punctuation
    other than ``-`` and ``_`` dropped, each space a ``-`` (``With a real token (`doctor --login`)``
    is ``with-a-real-token-doctor---login``)."""
    kept = "".join(ch for ch in heading.strip().lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def select(ids: list[str]) -> list[dict[str, Any]] | None:
    """The rows for ``ids`` (all when empty); None when an id is unknown (the caller reports it)."""
    rows = load()
    if not ids:
        return rows
    known = {row["id"] for row in rows}
    if any(i not in known for i in ids):
        return None
    return [row for row in rows if row["id"] in ids]


def as_document(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``doctor --list-checks --json``'s document (and the agent's list_checks result): schema 1, each check's id,
    title, level, spec and the conformance suite's requirement ids."""
    return {"schema": 1, "checks": [{"id": r["id"], "title": r["title"], "level": r["level"], "spec": r["spec"], "requirements": r.get("requirements", [])} for r in rows]}


def as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(as_document(rows), indent=2)


def as_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One aligned line per check, nothing padded at the end (pipes and CI logs)."""
    id_width = max((len(r["id"]) for r in rows), default=0)
    title_width = max((len(r["title"]) for r in rows), default=0)
    return [f"{r['id']:<{id_width}}  {r['level']:<6}  {r['title']:<{title_width}}  {r['spec']}".rstrip() for r in rows]
