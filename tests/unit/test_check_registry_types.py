"""``@check(needs=f)`` keeps the type ``f`` narrows to: mypy accepts a check
that takes it and refuses one that takes something else."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = textwrap.dedent(
    """
    from typing import Any, assert_type
    from collections.abc import Callable

    from authkit_mcp_cli.checks.evidence import Evidence, FoundAS
    from authkit_mcp_cli.checks.model import Level, Outcome, ok
    from authkit_mcp_cli.checks.needs import found_as, prm, server
    from authkit_mcp_cli.checks.probes import Probe
    from authkit_mcp_cli.checks.registry import CheckList

    check = CheckList().check


    @check("t.as", "t", Level.MUST, "s", probes=(Probe.AS_METADATA,), needs=found_as)
    def uses_as(ev: Evidence, disc: FoundAS) -> Outcome:
        return ok(disc.metadata_url)


    @check("t.prm", "t", Level.MUST, "s", needs=prm)
    def uses_prm(ev: Evidence, doc: dict[str, Any]) -> Outcome:
        return ok("")


    @check("t.plain", "t", Level.MUST, "s")
    def plain(ev: Evidence) -> Outcome:
        return ok("")


    assert_type(uses_as, Callable[[Evidence, FoundAS], Outcome])
    assert_type(plain, Callable[[Evidence], Outcome])


    @check("t.wrong", "t", Level.MUST, "s", needs=server)
    def wrong(ev: Evidence, server: int) -> Outcome:  # server() narrows to str
        return ok("")


    @check("t.extra", "t", Level.MUST, "s")
    def extra(ev: Evidence, what: str) -> Outcome:  # nothing to pass it
        return ok("")
    """
)


def test_needs_keeps_the_narrowed_evidence_type(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configuration's mypy_path is relative to the project
    module = tmp_path / "checks_typed.py"
    module.write_text(SNIPPET)
    out, err, _status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(module)])
    errors = [line.split(": error: ", 1) for line in out.splitlines() if ": error: " in line]
    decorator_line = {name: SNIPPET.splitlines().index(f"def {name}(ev: Evidence, {arg}) -> Outcome:  # {why}") for name, arg, why in (("wrong", "server: int", "server() narrows to str"), ("extra", "what: str", "nothing to pass it"))}
    assert [(int(where.rsplit(":", 1)[-1]), what.split(" [")[0].strip()) for where, what in errors] == [
        (decorator_line["wrong"], 'Argument 1 has incompatible type "Callable[[Evidence, int], Outcome]"; expected "Callable[[Evidence, str], Outcome]"'),
        (decorator_line["extra"], 'Argument 1 has incompatible type "Callable[[Evidence, str], Outcome]"; expected "Callable[[Evidence], Outcome]"'),
    ], out + err
