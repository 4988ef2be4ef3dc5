"""Aggregate queries: GROUP BY, aggregate functions, HAVING, and AggregateResult records.

Rows are bucketed by their group-key tuple once; each group then becomes a flat dict keyed
by the canonical path of a grouped field or by ``FUNC(path)`` of an aggregate, which is what
HAVING, ORDER BY and the output columns all read from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..schema import FieldDef
from . import ast
from .context import Scope, SortKey, as_double, json_scalar, order_rows, type_name, window
from .filters import ConditionCompiler, Operand, Pred
from .resolve import Resolved, Row, kind_of

_NOT_AGGREGATABLE = frozenset({"boolean", "textarea", "base64"})


@dataclass(frozen=True)
class _Spec:
    func: str
    getter: Callable[[Row], Any] | None
    field: FieldDef | None
    key: str


def _compute(spec: _Spec, rows: list[Row]) -> Any:
    if spec.getter is None:
        return len(rows)
    values = [v for v in map(spec.getter, rows) if v is not None]
    if spec.func == "COUNT":
        return len(values)
    fold = spec.field is not None and kind_of(spec.field) == "text"
    if spec.func == "COUNT_DISTINCT":
        return len({v.lower() if fold and isinstance(v, str) else v for v in values})
    if not values:
        return None
    if spec.func == "SUM":
        total = sum(values)
        return total if spec.field is not None and spec.field.type == "int" else float(total)
    if spec.func == "AVG":
        return sum(values) / len(values)
    pick = min if spec.func == "MIN" else max
    return as_double(
        spec.field, pick(values, key=lambda v: v.lower() if fold and isinstance(v, str) else v)
    )


def _reader(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda group: group[key]


class AggregatePlan:
    """Validated and compiled up front, so errors surface before any row is read."""

    def __init__(self, scope: Scope, query: ast.Query, items: list[ast.SelectField]) -> None:
        self.scope = scope
        self.ctx = scope.ctx
        self.query = query
        self.groups: list[Resolved] = []
        for path in query.group_by:
            res = scope.resolve(path)
            if not res.field.groupable:
                raise self.ctx.fail(
                    "INVALID_FIELD",
                    path.pos,
                    f"field '{res.name}' can not be grouped in a query call",
                )
            self.groups.append(res)
        self.group_keys = {res.key: res for res in self.groups}
        self.specs: dict[str, _Spec] = {}
        self.columns: list[tuple[str, str]] = []  # output name, group-dict key
        self.having: Pred | None = None
        self.sort_keys: list[SortKey] = []
        self._prepare(items)

    def spec(self, call: ast.AggregateCall) -> _Spec:
        if call.arg is None:
            key = f"{call.func}()"
            getter, fdef = None, None
        else:
            res = self.scope.resolve(call.arg)
            fdef = res.field
            kind = kind_of(fdef)
            ok = fdef.aggregatable and fdef.type not in _NOT_AGGREGATABLE
            if call.func in ("SUM", "AVG"):
                ok = ok and kind == "number"
            elif call.func in ("MIN", "MAX"):
                ok = ok and kind != "multi"
            if not ok:
                raise self.ctx.fail(
                    "MALFORMED_QUERY",
                    call.pos,
                    f"field {fdef.name} does not support aggregate operator {call.func}",
                )
            key = f"{call.func}({res.key})"
            getter = self.scope.getter(res)
        if key not in self.specs:
            self.specs[key] = _Spec(call.func, getter, fdef, key)
        return self.specs[key]

    def grouped(self, path: ast.FieldPath, message: str) -> Resolved:
        res = self.scope.resolve(path)
        if res.key not in self.group_keys:
            raise self.ctx.fail("MALFORMED_QUERY", path.pos, f"{message}: {res.name}")
        return res

    def operand(self, expr: ast.Operand) -> Operand:
        """A HAVING operand, read from the group dict."""
        if isinstance(expr, ast.AggregateCall):
            spec = self.spec(expr)
            key = spec.key
            if spec.func in ("COUNT", "COUNT_DISTINCT"):
                kind, tname = "number", "int"
            elif spec.func in ("SUM", "AVG") or spec.field is None:
                kind, tname = "number", "double"
            else:
                kind, tname = kind_of(spec.field), type_name(spec.field)
            name = spec.field.name if spec.field is not None else "Id"
            return Operand(_reader(key), kind, tname, name, expr.pos)
        res = self.grouped(expr, "Field must be grouped or aggregated")
        getter = _reader(res.key)
        return Operand(getter, kind_of(res.field), type_name(res.field), res.name, expr.pos)

    def _prepare(self, items: list[ast.SelectField]) -> None:
        unnamed = 0
        for item in items:
            if isinstance(item.expr, ast.AggregateCall):
                key = self.spec(item.expr).key
                name = item.alias
                if name is None:
                    name, unnamed = f"expr{unnamed}", unnamed + 1
            else:
                res = self.grouped(item.expr, "Field must be grouped or aggregated")
                key, name = res.key, item.alias or res.name
            if any(name.lower() == existing.lower() for existing, _ in self.columns):
                raise self.ctx.fail("MALFORMED_QUERY", item.expr.pos, f"duplicate alias: {name}")
            self.columns.append((name, key))
        if self.query.having is not None:
            compiler = ConditionCompiler(self.ctx.text, self.ctx.today, self.operand)
            self.having = compiler.compile(self.query.having)
        for order in self.query.order_by:
            if isinstance(order.expr, ast.AggregateCall):
                spec = self.spec(order.expr)
                key, fold = spec.key, spec.field is not None and kind_of(spec.field) == "text"
            else:
                res = self.grouped(order.expr, "Ordered field must be grouped or aggregated")
                key, fold = res.key, kind_of(res.field) == "text"
            self.sort_keys.append((_reader(key), order.descending, order.nulls_last, fold))

    def groups_of(self, rows: list[Row]) -> list[dict[str, Any]]:
        """One dict per group that passes HAVING, keyed by path or FUNC(path)."""
        table = []
        for values, members in self._bucket(rows).items():
            g: dict[str, Any] = {
                res.key: as_double(res.field, v) for res, v in zip(self.groups, values, strict=True)
            }
            for spec in self.specs.values():
                g[spec.key] = _compute(spec, members)
            if self.having is None or self.having(g):
                table.append(g)
        return table

    def run(self, rows: list[Row]) -> list[dict]:
        """The AggregateResult records for the rows that passed WHERE."""
        table = self.groups_of(rows)
        table = window(order_rows(table, self.sort_keys), self.query.offset, self.query.limit)
        return [
            {
                "attributes": {"type": "AggregateResult"},
                **{name: json_scalar(g[key]) for name, key in self.columns},
            }
            for g in table
        ]

    def _bucket(self, rows: list[Row]) -> dict[tuple, list[Row]]:
        if not self.groups:
            return {(): rows}  # one result row even when nothing matched (COUNT(Id) = 0)
        getters = [self.scope.getter(res) for res in self.groups]
        buckets: dict[tuple, list[Row]] = {}
        if len(getters) == 1:
            (only,) = getters
            for row in rows:
                buckets.setdefault((only(row),), []).append(row)
        elif len(getters) == 2:
            first, second = getters
            for row in rows:
                buckets.setdefault((first(row), second(row)), []).append(row)
        else:
            for row in rows:
                buckets.setdefault(tuple(g(row) for g in getters), []).append(row)
        return buckets
