"""Read an incoming activity without msrest's general-purpose deserialiser.

`Activity().deserialize(body)` walks msrest's whole machinery for every field of every
nested model (copying each field's description, trying each key extractor, catching
errors) and was a third of the CPU of answering a Teams message. The models and types an
activity is made of are few, so `read_activity` follows the same attribute maps directly
and builds the same objects: equal, field for field, to what msrest builds (a test checks
this on every activity the tests send and on generated ones). Anything it does not
recognise exactly (a number where text belongs, a string for a flag...) is left to msrest,
which decides as it always has.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botbuilder.schema as schema
from botbuilder.schema import Activity
from msrest.serialization import Deserializer, Model


class _Unusual(Exception):
    """A value msrest may convert in its own way: let msrest read the whole activity."""


def read_activity(body: dict[str, Any]) -> Activity:
    """The Activity that `Activity().deserialize(body)` gives, built directly where possible."""
    try:
        activity = _build(Activity, body)
    except Exception:  # _Unusual, or a value msrest would refuse: msrest decides, as before
        return Activity().deserialize(body)
    assert isinstance(activity, Activity)
    return activity


@cache
def _plan(cls: type[Model]) -> tuple[tuple[tuple[str, str, str, type[Model] | None], ...], frozenset[str], tuple[str, ...]]:
    """For a model: (attribute, JSON key, kind, nested model) per field, the known keys, read-only fields."""
    fields = []
    for attr, desc in cls._attribute_map.items():
        kind: str = desc["type"]
        inner = kind.strip("[]{}")
        model = getattr(schema, inner, None)
        if isinstance(model, type) and issubclass(model, Model):
            kind = kind.replace(inner, "model")
        elif kind not in ("str", "bool", "int", "object", "iso-8601", "[str]"):
            raise TypeError(f"{cls.__name__}.{attr} has a type this reader does not know: {kind}")
        else:
            model = None
        fields.append((attr, desc["key"], kind, model))
    validation = getattr(cls, "_validation", {}) or {}
    readonly = tuple(k for k, v in validation.items() if v.get("readonly") or v.get("constant"))
    return tuple(fields), frozenset(key for _, key, _, _ in fields), readonly


def _build(cls: type[Model], data: Any) -> Model:
    if not isinstance(data, dict) or getattr(cls, "_subtype_map", None) or "additional_properties" in cls._attribute_map:
        raise _Unusual
    fields, known, readonly = _plan(cls)
    if readonly:
        raise _Unusual
    values: dict[str, Any] = {}
    for attr, key, kind, model in fields:
        values[attr] = None if (raw := data.get(key)) is None else _value(raw, kind, model)
    obj = cls(**values)
    extra = {k: v for k, v in data.items() if k not in known}
    if extra:
        obj.additional_properties = extra
    return obj


def _value(raw: Any, kind: str, model: type[Model] | None) -> Any:
    if kind == "str":
        if type(raw) is not str:
            raise _Unusual
        return raw
    if kind == "bool":
        if type(raw) is not bool:
            raise _Unusual
        return raw
    if kind == "int":
        if type(raw) is not int:
            raise _Unusual
        return raw
    if kind == "object":
        if not isinstance(raw, dict | list | str | int | float | bool):
            raise _Unusual
        return raw
    if kind == "iso-8601":
        if type(raw) is not str:
            raise _Unusual
        return Deserializer.deserialize_iso(raw)
    if kind == "[str]":
        if type(raw) is not list or any(type(x) is not str for x in raw):
            raise _Unusual
        return list(raw)
    assert model is not None
    if kind == "model":
        return _build(model, raw)
    if kind == "[model]":
        if type(raw) is not list:
            raise _Unusual
        return [None if x is None else _build(model, x) for x in raw]
    if kind == "{model}":
        if type(raw) is not dict:
            raise _Unusual
        return {k: None if v is None else _build(model, v) for k, v in raw.items()}
    raise _Unusual
