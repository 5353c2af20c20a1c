"""The error-code catalogue (issue #21 item 5): every code is an ``ErrorCode`` member with a meaning and
the exit code(s) it ends a command with, the source passes no code as a string, the exit codes the
catalogue states are the ones the raising classes give, and the ``--json`` error document has one writer.

The source is read with ``ast``: a new ``code="..."`` anywhere in src fails here, with the file and line."""

from __future__ import annotations

import ast
import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

from authkit_mcp_cli import errors
from authkit_mcp_cli.commands._boundary import report_bug
from authkit_mcp_cli.commands._help import ShapedUsageError
from authkit_mcp_cli.commands._json_error import error_document, write_error_document
from authkit_mcp_cli.error_codes import ErrorCode, network_code
from authkit_mcp_cli.errors import EXIT_CODE_MEANINGS, AtomsAuthError, UsageError

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "authkit_mcp_cli"
CODE_SHAPE = re.compile(r"^[a-z]+(\.[a-z]+(-[a-z]+)*)?$")


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def _strings_in(expr: ast.expr) -> list[str]:
    """String constants that make up ``expr`` itself (``"a"``, ``"a" + x``, ``x if c else "a"``, f-strings);
    arguments of a call inside it (``error.get("code")``) are not a code."""
    if isinstance(expr, ast.Constant):
        return [expr.value] if isinstance(expr.value, str) else []
    if isinstance(expr, ast.BinOp):
        return _strings_in(expr.left) + _strings_in(expr.right)
    if isinstance(expr, ast.IfExp):
        return _strings_in(expr.body) + _strings_in(expr.orelse)
    if isinstance(expr, ast.BoolOp):
        return [s for v in expr.values for s in _strings_in(v)]
    if isinstance(expr, ast.JoinedStr):
        return [v.value for v in expr.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(expr, (ast.Set, ast.List, ast.Tuple)):
        return [s for e in expr.elts for s in _strings_in(e)]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in ("frozenset", "set"):
        return [s for a in expr.args for s in _strings_in(a)]
    return []


def test_every_code_has_a_meaning_an_exit_code_and_a_name_that_spells_it():
    assert len(ErrorCode.__members__) == len(list(ErrorCode)), "two members share a value (an alias)"
    documented = set(EXIT_CODE_MEANINGS)
    for code in ErrorCode:
        assert CODE_SHAPE.match(code.value), f"{code.value!r} is not a dotted lower-case code"
        assert code.name == code.value.upper().replace(".", "_").replace("-", "_"), f"{code.name} should be spelled after {code.value!r}"
        assert code.meaning.strip() and code.meaning.endswith("."), f"{code.value}: a meaning, one sentence"
        assert code.exit_codes, f"{code.value}: no exit code"
        assert set(code.exit_codes) <= documented, f"{code.value}: exit codes {code.exit_codes} are not all documented"


def test_a_member_is_its_string_everywhere_a_program_reads_it():
    assert ErrorCode.AS_INSECURE == "as.insecure"
    assert f"{ErrorCode.AS_INSECURE}" == str(ErrorCode.AS_INSECURE) == "as.insecure"
    assert json.dumps({"code": ErrorCode.AS_INSECURE}) == '{"code": "as.insecure"}'
    assert ErrorCode.NETWORK_TIMEOUT.removeprefix("network.") == "timeout"


def test_no_code_is_passed_or_compared_as_a_string_in_src():
    found = []
    for path, tree in _sources():
        if path.name == "error_codes.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "code":
                found += [f"{_where(path, node.value)} code={s!r}" for s in _strings_in(node.value)]
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "default_code" for t in node.targets):
                found += [f"{_where(path, node)} default_code = {s!r}" for s in _strings_in(node.value)]
            elif isinstance(node, ast.Compare) and any(isinstance(side, ast.Attribute) and side.attr == "code" for side in [node.left, *node.comparators]):
                found += [f"{_where(path, node)} compares .code with {s!r}" for side in [node.left, *node.comparators] for s in _strings_in(side)]
    assert not found, "use an ErrorCode member (src/authkit_mcp_cli/error_codes.py):\n" + "\n".join(found)


def test_named_code_sets_hold_members():
    """A module-level set of codes (policy.LOGIN_REPAIRS) holds members, not strings that look like codes."""
    values = {c.value for c in ErrorCode}
    found = []
    for path, tree in _sources():
        if path.name == "error_codes.py":
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                found += [f"{_where(path, node)} {s!r}" for s in _strings_in(node.value) if s in values]
    assert not found, "\n".join(found)


def _error_classes() -> dict[str, type[AtomsAuthError]]:
    from authkit_mcp_cli.discovery import PrmNotFound

    classes = {name: obj for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, AtomsAuthError)}
    return {**classes, "PrmNotFound": PrmNotFound}


def test_the_stated_exit_codes_are_the_ones_the_raising_class_gives():
    classes = _error_classes()
    wrong, raised = [], 0
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes):
                continue
            cls = classes[node.func.id]
            for kw in node.keywords:
                value = kw.value
                if kw.arg == "code" and isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "ErrorCode":
                    raised += 1
                    code = ErrorCode[value.attr]
                    if code is ErrorCode.INTERNAL_BUG:  # the boundary's document for a bug; it exits 70 itself
                        continue
                    if cls.exit_code not in code.exit_codes:
                        wrong.append(f"{_where(path, node)} {cls.__name__} (exit {cls.exit_code}) raises {code.value}, catalogued with exit {code.exit_codes}")
    assert raised > 80, raised  # the scan sees the raises
    for cls in classes.values():
        if cls.exit_code not in cls.default_code.exit_codes:
            wrong.append(f"{cls.__name__}.default_code {cls.default_code.value} is catalogued with exit {cls.default_code.exit_codes}, not {cls.exit_code}")
    assert not wrong, "\n".join(wrong)


