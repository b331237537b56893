"""Finding models by name: the registry, ``module:attr`` and file paths.

``MODEL`` on the command line is one of

* a registered name (``twophase``; see ``vigilnet.models.REGISTRY``),
* ``package.module:ATTR`` naming a :class:`ModelFamily`, a :class:`Model`,
  or a function of no arguments returning one,
* ``path/to/file.py`` or ``path/to/file.py:ATTR`` (``ATTR`` defaults to
  ``FAMILY``).

A bare :class:`Model` is wrapped in a family with one configuration,
``default``.

Loading ``module:ATTR`` or a file imports it, that is runs its code with the
caller's rights: that is what a model is, and why only a person at the
command line may name one.  A name read from a file (a trace's ``#meta``)
goes through :func:`load_registered`, which loads registered models only.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigilnet.checker._model import Constants, Model, ModelError, ModelFamily

__all__ = ["load_family", "load_registered", "parse_constant", "registered"]


def registered() -> Mapping[str, str]:
    """Registered model names -> ``"module:attribute"`` of their family."""
    module = importlib.import_module("vigilnet.models")
    registry: dict[str, str] = dict(module.REGISTRY)
    return registry


def _from_file(path: Path) -> Any:
    name = f"vigilnet_user_model_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"cannot load a model from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a module that failed to load is not loaded
        raise
    return module


def _wrap(obj: Any, ref: str) -> ModelFamily:
    if isinstance(obj, ModelFamily):
        return obj
    if isinstance(obj, Model):
        model: Model[Any] = obj

        def build(constants: Constants) -> Model[Any]:
            if dict(constants) != dict(model.constants):
                raise ModelError(f"{ref} is a fixed model; its constants cannot change")
            return model

        return ModelFamily(
            name=model.name,
            summary=f"{model.name} ({ref})",
            build=build,
            configs={"default": dict(model.constants)},
            default_config="default",
        )
    if callable(obj):
        return _wrap(obj(), ref)
    raise ModelError(f"{ref} is not a ModelFamily, a Model, or a function returning one")


def load_registered(name: str) -> ModelFamily:
    """The registered model ``name``; never imports anything else, so it is
    safe on a name read from a file."""
    registry = registered()
    if not isinstance(name, str) or name not in registry:
        raise ModelError(
            f"{name!r:.60} is not a registered model (registered: {', '.join(registry)})"
        )
    module_name, _, attr = registry[name].partition(":")
    return _wrap(getattr(importlib.import_module(module_name), attr), name)


def load_family(ref: str) -> ModelFamily:
    """The model family that ``ref`` names (see the module docstring).  A
    ``module:ATTR`` or file ``ref`` runs that code: never pass one read from
    a file (use :func:`load_registered`)."""
    registry = registered()
    if ref in registry:
        return load_registered(ref)
    target, _, attr = ref.partition(":") if not _is_windows_drive(ref) else (ref, "", "")
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.is_file():
                raise ModelError(f"no model file {path}")
            module = _from_file(path)
        else:
            if not attr:
                known = ", ".join(sorted(registry))
                raise ModelError(f"unknown model {ref!r} (registered: {known})")
            module = importlib.import_module(target)
    except ImportError as error:
        raise ModelError(f"cannot import model {ref!r}: {error}") from error
    name = attr or "FAMILY"
    if not hasattr(module, name):
        raise ModelError(f"{target} has no attribute {name}")
    return _wrap(getattr(module, name), ref)


def _is_windows_drive(ref: str) -> bool:
    return len(ref) > 2 and ref[1] == ":" and ref[2] in "\\/"


def parse_constant(text: str) -> tuple[str, object]:
    """``K=V`` from ``--const``: ``V`` is an int when it is ASCII digits with
    an optional ``-`` (at most 19 digits), a bool when it is ``TRUE`` or
    ``FALSE`` (any case), else a string.  ``K`` must be an identifier and
    ``V`` not empty.  :meth:`ModelFamily.constants` then checks ``V``
    against the type of the configuration's value.  Raises
    :class:`ModelError` naming ``text``."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise ModelError(f"--const wants K=V, got {shown!r}")
    if not key.isidentifier():
        raise ModelError(f"--const {shown!r}: {key[:40]!r} is not a constant name")
    if not value:
        raise ModelError(f"--const {shown!r}: no value after '='")
    parsed: object
    if _INTEGER.fullmatch(value):
        if len(value.lstrip("-")) > _MAX_DIGITS:
            raise ModelError(
                f"--const {shown!r}: integer out of range (at most {_MAX_DIGITS} digits)"
            )
        parsed = int(value)
    elif value.upper() in ("TRUE", "FALSE"):
        parsed = value.upper() == "TRUE"
    else:
        parsed = value
    return key, parsed


_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_MAX_DIGITS = 19
