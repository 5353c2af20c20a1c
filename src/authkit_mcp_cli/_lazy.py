"""Packages whose names load on first use (PEP 562), so a command imports only
the submodules it needs (issue #16 item 2: ``token show`` must not pay for
httpx, pyjwt or cryptography through a package's ``__init__``).

A package may export a function named like the submodule defining it
(``client.login.login``, ``oauth.client_auth.client_auth``). Importing such
a submodule makes the import system bind the package attribute to the module,
so ``from package import login`` would then give the module: the package's
class here keeps the function in that attribute instead, as eager
``from .login import login`` in ``__init__`` did.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class LazyPackage(types.ModuleType):
    """A package module whose same-named submodules do not shadow their functions."""

    _defined_in: Mapping[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and self._defined_in.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_package(package: str, defined_in: Mapping[str, str]) -> Callable[[str], Any]:
    """Make ``package`` lazy; returns its module ``__getattr__``. ``defined_in``: name -> submodule."""
    module = sys.modules[package]
    module.__class__ = type("LazyPackage", (LazyPackage,), {"_defined_in": dict(defined_in)})

    def __getattr__(name: str) -> Any:
        where = defined_in.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where}"), name)
        setattr(module, name, value)
        return value

    return __getattr__
