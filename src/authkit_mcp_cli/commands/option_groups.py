"""Option groups: options several commands share, declared once, handed to a command as one object.

gh gives each command an ``Options`` struct filled from its flags; typer
reads a command's options from its function signature instead. A *group* is
a dataclass whose fields are typer options (an ``Annotated`` option type and
a default), e.g. ``options.HttpOptions``. A command asks for a group with a
keyword-only parameter of that type, and :func:`with_option_groups` does the
rest::

    @with_option_groups
    def refresh(server: options.Server = None, *, http: options.HttpOptions) -> None:
        ...  # http.timeout, http.trace, http.allow_http

1. For typer, the decorated command's signature shows the group's fields in
   place of ``http`` (same names, types, defaults and help), so ``--help``
   and parsing are what they would be with the options written one by one.
2. When typer calls the command with those values, they are collected into
   ``options.HttpOptions(...)`` and passed as ``http``.

Every parameter becomes keyword-only (typer passes them by name). A command
without group parameters is returned unchanged; two options of one name are
an error at import.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def with_option_groups(command: F) -> F:
    """``command`` with each dataclass-typed parameter spread into that dataclass's options (see the module)."""
    hints = typing.get_type_hints(command, include_extras=True)
    shown: list[inspect.Parameter] = []
    groups: dict[str, tuple[type, list[str]]] = {}  # parameter -> (its dataclass, the options that fill it)
    for param in inspect.signature(command).parameters.values():
        group = hints.get(param.name)
        if isinstance(group, type) and dataclasses.is_dataclass(group):
            types = typing.get_type_hints(group, include_extras=True)
            fields = dataclasses.fields(group)
            groups[param.name] = (group, [f.name for f in fields])
            shown += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=types[f.name]) for f in fields]
        else:
            shown.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(param.name, param.annotation)))
    if not groups:
        return command
    names = [p.name for p in shown]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise TypeError(f"{command.__name__}: option parameters {clashes} appear twice (a group's field and a parameter, or two groups)")

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        for name, (group, fields) in groups.items():
            values[name] = group(**{f: values.pop(f) for f in fields})
        return command(**values)

    # what typer (and inspect.signature, and command_boundary's functools.wraps) sees
    run.__signature__ = inspect.Signature(shown)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in shown}
    return run  # type: ignore[return-value]