def _transport_kinds() -> set[str]:
    """Every kind a transport failure can have: http.Exchange.error_kind assignments, and the first
    element of each (kind, text) that transport.describe_transport_error returns."""
    kinds: set[str] = set()
    http_tree = ast.parse((SRC / "http.py").read_text(encoding="utf-8"))
    for node in ast.walk(http_tree):
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for target, value in zip(targets, values, strict=False):
                if isinstance(target, ast.Attribute) and target.attr == "error_kind" and isinstance(value, ast.Constant):
                    kinds.add(value.value)
    transport = ast.parse((SRC / "transport.py").read_text(encoding="utf-8"))
    describe = next(n for n in ast.walk(transport) if isinstance(n, ast.FunctionDef) and n.name == "describe_transport_error")
    for node in ast.walk(describe):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and isinstance(node.value.elts[0], ast.Constant):
            kinds.add(node.value.elts[0].value)
    return kinds


def test_every_transport_failure_kind_has_its_own_network_code_and_no_network_code_is_dead():
    kinds = _transport_kinds()
    assert {"dns", "refused", "tls", "timeout", "too_large", "redirect", "insecure", "connect"} <= kinds, kinds
    for kind in kinds:
        assert network_code(kind) is not ErrorCode.NETWORK_FAILED, f"transport kind {kind!r} has no network.* member"
        assert network_code(kind) == "network." + kind.replace("_", "-")
    assert network_code("something-new") is ErrorCode.NETWORK_FAILED
    reachable = {network_code(k) for k in kinds} | {ErrorCode.NETWORK_FAILED}
    assert {c for c in ErrorCode if c.startswith("network.")} == reachable


def test_every_code_is_raised_somewhere():
    """A member nobody raises is a meaning the docs promise and the program never gives."""
    used = {network_code(k) for k in _transport_kinds()}
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorCode" and node.attr in ErrorCode.__members__:
                used.add(ErrorCode[node.attr])
    assert set(ErrorCode) - used == set()


_DOTTED = r"([a-z]+\.[a-z]+(?:-[a-z]+)*)"
# exc.code == "x.y", doc["code"] == "x.y", {"code": "x.y"}, and the text form's last line "code: x.y"
TEST_CODE_MENTIONS = re.compile(rf"""(?:\.code\s*[=!]=\s*|\[["']code["']\]\s*[=!]=\s*|["']code["']:\s*)["']{_DOTTED}["']|\bcode: {_DOTTED}\b""")


def test_every_code_a_test_or_doc_expects_exists():
    values = {c.value for c in ErrorCode}
    unknown = []
    for path in [*sorted((ROOT / "tests").rglob("*.py")), ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if "node_modules" in path.parts or path.name == "test_error_codes.py":
            continue
        for match in TEST_CODE_MENTIONS.finditer(path.read_text(encoding="utf-8")):
            mentioned = match.group(1) or match.group(2)
            if mentioned not in values:
                unknown.append(f"{path.relative_to(ROOT)}: {mentioned}")
    assert not unknown, "\n".join(unknown)


def _stdout(fn) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        fn()
    return out.getvalue()


def _expected(code: str, message: str, hint: str) -> str:
    return "{\n" + '  "schema": 1,\n  "error": {\n' + f'    "code": "{code}",\n    "message": "{message}",\n    "hint": "{hint}",\n' + '    "spec": null,\n    "url": null,\n    "remote": null\n  }\n}\n'


def test_the_three_error_documents_come_from_one_writer_byte_for_byte():
    usage = _stdout(lambda: ShapedUsageError("No such option: --bogus.", "Run 'atoms-auth --help'.", as_json=True).show())
    assert usage == _expected("usage.cli", "No such option: --bogus.", "Run 'atoms-auth --help'.")
    bug = _stdout(lambda: report_bug(ValueError("boom"), as_json=True))
    assert bug == _expected("internal.bug", "internal error: ValueError: boom.", "This is a bug in atoms-auth; rerun with ATOMS_AUTH_DEBUG=1 and report the traceback.")
    error = _stdout(lambda: write_error_document(UsageError("Bad.", code=ErrorCode.USAGE_ARGUMENTS, hint="Fix.")))
    assert error == _expected("usage.arguments", "Bad.", "Fix.")
    assert json.loads(error) == error_document(UsageError("Bad.", code=ErrorCode.USAGE_ARGUMENTS, hint="Fix."))


def test_click_usage_errors_under_json_escape_what_a_terminal_would_obey():
    """The one writer escapes C1 controls for the framework's usage errors too (they echo the user's input)."""
    out = _stdout(lambda: ShapedUsageError("No such option: --a\x9bb.", "Run 'atoms-auth --help'.", as_json=True).show())
    assert "\x9b" not in out and "\\u009b" in out
    assert json.loads(out)["error"]["message"] == "No such option: --a\x9bb."


def test_docs_errors_md_lists_every_code_with_its_exit_codes():
    """docs/errors.md is generated (tests/unit/test_docs_and_completion.py fails when it drifts); each row is true."""
    table = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    for code in ErrorCode:
        exits = ", ".join(map(str, code.exit_codes))
        assert f"| `{code.value}` | {exits} | {code.meaning} |" in table, code.value
