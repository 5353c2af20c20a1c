"""What makes a metadata answer usable: the one meaning of "usable" for
protected-resource metadata (RFC 9728 §3.2) and AS metadata (RFC 8414 §3.2),
shared by the client's discovery (:mod:`.discovery`, :mod:`.legacy_discovery`)
and doctor's evidence. Pure functions over exchanges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from authkit_mcp_cli.http import Exchange

JSON_HEADERS = {"Accept": "application/json"}

K = TypeVar("K")


def usable_document(ex: Exchange) -> tuple[dict[str, Any] | None, str | None]:
    """(document, None) when ``ex`` is 200 with a JSON object, else (None, why not)."""
    if not ex.ok:
        return None, ex.error or "no answer"
    if ex.status != 200:
        return None, f"HTTP {ex.status}"
    return ex.json_object()


def first_usable(attempts: Iterable[tuple[K, Exchange]]) -> tuple[K, dict[str, Any]] | None:
    """The first usable document in the given (spec) order, with its key."""
    for key, ex in attempts:
        doc, _ = usable_document(ex)
        if doc is not None:
            return key, doc
    return None


def describe_attempt(url: str, ex: Exchange) -> str:
    """One line of a "tried" list: what ``url`` answered."""
    doc, err = usable_document(ex)
    if doc is not None:
        return f"{url}: 200, usable"
    status = f"{ex.status}" if ex.status is not None else "no answer"
    if ex.error:
        return f"{url}: {status} ({ex.error})"
    return f"{url}: {status}" + (f" ({err})" if ex.status == 200 else "")
