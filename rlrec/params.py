"""Plugin parameters: a dataclass per plugin (reward, weighting strategy), validated from a config mapping.

A plugin declares its parameters as a nested ``Params`` dataclass. The Hydra entry points store that class in
Hydra's ConfigStore, so a misspelt key or a wrongly typed value fails when the config is composed; the
library validates again here when the plugin is built (the config may come from Python, or from a plugin whose
schema was not stored at compose time), with a message naming the plugin, the key and the known keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, TypeVar, Union

__all__ = ["validate_params"]

P = TypeVar("P")


def validate_params(cls: type[P], params: Any, where: str) -> P:
    """Build ``cls`` from a mapping (or a dataclass instance), rejecting unknown keys and wrong types.

    The error names ``where``, the key, the closest known key and the list of known keys.
    """
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    if not isinstance(params, dict):
        raise TypeError(f"{where}: params must be a mapping, got {type(params).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key, value in params.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{where}: unknown parameter {key!r}.{hint} Known parameters: {', '.join(fields)}.")
        if not _type_ok(value, hints[key]):
            raise ValueError(f"{where}: parameter {key!r} must be {_type_name(hints[key])}, got {value!r}")
    values = {key: _coerce(value, hints[key]) for key, value in params.items()}
    return cls(**values)


_UNIONS = (Union, types.UnionType)  # Optional[X] and X | None


def _type_ok(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in _UNIONS:
        return any(_type_ok(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        (arg, *_) = typing.get_args(tp) or (Any,)
        return isinstance(value, (list, tuple)) and all(_type_ok(v, arg) for v in value)
    if origin is dict:
        args = typing.get_args(tp) or (Any, Any)
        return isinstance(value, dict) and all(_type_ok(v, args[1]) for v in value.values())
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def _coerce(value: Any, tp: Any) -> Any:
    """ints become floats where a float is declared; sequences become lists."""
    if isinstance(value, int) and not isinstance(value, bool) and float in _leaf_types(tp) and int not in _leaf_types(tp):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _leaf_types(tp: Any) -> tuple:
    return typing.get_args(tp) if typing.get_origin(tp) in _UNIONS else (tp,)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
