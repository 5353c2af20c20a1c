"""Small words said right (issue #24 item 16): "1 warning", "2 warnings", never "key" with "(s)"; a client's
auth method in words (a public client, not "client X (none)"). A leaf: no imports."""

from __future__ import annotations

IRREGULAR = {"info": "info", "passed": "passed", "failed": "failed", "skipped": "skipped"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless count is 1: plural(1, "warning") -> "1 warning"."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or IRREGULAR.get(word) or word + 's'}"


def auth_method_words(method: str) -> str:
    """How a client authenticates at the token endpoint, for a progress line."""
    return "a public client, no secret" if method == "none" else method
