"""The house rules of issues #10 and #21, checked on the source: no import
circle between modules (type-checking and lazy imports included, a package's
``__init__`` too), nothing imports the package root, no module over 400
lines, and layers that point one way (commands -> library -> http; the
library never imports a command)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of this package that ``path`` imports anywhere: at module level, under
    TYPE_CHECKING, or lazily inside a function (a lazy import is still an arrow)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    # every arrow counts, a package's __init__ to its own submodules too: the root's type-checking
    # imports reach the whole package, so a module importing the root closed a circle (issue #21)
    return {name: _imports(path, modules) - {name} for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_nothing_imports_the_package_root():
    """The root's ``__init__`` re-exports the public names, with type-checking imports of the whole
    package; ``__version__`` lives in the leaf ``_version`` (``from authkit_mcp_cli import <submodule>`` is
    an import of that submodule, not of the root)."""
    graph = _graph()
    assert sorted(m for m, deps in graph.items() if "authkit_mcp_cli" in deps) == []


def test_the_graph_counts_type_checking_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from authkit_mcp_cli.errors import AtomsAuthError\n", encoding="utf-8")
    assert _imports(module, {"authkit_mcp_cli.errors"}) == {"authkit_mcp_cli.errors"}
    module.write_text("from authkit_mcp_cli import __version__, http\n", encoding="utf-8")
    assert _imports(module, {"authkit_mcp_cli", "authkit_mcp_cli.http"}) == {"authkit_mcp_cli", "authkit_mcp_cli.http"}


def test_one_challenge_type_and_one_reader():
    """Issue #21 item 1: ``challenge.py`` alone parses WWW-Authenticate (``Challenge``, ``Challenges`` and the
    rule); the only other challenge classes are the errors and the retry policy's outcome."""
    classes, parsers = set(), set()
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and "challenge" in node.name.lower():
                classes.add(f"{name}.{node.name}")
            if isinstance(node, (ast.Name, ast.Attribute)) and getattr(node, "id", getattr(node, "attr", None)) in ("parse_www_authenticate", "_Parser"):
                parsers.add(name)
    assert classes == {
        "authkit_mcp_cli.challenge.Challenge",
        "authkit_mcp_cli.challenge.Challenges",
        "authkit_mcp_cli.errors.AuthChallenge",
        "authkit_mcp_cli.errors.ChallengeParseError",
        "authkit_mcp_cli.client.policy.Challenged",
    }
    assert parsers == {"authkit_mcp_cli.challenge"}


def test_the_client_reads_challenges_without_the_wire():
    graph = _graph()
    assert "authkit_mcp_cli.mcp_wire" not in graph["authkit_mcp_cli.client.server_error"]
    assert "authkit_mcp_cli.challenge" in graph["authkit_mcp_cli.client.server_error"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_library_never_imports_a_command():
    graph = _graph()
    offenders = {m: sorted(d for d in deps if d.startswith("authkit_mcp_cli.commands")) for m, deps in graph.items() if not m.startswith(("authkit_mcp_cli.commands", "authkit_mcp_cli.cli"))}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_the_trace_knows_nothing_of_http_clients():
    graph = _graph()
    assert "authkit_mcp_cli.http" not in graph["authkit_mcp_cli.trace"]
    assert "authkit_mcp_cli.transport" not in graph["authkit_mcp_cli.trace"]


def test_test_modules_have_unique_basenames():
    """tests/unit and tests/integration have no __init__.py: two modules with one basename collide when a
    worker imports both ("import file mismatch", a collection error only a full run shows)."""
    from collections import Counter
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    names = Counter(p.name for p in tests.rglob("test_*.py") if "node_modules" not in p.parts)
    assert [name for name, n in names.items() if n > 1] == []


# Where output and exits may happen: the commands (and the CLI root around them), the console helpers
# they print through, the report renderers (they write to the console or file a command hands in),
# and serve's logging (a server's own log lines). Everything else reports through what it is given.
MAY_PRINT = ("commands/", "cli.py", "__main__.py", "console.py", "reports/", "server/logs.py", "server/runner.py")
PRINTS = re.compile(r"(?<![\w.])print\(|sys\.(stdout|stderr)\.write|typer\.Exit|sys\.exit\(|raise SystemExit|(stderr|stdout)_console\(\)")


def test_nothing_below_commands_prints_or_exits():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(MAY_PRINT):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRINTS.search(line.split("#", 1)[0]):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


def test_the_architecture_document_names_every_module():
    """A newcomer finds every module in docs/architecture.md (issue #21): its file name, or its name as a word."""
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.stem != "__init__" and not re.search(rf"\b{re.escape(path.stem)}(\.py)?\b", doc)
    ]
    assert missing == [], f"name these in docs/architecture.md: {missing}"
