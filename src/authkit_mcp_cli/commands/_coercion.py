"""A plain value needs no pydantic: typer 0.29 coerces every option through a
pydantic ``TypeAdapter``, built even for an option left at its default, so
any command with a string option imports pydantic (about 70 ms, as much as
the rest of start-up; issue #16 item 2: ``token show`` within 1.3x of
``--help``).

:func:`install` defers typer's coercion per parameter: ``None``, and a value
that already has the annotated type (a default, or a string for a ``str``
option), is returned as it is, which is what typer's adapter returns for
them, as is a ``Literal`` option's value that is exactly one of its
strings; anything else (a number typed on the command line, an Enum, a
path, a list, a custom parser) goes through typer's own adapter, built on
first use. Bool flags typer already skips. typer's private hook is reached
only through ``seams.typer_private`` (typer is pinned below 0.30); when it is
missing nothing changes: every value goes through typer's adapter.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from authkit_mcp_cli.seams.typer_private import PASS, install_coercion_shortcut

_PLAIN = (str, int, float)


def install() -> bool:
    """Put :func:`plain_value` before typer's per-parameter coercion once; False when this typer has no such hook."""
    return install_coercion_shortcut(plain_value)


def plain_value(descriptor: Any, value: Any) -> Any:
    """``value`` as typer's adapter would return it, when that needs no adapter; else ``PASS``."""
    if is_plain(descriptor, value):
        return value
    if is_plain_list(descriptor, value):
        return list(value)  # typer's adapter makes the same list of the same strings
    return PASS


def is_plain(descriptor: Any, value: Any) -> bool:
    """A value typer's adapter would return unchanged: exactly the annotated str, int or float, with no
    parser, choice, path or file handling, and inside any min/max; or exactly one of a ``Literal``'s
    strings (typer returns the choice it matches, which is the value itself)."""
    annotation = descriptor.annotation
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return False
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        distinct = len({str(c).lower() for c in choices}) == len(choices)  # no two choices one normalisation apart
        return type(value) is str and distinct and all(type(c) is str for c in choices) and value in choices
    if annotation not in _PLAIN or type(value) is not annotation:  # bool is an int: exact types only
        return False
    if descriptor.is_choice or descriptor.is_path or descriptor.is_file:
        return False
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    return (low is None or value >= low) and (high is None or value <= high)


def is_plain_list(descriptor: Any, value: Any) -> bool:
    """A repeatable ``list[str]`` option given only strings (doctor --server A --server B): typer's adapter
    would return them as a list, unchanged."""
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None or descriptor.is_path or descriptor.is_file:
        return False
    return get_origin(descriptor.annotation) is list and get_args(descriptor.annotation) == (str,) and isinstance(value, (list, tuple)) and all(type(v) is str for v in value)
