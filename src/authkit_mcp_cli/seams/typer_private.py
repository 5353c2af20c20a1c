"""typer's private names, in one place (issue #21): typer 0.29 vendors click as ``typer._click``,
registers its shell-completion classes from ``typer._completion_classes`` and coerces option values
through ``typer._coercion``. Each is reached defensively; when a typer release renames one:

- click's classes (:data:`UsageError` and friends) come from typer's public names instead
  (``typer.BadParameter`` derives from click's ``UsageError``, ``typer.Context`` from its
  ``Context``): the same classes, so ``--help`` and the ``error:``/``fix:`` usage errors are unchanged;
- the completion classes are registered through the public ``typer.completion`` module; without
  either, :func:`register_completion_classes` says False and the CLI refuses completion clearly;
- the coercion hook is not installed: every value goes through typer's own (pydantic) coercion,
  slower to start, with the same results.

Only typer is imported here (already loaded by any command): ``--help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
import typer.core

__all__ = ["PASS", "Command", "Context", "HelpFormatter", "NoArgsIsHelpError", "UsageError", "install_coercion_shortcut", "register_completion_classes"]

PASS = object()  # a coercion shortcut's "not mine": typer's own coercion decides

if TYPE_CHECKING:
    from typer._click.core import Command, Context
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
    from typer._click.formatting import HelpFormatter
else:

    def _named(classes: Any, name: str) -> Any:
        return next((c for c in classes if c.__name__ == name), None)

    def _click_classes() -> tuple[Any, ...]:
        """click's UsageError, NoArgsIsHelpError, Context, Command and HelpFormatter, as typer raises and passes them."""
        try:
            from typer._click import core, exceptions, formatting

            return exceptions.UsageError, exceptions.NoArgsIsHelpError, core.Context, core.Command, formatting.HelpFormatter
        except (ImportError, AttributeError):  # another typer: the classes its public names derive from
            usage = _named(typer.BadParameter.__mro__, "UsageError")

            class NeverRaised(usage):  # no such class in this click: a bare call shows the usage error
                pass

            no_args = _named(usage.__subclasses__(), "NoArgsIsHelpError") or NeverRaised
            return usage, no_args, _named(typer.Context.__mro__[1:], "Context"), _named(typer.core.TyperCommand.__mro__, "Command"), object

    UsageError, NoArgsIsHelpError, Context, Command, HelpFormatter = _click_classes()


def register_completion_classes() -> bool:
    """Register typer's bash/zsh/fish completion classes (the ones the shipped scripts talk to) with
    click; False when this typer has neither the private module nor the public one that loads it."""
    try:
        from typer._completion_classes import completion_init
    except ImportError:
        try:
            from typer.completion import get_completion_inspect_parameters
        except ImportError:
            return False
        get_completion_inspect_parameters()  # public: registers the same classes as it builds typer's own options
        return True
    completion_init()
    return True


def install_coercion_shortcut(shortcut: Callable[[Any, Any], Any]) -> bool:
    """Before typer coerces an option's value, ask ``shortcut(descriptor, value)`` (descriptor: typer's
    ``TypeDescriptor``, with ``annotation`` and ``parameter_info``); anything but :data:`PASS` is the
    value, and typer's own coercion is built only for a value the shortcut passes on. Idempotent; False
    (nothing changed) when this typer has no such hook: ``_TyperParameter.get_runtime_param`` and
    ``typer._coercion``'s ``RuntimeParam`` and ``build_runtime_param``."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer.core import _TyperParameter as parameter
    except ImportError:
        return False
    if not hasattr(parameter, "get_runtime_param"):
        return False
    if getattr(parameter.get_runtime_param, "_atoms_auth", False):
        return True

    @dataclass(frozen=True)
    class Deferred(RuntimeParam):
        descriptor: Any = None
        built: list[Any] = field(default_factory=list)  # typer's own RuntimeParam, once needed

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            done = shortcut(self.descriptor, value)
            if done is not PASS:
                return done
            if not self.built:
                self.built.append(build_runtime_param(self.descriptor))
            return self.built[0]._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            d = self.type_descriptor
            self._runtime_param = Deferred(parameter_info=d.parameter_info, annotation=d.annotation, descriptor=d)
        return self._runtime_param

    get_runtime_param._atoms_auth = True  # type: ignore[attr-defined]
    parameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    return True
