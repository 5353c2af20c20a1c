"""The ``--json`` error document, written in one place (the document itself: errors.error_document,
which the agent's error results carry too).

``{"schema": 1, "error": {"code", "message", "hint", "spec", "url", "remote"}}`` on stdout: for an
error from the tree (``_boundary``), a bug (``_boundary``, code ``internal.bug``) and the CLI
framework's usage errors (``_help``, code ``usage.cli``). Control characters a terminal would obey
are escaped (issue 14 item 10). Imports only what ``--help`` already loads.
"""

from __future__ import annotations

import json
import sys

from authkit_mcp_cli.errors import AtomsAuthError, error_document
from authkit_mcp_cli.safe_text import json_text


def write_error_document(exc: AtomsAuthError) -> None:
    """The document on stdout, indented, non-ASCII kept, C1 and format characters escaped."""
    sys.stdout.write(json_text(json.dumps(error_document(exc), indent=2, ensure_ascii=False)) + "\n")
    sys.stdout.flush()
