"""Runs a parsed query against a ``QuerySource`` and shapes the REST JSON records.

Everything that can fail (names, types, grouping) is resolved and compiled before the first
row is read, so an invalid query never costs a scan and errors do not depend on the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import SoqlError
from ..schema import FieldDef, ObjectDef
from . import ast
from .aggregate import AggregatePlan
from .context import Context, Scope, SortKey, as_double, json_scalar, order_rows, window
from .filters import ConditionCompiler, Pred
from .parser import parse
from .resolve import TYPE_FIELD, Hop, QuerySource, Row, follow, kind_of, resolve_object

MAX_OFFSET = 2000
_FIELDS_LIMIT = 200
_NO_CHILD_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting to "
    "use a custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)


@dataclass
class QueryResult:
    records: list[dict]
    total_size: int
    object_name: str
    is_aggregate: bool = False
    count_only: bool = False


# The output plan of one object level: output key -> what fills it, in SELECT order.
@dataclass
class _Leaf:
    field: FieldDef


@dataclass
class _Parent:
    hop: Hop
    plan: _Plan


@dataclass
class _Child:
    records_for: Callable[[str | None], dict | None]


@dataclass
class _Plan:
    entries: dict[str, _Leaf | _Parent | _Child] = field(default_factory=dict)


def _bounded(query: ast.Query) -> bool:
    """Whether FIELDS(ALL|CUSTOM) is allowed: LIMIT <= 200, or a filter on explicit Ids."""
    if query.limit is not None and query.limit <= _FIELDS_LIMIT:
        return True
    cond = query.where
    return (
        isinstance(cond, ast.InList | ast.Comparison)
        and isinstance(cond.left, ast.FieldPath)
        and (
            [p.lower() for p in cond.left.parts] == ["id"]
            and (isinstance(cond, ast.InList) or cond.op == "=")
        )
    )


def expand_select(scope: Scope, query: ast.Query) -> list[ast.SelectField | ast.SubQuery]:
    """The SELECT list with FIELDS(...) replaced by the visible fields it stands for."""
    ctx = scope.ctx
    out: list[ast.SelectField | ast.SubQuery] = []
    for item in query.select:
        if not isinstance(item, ast.FieldsMacro):
            out.append(item)
            continue
        if item.kind != "STANDARD" and not _bounded(query):
            raise ctx.fail(
                "MALFORMED_QUERY",
                item.pos,
                "The SOQL FIELDS function must have a LIMIT of at most 200",
            )
        obj = scope.obj
        for fdef in obj.fields.values():
            custom = fdef.name.endswith("__c")
            wanted = item.kind == "ALL" or custom == (item.kind == "CUSTOM")
            if wanted and ctx.source.field_visible(obj, fdef):
                out.append(ast.SelectField(ast.FieldPath((fdef.name,), item.pos)))
    if not out:
        raise SoqlError(
            "MALFORMED_QUERY",
            "'FIELDS(...)' expansion function must result in at least one field being selected.",
        )
    return out


class _Runner:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(self, query: ast.Query) -> QueryResult:
        ctx = self.ctx
        obj = resolve_object(ctx.source, query.sobject, query.sobject_pos, ctx.text)
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        scope = Scope(ctx, obj, query.alias)
        items = self._expand(scope, query)
        fields = [i for i in items if isinstance(i, ast.SelectField)]
        count = next(
            (
                f.expr
                for f in fields
                if isinstance(f.expr, ast.AggregateCall) and f.expr.arg is None
            ),
            None,
        )
        if count is not None and len(items) > 1:
            raise ctx.fail(
                "MALFORMED_QUERY", count.pos, "COUNT() must be the only element in the SELECT list"
            )
        aggregate = bool(query.group_by) or any(
            isinstance(f.expr, ast.AggregateCall) for f in fields
        )
        sub = next((i for i in items if isinstance(i, ast.SubQuery)), None)
        if aggregate and sub is not None:
            raise ctx.fail(
                "MALFORMED_QUERY",
                sub.pos,
                "a child sub-query cannot be combined with aggregate functions",
            )

        if count is not None:
            pred = self._where(scope, query)
            agg = AggregatePlan(scope, query, []) if query.group_by else None
            rows = self._fetch(obj, pred, ctx.include_deleted)
            n = len(agg.groups_of(rows)) if agg is not None else len(rows)
            n = max(0, n - (query.offset or 0))
            if query.limit is not None:
                n = min(n, query.limit)
            return QueryResult([], n, obj.name, is_aggregate=False, count_only=True)
        if aggregate:
            agg = AggregatePlan(scope, query, fields)
            pred = self._where(scope, query)
            records = agg.run(self._fetch(obj, pred, ctx.include_deleted))
            return QueryResult(records, len(records), obj.name, is_aggregate=True)

        plan = self._plan(scope, items)
        pred = self._where(scope, query)
        keys = self._sort_keys(scope, query)
        rows = window(
            order_rows(self._fetch(obj, pred, ctx.include_deleted), keys), query.offset, query.limit
        )
        records = [self._render(row, plan, obj.name) for row in rows]
        return QueryResult(records, len(records), obj.name)

    # -- planning ---------------------------------------------------------------------
    def _expand(self, scope: Scope, query: ast.Query) -> list[ast.SelectField | ast.SubQuery]:
        return expand_select(scope, query)

    def _plan(self, scope: Scope, items: list[ast.SelectField | ast.SubQuery]) -> _Plan:
        plan = _Plan()
        seen: set[str] = set()
        for item in items:
            if isinstance(item, ast.SubQuery):
                name, child = self._child(scope, item)
                plan.entries[name] = child
                continue
            if item.alias is not None:
                raise self.ctx.fail(
                    "MALFORMED_QUERY", item.alias_pos, f"unexpected token: '{item.alias}'"
                )
            assert isinstance(item.expr, ast.FieldPath)
            res = scope.resolve(item.expr)
            if res.key in seen:
                raise SoqlError("INVALID_FIELD", f"duplicate field selected: {res.name}")
            seen.add(res.key)
            node = plan
            for hop in res.hops:  # paths through one relationship share one nested object
                entry = node.entries.get(hop.rel_name)
                if not isinstance(entry, _Parent):
                    entry = _Parent(hop, _Plan())
                    node.entries[hop.rel_name] = entry
                node = entry.plan
            node.entries[res.field.name] = _Leaf(res.field)
        return plan

    def _where(self, scope: Scope, query: ast.Query) -> Pred | None:
        if query.where is None:
            return None
        compiler = ConditionCompiler(
            self.ctx.text, self.ctx.today, scope.where_operand, self._semi_join
        )
        return compiler.compile(query.where)

    def _sort_keys(self, scope: Scope, query: ast.Query) -> list[SortKey]:
        keys: list[SortKey] = []
        for item in query.order_by:
            if not isinstance(item.expr, ast.FieldPath):
                raise self.ctx.fail(
                    "MALFORMED_QUERY",
                    item.pos,
                    "aggregate functions in ORDER BY need a GROUP BY query",
                )
            res = scope.resolve(item.expr)
            if not res.field.sortable:
                raise self.ctx.fail(
                    "INVALID_FIELD",
                    item.pos,
                    f"field '{res.name}' can not be sorted in a query call",
                )
            keys.append(
                (
                    scope.getter(res),
                    item.descending,
                    item.nulls_last,
                    kind_of(res.field) in ("text", "multi"),
                )
            )
        return keys

    def _fetch(self, obj: ObjectDef, pred: Pred | None, include_deleted: bool) -> list[Row]:
        rows = self.ctx.source.rows(obj, include_deleted)
        return list(rows) if pred is None else [r for r in rows if pred(r)]

    # -- nested queries ---------------------------------------------------------------
    def _semi_join(self, join: ast.SemiJoin) -> frozenset[str]:
        """The ids an ``IN (SELECT ...)`` sub-select yields (run once per query)."""
        ctx, q = self.ctx, join.query
        obj = resolve_object(ctx.source, q.sobject, q.sobject_pos, ctx.text)
        scope = Scope(ctx, obj, q.alias)
        item = q.select[0]
        if (
            len(q.select) != 1
            or not isinstance(item, ast.SelectField)
            or not isinstance(item.expr, ast.FieldPath)
            or q.group_by
        ):
            raise ctx.fail(
                "MALFORMED_QUERY",
                join.pos,
                "Invalid semi join: the sub-select must select exactly one id field",
            )
        res = scope.resolve(item.expr)
        if kind_of(res.field) != "id":
            raise ctx.fail(
                "MALFORMED_QUERY",
                item.expr.pos,
                f"Invalid semi join: '{res.name}' is not an id or reference field",
            )
        get = scope.getter(res)
        rows = self._fetch(obj, self._where(scope, q), include_deleted=False)
        return frozenset(v for r in rows if (v := get(r)) is not None)

    def _child(self, scope: Scope, sub: ast.SubQuery) -> tuple[str, _Child]:
        """A child-relationship sub-query: its rows fetched once and bucketed by parent id."""
        ctx, q = self.ctx, sub.query
        name = q.sobject.split(".")[-1]
        rel = next(
            (
                cr
                for cr in ctx.source.schema.child_relationships(scope.obj.name)
                if cr.relationship_name and cr.relationship_name.lower() == name.lower()
            ),
            None,
        )
        child_obj = ctx.source.schema.get(rel.child_object) if rel else None
        if rel is None or child_obj is None or not ctx.source.object_visible(child_obj):
            raise ctx.fail("INVALID_TYPE", q.sobject_pos, _NO_CHILD_RELATIONSHIP.format(name=name))
        child_scope = Scope(ctx, child_obj, q.alias)
        items = self._expand(child_scope, q)
        nested = next(
            (
                i
                for i in items
                if not isinstance(i, ast.SelectField) or isinstance(i.expr, ast.AggregateCall)
            ),
            None,
        )
        if nested is not None or q.group_by:
            raise ctx.fail(
                "MALFORMED_QUERY", sub.pos, "a child sub-query cannot nest sub-queries or aggregate"
            )
        plan = self._plan(child_scope, items)
        keys = self._sort_keys(child_scope, q)
        buckets: dict[Any, list[Row]] = {}
        for row in self._fetch(child_obj, self._where(child_scope, q), ctx.include_deleted):
            if (parent_id := row.get(rel.field)) is not None:
                buckets.setdefault(parent_id, []).append(row)

        def records_for(parent_id: str | None) -> dict | None:
            members = window(order_rows(buckets.get(parent_id, []), keys), q.offset, q.limit)
            if not members:
                return None
            records = [self._render(r, plan, child_obj.name) for r in members]
            return {"totalSize": len(records), "done": True, "records": records}

        return rel.relationship_name or name, _Child(records_for)

    # -- output -----------------------------------------------------------------------
    def _render(self, row: Row, plan: _Plan, default_type: str) -> dict:
        obj_type = row.get("__type") or default_type
        record_id = row.get("Id")
        attributes = {"type": obj_type}
        if record_id is not None:  # OauthToken rows have no Id, hence no url
            attributes["url"] = self.ctx.record_url(obj_type, record_id)
        out: dict[str, Any] = {"attributes": attributes}
        for key, entry in plan.entries.items():
            if isinstance(entry, _Leaf):
                out[key] = self._value(row, entry.field, obj_type, record_id)
            elif isinstance(entry, _Parent):
                parent = follow(row, (entry.hop,), self.ctx.lookup)
                out[key] = None if parent is None else self._render(parent, entry.plan, "")
            else:
                out[key] = entry.records_for(record_id)
        return out

    def _value(self, row: Row, fdef: FieldDef, obj_type: str, record_id: str | None) -> Any:
        if fdef is TYPE_FIELD:
            return row.get("__type")
        value = row.get(fdef.name)
        if value is None:
            return None
        if fdef.type == "base64":  # blobs are fetched separately, the record only links them
            return f"{self.ctx.record_url(obj_type, str(record_id))}/{fdef.name}"
        return json_scalar(as_double(fdef, value))


def execute(soql: str, source: QuerySource, *, include_deleted: bool = False) -> QueryResult:
    """Run ``soql`` for the caller ``source`` represents; raises ``SoqlError`` (HTTP 400)."""
    query = parse(soql)
    return _Runner(Context(source, query.text, include_deleted)).run(query)
