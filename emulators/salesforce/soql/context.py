"""Per-execution state shared by the plain and aggregate evaluators.

``Context`` holds the source, the query text for error frames and a memo of parent-row
lookups (a page of 2,000 users traversing ``Profile.UserLicense`` touches the same few
parents again and again). ``Scope`` resolves paths relative to one FROM object.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ..exceptions import SoqlError
from ..schema import FieldDef, ObjectDef
from . import ast
from .dates import format_datetime
from .filters import Operand
from .lexer import error_at
from .resolve import QuerySource, Resolved, Row, kind_of, make_getter, resolve_path

_MISSING = object()
_DOUBLE_TYPES = frozenset({"double", "currency", "percent"})


def type_name(fdef: FieldDef) -> str:
    """The type as Salesforce names it in filter messages."""
    kind = kind_of(fdef)
    if kind in ("text", "multi"):
        return "string"
    if kind == "bool":
        return "boolean"
    if kind == "datetime":
        return "dateTime"
    if kind == "number":
        return "int" if fdef.type == "int" else "double"
    return kind


def as_double(fdef: FieldDef | None, value: Any) -> Any:
    """Salesforce serialises double, currency and percent values as 1000.0, never 1000."""
    if (
        fdef is not None
        and fdef.type in _DOUBLE_TYPES
        and isinstance(value, int)
        and not isinstance(value, bool)
    ):
        return float(value)
    return value


def json_scalar(value: Any) -> Any:
    """A Python field value in its REST JSON form."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    return value


class Context:
    def __init__(self, source: QuerySource, text: str, include_deleted: bool) -> None:
        self.source = source
        self.text = text
        self.include_deleted = include_deleted
        now = source.now()
        # Date literals count UTC days, whatever zone the clock reports in.
        self.today = (now.astimezone(UTC) if now.tzinfo is not None else now).date()
        self._parents: dict[str, Row | None] = {}

    def lookup(self, record_id: str) -> Row | None:
        row = self._parents.get(record_id, _MISSING)
        if row is _MISSING:
            row = self.source.get(record_id)
            self._parents[record_id] = row
        return row  # type: ignore[return-value]

    def record_url(self, obj_type: str, record_id: str) -> str:
        return f"/services/data/v{self.source.api_version}/sobjects/{obj_type}/{record_id}"

    def fail(self, code: str, pos: int, message: str) -> SoqlError:
        return error_at(code, self.text, pos, message)


class Scope:
    """Paths of one query level, resolved against its FROM object."""

    def __init__(self, ctx: Context, obj: ObjectDef, alias: str | None) -> None:
        self.ctx = ctx
        self.obj = obj
        self.alias = alias

    def resolve(self, path: ast.FieldPath) -> Resolved:
        return resolve_path(self.ctx.source, self.obj, self.alias, path, self.ctx.text)

    def getter(self, res: Resolved) -> Callable[[Row], Any]:
        return make_getter(res, self.ctx.lookup)

    def where_operand(self, expr: ast.Operand) -> Operand:
        if not isinstance(expr, ast.FieldPath):  # the parser keeps aggregates out of WHERE
            raise self.ctx.fail(
                "MALFORMED_QUERY",
                expr.pos,
                "aggregate functions are not allowed in the WHERE clause",
            )
        res = self.resolve(expr)
        if not res.field.filterable:
            raise self.ctx.fail(
                "INVALID_FIELD", expr.pos, f"field '{res.name}' can not be filtered in a query call"
            )
        return Operand(
            self.getter(res), kind_of(res.field), type_name(res.field), res.name, expr.pos
        )


SortKey = tuple[
    Callable[[Any], Any], bool, bool | None, bool
]  # getter, descending, nulls_last, fold


def order_rows(rows: Sequence[Any], keys: Sequence[SortKey]) -> list[Any]:
    """Stable multi-key sort with Salesforce's null placement (first for ASC, last for DESC)."""
    out = list(rows)
    for getter, descending, nulls_last, fold in reversed(keys):
        last = descending if nulls_last is None else nulls_last
        # sorted(reverse=True) flips ranks too, so the null rank depends on the direction.
        null_rank = int(last) if not descending else int(not last)
        value_rank = 1 - null_rank

        def key(
            row: Any,
            getter: Callable[[Any], Any] = getter,
            fold: bool = fold,
            null_rank: int = null_rank,
            value_rank: int = value_rank,
        ) -> tuple[int, Any]:
            value = getter(row)
            if value is None:
                return (null_rank, 0)
            return (value_rank, value.lower() if fold and isinstance(value, str) else value)

        out.sort(key=key, reverse=descending)
    return out


def window(items: list[Any], offset: int | None, limit: int | None) -> list[Any]:
    start = offset or 0
    return items[start:] if limit is None else items[start : start + limit]
