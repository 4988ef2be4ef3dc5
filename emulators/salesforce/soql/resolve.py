"""Names in a query resolved against the schema, and the row getters built from them.

Resolution raises the Salesforce errors for unknown objects, fields and relationships, with
the caret on the path as written. A field the caller cannot see (``field_visible`` False)
is reported exactly like a field that does not exist, which is what field-level security
looks like from the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..schema import FieldDef, ObjectDef, Schema
from . import ast
from .lexer import error_at

Row = dict[str, Any]
Lookup = Callable[[str], Row | None]
Getter = Callable[[Row], Any]

_NO_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
    "to append the '__c' after the entity name. Please reference your WSDL or the describe call "
    "for the appropriate names."
)
_NO_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)

# A polymorphic parent's object type, which SOQL exposes as <Relationship>.Type.
TYPE_FIELD = FieldDef("Type", "picklist", createable=False, updateable=False)


class QuerySource(Protocol):
    """What the backend offers the query engine (one caller's view of one org)."""

    schema: Schema
    api_version: str

    def now(self) -> datetime: ...

    def object_visible(self, obj: ObjectDef) -> bool: ...

    def field_visible(self, obj: ObjectDef, field: FieldDef) -> bool: ...

    def rows(self, obj: ObjectDef, include_deleted: bool) -> Iterable[dict]: ...

    def get(self, record_id: str) -> dict | None: ...


def kind_of(fdef: FieldDef) -> str:
    """The comparison family of a field type: id, bool, number, date, datetime, multi, text."""
    t = fdef.type
    if t in ("id", "reference"):
        return "id"
    if t == "boolean":
        return "bool"
    if t in ("int", "double", "currency", "percent"):
        return "number"
    if t in ("date", "datetime"):
        return t
    if t == "multipicklist":
        return "multi"
    return "text"


@dataclass(frozen=True)
class Hop:
    """One step through a parent relationship (``Profile`` via ``ProfileId``)."""

    ref_field: str
    rel_name: str
    target_names: frozenset[str]  # lower-case object names the reference may point to


@dataclass(frozen=True)
class Resolved:
    hops: tuple[Hop, ...]
    field: FieldDef
    key: str  # lower-case canonical path, to match SELECT against GROUP BY and find duplicates
    pos: int

    @property
    def name(self) -> str:
        return self.field.name


def resolve_object(source: QuerySource, name: str, pos: int, text: str) -> ObjectDef:
    obj = source.schema.get(name)
    if obj is None or not source.object_visible(obj):
        raise error_at("INVALID_TYPE", text, pos, _NO_TYPE.format(name=name))
    if not obj.queryable:
        raise error_at("INVALID_TYPE", text, pos, f"entity type {obj.name} does not support query")
    return obj


def resolve_path(
    source: QuerySource, obj: ObjectDef, alias: str | None, path: ast.FieldPath, text: str
) -> Resolved:
    parts = list(path.parts)
    if len(parts) > 1:
        head = parts[0].lower()
        # The FROM alias, or the object's own name, may qualify a path (Account.Name FROM Account).
        if (alias and head == alias.lower()) or (
            head == obj.name.lower() and obj.relationship(head) is None
        ):
            parts = parts[1:]
    current = [obj]
    hops: list[Hop] = []
    for rel in parts[:-1]:
        ref = next(
            (
                f
                for o in current
                if (f := o.relationship(rel)) is not None and source.field_visible(o, f)
            ),
            None,
        )
        targets = (
            [t for t in (source.schema.get(n) for n in ref.reference_to) if t is not None]
            if ref
            else []
        )
        if ref is None or not targets:
            raise error_at("INVALID_FIELD", text, path.pos, _NO_RELATIONSHIP.format(rel=rel))
        hops.append(
            Hop(ref.name, ref.relationship_name or rel, frozenset(t.name.lower() for t in targets))
        )
        current = targets
    leaf = parts[-1]
    fdef = next(
        (f for o in current if (f := o.get_field(leaf)) is not None and source.field_visible(o, f)),
        None,
    )
    if fdef is None:
        if len(current) > 1 and leaf.lower() == "type":
            fdef = TYPE_FIELD
        else:
            # A polymorphic reference points at the "Name" pseudo-object.
            entity = current[0].name if len(current) == 1 else "Name"
            raise error_at(
                "INVALID_FIELD", text, path.pos, _NO_COLUMN.format(field=leaf, entity=entity)
            )
    key = ".".join([h.rel_name for h in hops] + [fdef.name]).lower()
    return Resolved(tuple(hops), fdef, key, path.pos)


def follow(row: Row, hops: tuple[Hop, ...], lookup: Lookup) -> Row | None:
    """The parent row at the end of ``hops``, or None when a lookup on the way is empty."""
    current: Row | None = row
    for hop in hops:
        ref = current.get(hop.ref_field) if current is not None else None
        if ref is None:
            return None
        current = lookup(ref)
        if current is None or str(current.get("__type", "")).lower() not in hop.target_names:
            return None
    return current


def make_getter(res: Resolved, lookup: Lookup) -> Getter:
    name = res.field.name
    if not res.hops:
        return lambda row: row.get(name)
    hops = res.hops
    key = "__type" if res.field is TYPE_FIELD else name

    def get(row: Row) -> Any:
        parent = follow(row, hops, lookup)
        return None if parent is None else parent.get(key)

    return get
