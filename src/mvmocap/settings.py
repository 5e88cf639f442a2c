"""Typed settings: frozen dataclasses read from YAML mappings, and written back as documented YAML.

A settings class is a frozen dataclass whose fields carry the defaults (the one place they live)
and whose docstring documents each field on a line ``name: text`` (continued on lines indented
further). :func:`settings_from` checks a user's mapping against the annotations (unknown keys,
wrong types, the class's own range checks) and names the file and key; :func:`settings_yaml`
writes an instance as YAML with each key's documentation as a comment.

Knows nothing of the rest of the package but :class:`mvmocap.utils.InputError`.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import fields, is_dataclass

import yaml

from mvmocap.utils import InputError

__all__ = ["field_docs", "require_at_least_one", "require_positive", "settings_from", "settings_yaml", "yaml_value"]

_DOC_LINE = re.compile(r"^(\s*)(\w+): (.*)$")
_ALIGN_AT = 36  # comments line up after the keys up to this width; longer lines keep theirs after two spaces


def settings_from(cls, values: dict | None, where: str):
    """A frozen settings dataclass from a YAML mapping; unknown keys, values of the wrong type (from
    the dataclass's annotations) and values its own checks refuse are errors naming ``where``."""
    if values is not None and not isinstance(values, dict):
        raise InputError(f"{where}: must hold 'key: value' lines, got {values!r}")
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if not _has_type(value, hints[key]):
            raise InputError(f"{where}.{key}: must be {_type_name(hints[key])}, got {value!r}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        key, sep, _ = str(err).partition(": ")
        joined = "." if sep and key in known else ": "  # a check's "key: ..." names the key after the section
        raise InputError(f"{where}{joined}{err}") from None


def require_at_least_one(settings, *keys: str) -> None:
    """A settings class's range check: each of ``keys`` is a whole number >= 1 (``ValueError``
    naming the key, which :func:`settings_from` places after the section)."""
    for key in keys:
        if getattr(settings, key) < 1:
            raise ValueError(f"{key}: must be a whole number >= 1, got {getattr(settings, key)!r}")


def require_positive(settings, *keys: str) -> None:
    """A settings class's range check: each of ``keys`` is above 0."""
    for key in keys:
        if not getattr(settings, key) > 0:
            raise ValueError(f"{key}: must be above 0, got {getattr(settings, key)!r}")


def _has_type(value, hint) -> bool:
    """Whether a YAML value fits a field annotation (bool, int, float, str, None, tuple[X, ...] and
    unions of them; other annotations are left to the dataclass's own checks)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(v, args[0]) for v in value)
        return len(value) == len(args) and all(_has_type(v, a) for v, a in zip(value, args, strict=True))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True


def _type_name(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            plural = {str: "strings", int: "whole numbers", float: "numbers", bool: "true or false values"}
            return f"a list of {plural.get(args[0], _type_name(args[0]))}"
        return f"a list [{', '.join(_type_name(a) for a in args)}]"
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def field_docs(cls) -> dict[str, str]:
    """Each field's documentation from the class docstring's ``name: text`` lines."""
    docs: dict[str, str] = {}
    names = {f.name for f in fields(cls)}
    current, indent = None, 0
    for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
        match = _DOC_LINE.match(line)
        if match and match.group(2) in names and (current is None or len(match.group(1)) <= indent):
            current, indent = match.group(2), len(match.group(1))
            docs[current] = match.group(3).strip()
        elif current is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
            docs[current] += " " + line.strip()
        else:
            current = None
    return docs


def yaml_value(value) -> str:
    """One value in YAML flow style (``null``, ``true``, ``[1280, 720]``, ``0.5``)."""
    if isinstance(value, tuple):
        value = list(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("\n...").strip()


def settings_yaml(settings, *, indent: int = 2, exclude: tuple[str, ...] = ()) -> list[str]:
    """The lines of a settings instance as a YAML mapping body, each key commented with its doc
    (the fields in ``exclude`` left out)."""
    if not is_dataclass(settings):
        raise TypeError(f"not a settings dataclass: {settings!r}")
    docs = field_docs(type(settings))
    pad = " " * indent
    rows = [(f"{pad}{f.name}: {yaml_value(getattr(settings, f.name))}", docs.get(f.name, ""))
            for f in fields(settings) if f.name not in exclude]
    width = min(max((len(text) for text, _ in rows), default=0), _ALIGN_AT) + 2
    return [f"{text:<{width}}# {doc}" if doc else text for text, doc in rows]
