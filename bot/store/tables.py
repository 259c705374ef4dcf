"""Tables of records in memory, in TinyDB's layout (``{table: {doc id: record}}``), with a key index per table
and field indexes.

Records are replaced, never changed in place, and every read returns a copy: so a checkpoint
can write a snapshot of the tables while later commits go on.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

META = "_meta"  # the store's own table (the change number live.json holds), not records

_SCALARS = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), several times faster than copy.deepcopy.

    Scalars inside a dict or list are taken as they are, without a call each: most of a
    record is scalars, and this runs for every record read.
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else clone(v) for v in value]
    if kind in _SCALARS:
        return value
    # Subclasses (an OrderedDict, a str enum...), and anything else.
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def everything(_doc: dict[str, Any]) -> bool:
    return True


def matching(match: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Accepts records whose fields equal every value in `match`."""
    if len(match) == 1:  # the usual case, tested on every record of a table: no generator per record
        ((field, value),) = match.items()
        return lambda doc: doc.get(field) == value
    fields, values = tuple(match), tuple(match.values())
    return lambda doc: tuple(doc.get(f) for f in fields) == values


def _index_add(by_value: dict[Any, dict[str, None]], value: Any, doc_id: str) -> None:
    with contextlib.suppress(TypeError):  # a list or dict value is never what a `find` asks for
        by_value.setdefault(value, {})[doc_id] = None


def _index_remove(by_value: dict[Any, dict[str, None]], value: Any, doc_id: str) -> None:
    with contextlib.suppress(TypeError):
        ids = by_value.get(value)
        if ids is not None:
            ids.pop(doc_id, None)
            if not ids:
                del by_value[value]


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    out = clone(doc)
    out.pop("_key", None)
    return out


class Tables:
    """Keyed records in named tables; each stored record carries its key as ``_key``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        """Index `data` (as live.json holds it, or empty)."""
        self.data: dict[str, Any] = data if data is not None else {}
        self._index: dict[str, dict[str, str]] = {}
        # {table: {field: {value: {doc_id: None}}}}: built by the first `find` on that field,
        # then kept up to date by every write, so finding the few open items among years
        # of closed ones does not read them all.
        self._by_field: dict[str, dict[str, dict[Any, dict[str, None]]]] = {}
        self._next_doc: dict[str, int] = {}
        for name, docs in self.data.items():
            if name == META:
                continue
            self._index[name] = {doc["_key"]: doc_id for doc_id, doc in docs.items() if "_key" in doc}
            self._next_doc[name] = max((int(i) for i in docs), default=0) + 1

    def names(self) -> list[str]:
        """The tables that hold records, by name."""
        return [t for t in sorted(self.data) if t != META]

    def snapshot(self) -> dict[str, Any]:
        """Every table as it is now (META aside); cheap, as records are shared and never changed in place."""
        return {table: dict(docs) for table, docs in self.data.items() if table != META}

    # ---- reading -------------------------------------------------------------

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        doc_id = self._index.get(table, {}).get(key)
        return _public(self.data[table][doc_id]) if doc_id is not None else None

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every value given, oldest first.

        The first field given is indexed (from the first `find` on it), so only the records
        with that value are looked at: put the most selective field first.
        """
        if not match or table == META:
            return self.where(table, matching(match))
        field, value = next(iter(match.items()))
        try:
            ids = self._field_index(table, field).get(value, {})
        except TypeError:  # a value that cannot be a dict key (a list): look at every record
            return self.where(table, matching(match))
        docs = self.data.get(table, {})
        keep = matching(match)
        found = [docs[i] for i in sorted(ids, key=int)]
        return [_public(d) for d in found if keep(d)]

    def _field_index(self, table: str, field: str) -> dict[Any, dict[str, None]]:
        fields = self._by_field.setdefault(table, {})
        index = fields.get(field)
        if index is None:
            index = fields[field] = {}
            for doc_id, doc in self.data.get(table, {}).items():
                _index_add(index, doc.get(field), doc_id)
        return index

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Copies of the records `keep` accepts; only those are copied, so a scan of a long table stays cheap."""
        docs = self.data.get(table, {}) if table != META else {}
        return [_public(d) for d in docs.values() if keep(d)]

    def keys(self, table: str, keep: Callable[[dict[str, Any]], bool] = everything, order: str = "") -> list[str]:
        """The keys of the records `keep` accepts (sorted by the field `order`, if given), copying nothing."""
        docs = self.data.get(table, {}) if table != META else {}
        found = [d for d in docs.values() if keep(d)]
        if order:
            found.sort(key=lambda d: d[order])
        return [d["_key"] for d in found]

    def count(self, table: str) -> int:
        return len(self._index.get(table, {}))

    # ---- writing -------------------------------------------------------------

    def put(self, table: str, key: str, doc: dict[str, Any] | None) -> None:
        """Store a copy of `doc` under `key` (None: delete it), keeping every index up to date."""
        docs = self.data.setdefault(table, {})
        index = self._index.setdefault(table, {})
        doc_id = index.get(key)
        fields = self._by_field.get(table)
        if fields and doc_id is not None:
            old = docs.get(doc_id, {})
            for field, by_value in fields.items():
                _index_remove(by_value, old.get(field), doc_id)
        if doc is None:
            if doc_id is not None:
                docs.pop(doc_id, None)
                del index[key]
            return
        if doc_id is None:
            n = self._next_doc.get(table, 1)
            self._next_doc[table] = n + 1
            doc_id = str(n)
            index[key] = doc_id
        # A copy, so nothing the caller still holds can change a stored record; records
        # are replaced, never changed in place, which lets a checkpoint write a snapshot.
        stored = clone(doc)  # a new dict: the key is added to it without a second copy
        stored["_key"] = key
        docs[doc_id] = stored
        if fields:
            for field, by_value in fields.items():
                _index_add(by_value, doc.get(field), doc_id)
