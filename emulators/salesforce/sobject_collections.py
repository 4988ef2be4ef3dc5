"""sObject Collections (``/composite/sobjects``): create, update, upsert and delete of up to
200 records in one call, each record succeeding or failing on its own unless the call is
all-or-none (RestGuide "sObject Collections", reference 5.4). The HTTP layer parses the
body and renders the result list; the rules live here:

* more than 200 records: ``EXCEEDED_ID_LIMIT`` for the whole call;
* records of a Setup object mixed with other types: every record fails with
  ``MIXED_DML_OPERATION``;
* each record runs in its own savepoint; with ``allOrNone`` one failure rolls every record
  back and the successes report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Results are the wire's dicts (``{"id", "success", "errors"}``, errors with ``statusCode``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .exceptions import SalesforceError
from .ids import is_valid_id
from .org import CallContext, Org

MAX_RECORDS = 200

_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
_MIXED_DML = (
    "You can't create records for multiple object types in one call when one of the types "
    "is related to a feature in the Salesforce Setup area."
)


def create(
    org: Org, ctx: CallContext, records: list[dict[str, Any]], *, all_or_none: bool
) -> list[dict[str, Any]]:
    """POST: each record names its type in ``attributes.type``."""

    def one(rec: dict[str, Any]) -> dict[str, Any]:
        type_name = _type_of(rec)
        if not type_name:
            raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        return {"id": org.create(ctx, type_name, _data(rec)), "success": True, "errors": []}

    return _run(org, records, one, [_type_of(r) for r in records], all_or_none, keep_id=False)


def update(
    org: Org, ctx: CallContext, records: list[dict[str, Any]], *, all_or_none: bool
) -> list[dict[str, Any]]:
    """PATCH: each record carries its ``id`` (and its type)."""

    def one(rec: dict[str, Any]) -> dict[str, Any]:
        data = _data(rec)
        rid = _record_id(data)
        object_name = _object_of(org, rid)
        org.update(ctx, _type_of(rec) or object_name, rid, data)
        return {"id": rid, "success": True, "errors": []}

    return _run(org, records, one, [_type_of(r) for r in records], all_or_none, keep_id=True)


def delete(
    org: Org, ctx: CallContext, ids: list[str], *, all_or_none: bool
) -> list[dict[str, Any]]:
    """DELETE ?ids=a,b: the type of each record comes from its id."""

    def one(rec: dict[str, Any]) -> dict[str, Any]:
        rid = _record_id(dict(rec))
        org.delete(ctx, _object_of(org, rid), rid)
        return {"id": rid, "success": True, "errors": []}

    return _run(org, [{"Id": i} for i in ids], one, [], all_or_none, keep_id=True)


def upsert(
    org: Org,
    ctx: CallContext,
    object_name: str,
    ext_field: str,
    records: list[dict[str, Any]],
    *,
    all_or_none: bool,
) -> list[dict[str, Any]]:
    """PATCH /composite/sobjects/{SObject}/{ExternalIdField}: each record carries its
    external id value; the result says whether it was created."""

    def one(rec: dict[str, Any]) -> dict[str, Any]:
        data = _data(rec)
        key = next((k for k in data if k.lower() == ext_field.lower()), None)
        if key is None or data[key] in (None, ""):
            raise SalesforceError(
                400, "MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field]
            )
        value = str(data.pop(key))
        rid, created = org.upsert(ctx, object_name, ext_field, value, data)
        return {"id": rid, "success": True, "errors": [], "created": created}

    return _run(org, records, one, [object_name], all_or_none, keep_id=False)


# ---------------------------------------------------------------------- the rules


class _RollBack(Exception):
    pass


def _run(
    org: Org,
    records: list[dict[str, Any]],
    one: Callable[[dict[str, Any]], dict[str, Any]],
    types: list[str | None],
    all_or_none: bool,
    *,
    keep_id: bool,
) -> list[dict[str, Any]]:
    if len(records) > MAX_RECORDS:
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    names = {t.lower() for t in types if t}
    if len(names) > 1 and any((o := org.schema.get(t)) is not None and o.setup for t in names):
        err = SalesforceError(400, "MIXED_DML_OPERATION", _MIXED_DML)
        return [{"success": False, "errors": [err.collection_error()]} for _ in records]
    return _all_or_none(org, [partial(one, r) for r in records], all_or_none, keep_id=keep_id)


def _all_or_none(
    org: Org, steps: list[Callable[[], dict[str, Any]]], all_or_none: bool, *, keep_id: bool
) -> list[dict[str, Any]]:
    """Run one step per record, each in its own savepoint; with allOrNone, any failure
    rolls every record back and the successes report ALL_OR_NONE_OPERATION_ROLLED_BACK."""
    results: list[dict[str, Any]] = []
    try:
        with org.transaction():
            for step in steps:
                try:
                    with org.transaction():
                        results.append(step())
                except SalesforceError as e:
                    results.append({"success": False, "errors": [e.collection_error()]})
            if all_or_none and any(not r["success"] for r in results):
                raise _RollBack()
    except _RollBack:
        results = [
            r
            if not r["success"]
            else {
                **({"id": r["id"]} if keep_id and r.get("id") else {}),
                "success": False,
                "errors": [dict(_ROLLED_BACK)],
            }
            for r in results
        ]
    return results


def _type_of(rec: dict[str, Any]) -> str | None:
    attributes = rec.get("attributes")
    return attributes.get("type") if isinstance(attributes, dict) else None


def _data(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "attributes"}


def _record_id(data: dict[str, Any]) -> str:
    """Pops the record's id from ``data`` (``Id`` or ``id``), refusing a malformed one."""
    rid = data.pop("Id", None) or data.pop("id", None)
    if not rid or not is_valid_id(rid):
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {rid}")
    return str(rid)


def _object_of(org: Org, record_id: str) -> str:
    obj = org.schema.object_of_id(record_id)
    if obj is None:
        raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}")
    return obj.name
