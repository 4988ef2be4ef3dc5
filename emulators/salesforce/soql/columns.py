"""The column metadata of a query: ``GET query?q=...&columns=true``.

Not in Salesforce's REST reference, but the Developer Console and the Salesforce CLI
(``sf data query``) ask a real org for it before printing any non-empty result, and read the
column names (``columnName``), relationship paths (``joinColumns``), aggregates and their
display names from it. The shape is the one plugin-data's test fixtures record::

    {"columnMetadata": [{"aggregate", "apexType", "booleanType", "columnName", "custom",
                         "displayName", "foreignKeyName", "insertable", "joinColumns",
                         "numberType", "textType", "updatable"}, ...],
     "entityName": "Account", "groupBy": false, "idSelected": true, "keyPrefix": "001"}

Parent fields are grouped under one join column per relationship (``Owner`` holding ``Name``
and ``Email``), child sub-queries are aggregate columns holding the child's columns, and
aggregate functions are named by alias or ``exprN`` with a display name such as
``count(Id)``. Unverified against a real org: ``apexType`` beyond ``Id`` and ``String``;
``insertable`` / ``updatable`` (the field's createable / updateable, not the caller's
field-level edit access); ``custom`` on relationship columns; an empty ``columnMetadata``
for ``SELECT COUNT()``; and a relationship path under GROUP BY shown as a plain column
named like its result key (``Name``), as the records name it.
"""

from __future__ import annotations

from typing import Any

from ..schema import NUMERIC_TYPES, TEXT_TYPES, FieldDef
from . import ast
from .context import Context, Scope
from .evaluator import expand_select
from .parser import parse
from .resolve import QuerySource, Resolved, resolve_object

_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "double": "Decimal",
    "currency": "Decimal",
    "percent": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
    "base64": "Blob",
}
_TEXT_TYPES = TEXT_TYPES - {"id", "reference"}  # the plugin-data fixtures: Id is not text
_NUMERIC_AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG"})


def query_columns(soql: str, source: QuerySource) -> dict[str, Any]:
    """The column metadata of ``soql`` as the caller ``source`` sees it. The query must
    already be known to run (the caller executes it first, so errors are the query's own)."""
    query = parse(soql)
    ctx = Context(source, query.text, include_deleted=False)
    obj = resolve_object(source, query.sobject, query.sobject_pos, ctx.text)
    scope = Scope(ctx, obj, query.alias)
    items = expand_select(scope, query)
    count_only = any(
        isinstance(i, ast.SelectField)
        and isinstance(i.expr, ast.AggregateCall)
        and i.expr.arg is None
        for i in items
    )
    aggregate = bool(query.group_by) or any(
        isinstance(i, ast.SelectField) and isinstance(i.expr, ast.AggregateCall) for i in items
    )
    if count_only:
        columns: list[dict[str, Any]] = []
    elif aggregate:
        columns = _aggregate_columns(scope, items)
    else:
        columns = _plain_columns(scope, items)
    id_selected = not aggregate and any(
        isinstance(i, ast.SelectField)
        and isinstance(i.expr, ast.FieldPath)
        and not (res := scope.resolve(i.expr)).hops
        and res.field.name == "Id"
        for i in items
    )
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": bool(query.group_by),
        "idSelected": id_selected,
        "keyPrefix": obj.key_prefix,
    }


def _plain_columns(scope: Scope, items: list[ast.SelectField | ast.SubQuery]) -> list[dict]:
    """One column per field, one join column per parent relationship (shared by every path
    through it, in first-use order), one aggregate column per child sub-query."""
    columns: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, ast.SubQuery):
            columns.append(_child_column(scope, item))
            continue
        assert isinstance(item.expr, ast.FieldPath)
        _place(columns, scope.resolve(item.expr))
    return columns


def _place(columns: list[dict[str, Any]], res: Resolved) -> None:
    level = columns
    for hop in res.hops:
        join = next(
            (
                c
                for c in level
                if c["foreignKeyName"] == hop.ref_field and c["columnName"] == hop.rel_name
            ),
            None,
        )
        if join is None:
            join = _column(hop.rel_name, hop.rel_name, foreign_key=hop.ref_field)
            level.append(join)
        level = join["joinColumns"]
    level.append(_field_column(res.field))


def _child_column(scope: Scope, sub: ast.SubQuery) -> dict[str, Any]:
    source, q = scope.ctx.source, sub.query
    name = q.sobject.split(".")[-1]
    rel = next(
        cr
        for cr in source.schema.child_relationships(scope.obj.name)
        if cr.relationship_name and cr.relationship_name.lower() == name.lower()
    )
    child_obj = source.schema.get(rel.child_object)
    assert child_obj is not None
    child_scope = Scope(scope.ctx, child_obj, q.alias)
    column = _column(rel.relationship_name or name, rel.relationship_name or name, aggregate=True)
    column["joinColumns"] = _plain_columns(child_scope, expand_select(child_scope, q))
    return column


def _aggregate_columns(
    scope: Scope, items: list[ast.SelectField | ast.SubQuery]
) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = []
    unnamed = 0
    for item in items:
        assert isinstance(item, ast.SelectField)
        if isinstance(item.expr, ast.FieldPath):
            grouped = scope.resolve(item.expr).field
            column = _field_column(grouped)
            column["columnName"] = item.alias or grouped.name
            columns.append(column)
            continue
        call = item.expr
        name = item.alias
        if name is None:
            name, unnamed = f"expr{unnamed}", unnamed + 1
        fdef = scope.resolve(call.arg).field if call.arg is not None else None
        numeric = call.func in _NUMERIC_AGGREGATES or (
            fdef is not None and fdef.type in NUMERIC_TYPES
        )
        display = f"{call.func.lower()}({call.arg.text if call.arg else ''})"
        column = _column(name, display, aggregate=True)
        column["numberType"] = numeric
        column["textType"] = not numeric and fdef is not None and fdef.type in _TEXT_TYPES
        columns.append(column)
    return columns


def _field_column(fdef: FieldDef) -> dict[str, Any]:
    column = _column(fdef.name, fdef.name)
    column.update(
        {
            "apexType": _APEX_TYPES.get(fdef.type, "String"),
            "booleanType": fdef.type == "boolean",
            "custom": fdef.name.endswith("__c"),
            "insertable": fdef.createable,
            "numberType": fdef.type in NUMERIC_TYPES,
            "textType": fdef.type in _TEXT_TYPES,
            "updatable": fdef.updateable,
        }
    )
    return column


def _column(
    name: str, display: str, *, aggregate: bool = False, foreign_key: str | None = None
) -> dict[str, Any]:
    return {
        "aggregate": aggregate,
        "apexType": None,
        "booleanType": False,
        "columnName": name,
        "custom": name.endswith("__r"),
        "displayName": display,
        "foreignKeyName": foreign_key,
        "insertable": False,
        "joinColumns": [],
        "numberType": False,
        "textType": False,
        "updatable": False,
    }
