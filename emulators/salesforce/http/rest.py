"""REST resources under /services/data: versions, limits, query, sObjects, collections."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import sobject_collections
from ..describe import field_describe, object_summary
from ..exceptions import SalesforceError, not_found
from ..ids import is_valid_id, to18
from ..org import CallContext, Org
from .common import SUPPORTED_VERSIONS, Emulator, Outcome, json_response, parse_json_body, run_rest


def _release(version: str) -> str:
    """The release name of an API version: v20.0 was Winter '11, then one per season."""
    k = int(float(version)) - 20
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{11 + k // 3:02d}"


def versions(emu: Emulator, request: Request) -> Response:
    body = [
        {"label": _release(v), "url": f"/services/data/v{v}", "version": v}
        for v in SUPPORTED_VERSIONS
    ]
    return json_response(emu.org, 200, body)


def resources(emu: Emulator, request: Request, version: str) -> Response:
    base = f"/services/data/v{version}"
    names = [
        "tooling",
        "metadata",
        "eclair",
        "folders",
        "prechatForms",
        "chatter",
        "tabs",
        "appMenu",
        "quickActions",
        "queryAll",
        "commerce",
        "wave",
        "iot",
        "analytics",
        "search",
        "identity",
        "composite",
        "parameterizedSearch",
        "fingerprint",
        "theme",
        "nouns",
        "event",
        "serviceTemplates",
        "recent",
        "connect",
        "licensing",
        "limits",
        "process",
        "dedupe",
        "async-queries",
        "query",
        "match",
        "emailConnect",
        "compactLayouts",
        "knowledgeManagement",
        "sobjects",
        "actions",
        "support",
    ]
    body = {n: f"{base}/{n}" for n in names}
    body["identity"] = f"https://{emu.org.my_domain}/id/{emu.org.org_id}/"
    return run_rest(emu, request, version, lambda ctx: Outcome(200, body))


def limits(emu: Emulator, request: Request, version: str) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        if not (ctx.access.has("ViewSetup") or ctx.access.view_all_data):
            raise SalesforceError(
                403,
                "INSUFFICIENT_ACCESS",
                "The user does not have permission to view limits. Requires View Setup and Configuration.",
            )
        org = emu.org
        used, _ = org.api_counter.snapshot(org.clock.now().date())
        daily: dict[str, Any] = {
            "Max": org.daily_api_limit,
            "Remaining": max(0, org.daily_api_limit - used),
        }
        per_app = {
            app.label: {"Max": 0, "Remaining": 0}
            for app in sorted(org.apps.values(), key=lambda a: a.label)
        }
        # Per-app entries as real orgs show them (no per-app cap configured).
        daily.update(per_app)
        perm_sets = sum(
            1 for p in org.table("PermissionSet").values() if not p.get("IsOwnedByProfile")
        )
        body = {
            "ActiveScratchOrgs": {"Max": 0, "Remaining": 0},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DailyApiRequests": daily,
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000, **per_app},
            "DailyStreamingApiEvents": {"Max": 1000000, "Remaining": 1000000, **per_app},
            "DailyGenericStreamingApiEvents": {"Max": 10000, "Remaining": 10000, **per_app},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5120, "Remaining": 5000},
            "FileStorageMB": {"Max": 5120, "Remaining": 5100},
            "HourlyODataCallout": {"Max": 20000, "Remaining": 20000},
            "PermissionSets": {
                "Max": 1500,
                "Remaining": 1500 - perm_sets,
                "CreateCustom": {"Max": 1000, "Remaining": 1000 - perm_sets},
            },
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
        }
        return Outcome(200, body, operation="limits")

    return run_rest(emu, request, version, handle)


def query(emu: Emulator, request: Request, version: str, *, include_deleted: bool) -> Response:
    soql = request.query_params.get("q")
    batch = _batch_size(request)

    columns = request.query_params.get("columns", "").lower() == "true"

    def handle(ctx: CallContext) -> Outcome:
        if not soql:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        entity = _from_object(soql)
        if columns:  # the Salesforce CLI asks for these before printing a result
            body = emu.org.query_columns(ctx, soql)
            return Outcome(200, body, entity=entity, operation="query", query=soql)
        result = emu.org.query(ctx, soql, include_deleted=include_deleted, batch_size=batch)
        return Outcome(
            200,
            result,
            entity=entity,
            operation="queryAll" if include_deleted else "query",
            query=soql,
            rows=len(result["records"]),
        )

    return run_rest(
        emu,
        request,
        version,
        handle,
        operation="queryAll" if include_deleted else "query",
        entity=_from_object(soql or ""),
    )


def query_more(emu: Emulator, request: Request, version: str, locator: str) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        result = emu.org.query_more(ctx, locator)
        return Outcome(200, result, operation="queryMore", rows=len(result["records"]))

    return run_rest(emu, request, version, handle, operation="queryMore")


def _batch_size(request: Request) -> int:
    opts = request.headers.get("sforce-query-options", "")
    for part in opts.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return int(value)
    return 2000


def _from_object(soql: str) -> str | None:
    words = soql.replace("(", " ( ").replace(")", " ) ").split()
    depth = 0
    for i, w in enumerate(words):
        if w == "(":
            depth += 1
        elif w == ")":
            depth -= 1
        elif depth == 0 and w.lower() == "from" and i + 1 < len(words):
            return words[i + 1]
    return None


def describe_global(emu: Emulator, request: Request, version: str) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        org = emu.org
        sobjects = [
            object_summary(obj, ctx.access, version, can_write=_can_write(org, ctx, obj.name))
            for obj in org.schema
            if org.object_visible(ctx.access, obj)
        ]
        return Outcome(
            200,
            {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects},
            operation="describeGlobal",
        )

    return run_rest(emu, request, version, handle, operation="describeGlobal")


def _can_write(org: Org, ctx: CallContext, object_name: str) -> dict[str, bool]:
    obj = org.schema.get(object_name)
    assert obj is not None
    if obj.setup:
        w = org.can_write_setup(ctx.access, obj)
        return {
            "create": w and obj.createable,
            "update": w and obj.updateable,
            "delete": w and obj.deletable,
        }
    acc = ctx.access.object(obj.name)
    return {
        "create": acc.create and obj.createable,
        "update": acc.edit and obj.updateable,
        "delete": acc.delete and obj.deletable,
    }


def sobject_basic(emu: Emulator, request: Request, version: str, name: str) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        obj = emu.org.visible_object(ctx, name)
        summary = object_summary(
            obj, ctx.access, version, can_write=_can_write(emu.org, ctx, obj.name)
        )
        return Outcome(
            200,
            {"objectDescribe": summary, "recentItems": []},
            entity=obj.name,
            operation="describe",
        )

    return run_rest(emu, request, version, handle, entity=name, operation="describe")


def sobject_describe(emu: Emulator, request: Request, version: str, name: str) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        org = emu.org
        obj = org.visible_object(ctx, name)
        can = _can_write(org, ctx, obj.name)
        body = object_summary(obj, ctx.access, version, can_write=can)
        fields = []
        for fdef in obj.fields.values():
            if not org.field_visible(ctx.access, obj, fdef):
                continue
            editable = True
            if obj.access == "crud" and fdef.permissionable:
                editable = ctx.access.field(obj.name, fdef.name)[1]
            fields.append(
                field_describe(
                    fdef,
                    createable=fdef.createable and editable and can["create"],
                    updateable=fdef.updateable and editable and can["update"],
                )
            )
        children: list[dict[str, Any]] = [
            {
                "cascadeDelete": rel.cascade_delete,
                "childSObject": rel.child_object,
                "deprecatedAndHidden": False,
                "field": rel.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": rel.relationship_name,
                "restrictedDelete": False,
            }
            for rel in org.schema.child_relationships(obj.name)
        ]
        body.update(
            {
                "actionOverrides": [],
                "childRelationships": children,
                "compactLayoutable": not obj.setup,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": fields,
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [],
                "searchLayoutable": not obj.setup,
                "supportedScopes": [{"label": "All " + obj.label_plural, "name": "everything"}],
            }
        )
        return Outcome(200, body, entity=obj.name, operation="describe")

    return run_rest(emu, request, version, handle, entity=name, operation="describe")


def create(emu: Emulator, request: Request, version: str, name: str, raw: bytes) -> Response:
    def handle(ctx: CallContext) -> Outcome:
        data = parse_json_body(raw)
        if not isinstance(data, dict):
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sObject from START_ARRAY value [line:1, column:1]",
            )
        new_id = emu.org.create(ctx, name, data)
        return Outcome(
            201,
            {"id": new_id, "success": True, "errors": []},
            entity=_canonical(emu, name),
            operation="create",
        )

    return run_rest(emu, request, version, handle, entity=_canonical(emu, name), operation="create")


def _canonical(emu: Emulator, name: str) -> str:
    obj = emu.org.schema.get(name)
    return obj.name if obj else name


def record(
    emu: Emulator, request: Request, version: str, name: str, record_id: str, raw: bytes
) -> Response:
    method = request.method
    entity = _canonical(emu, name)

    def handle(ctx: CallContext) -> Outcome:
        org = emu.org
        if method == "GET":
            fields_param = request.query_params.get("fields")
            fields = [f.strip() for f in fields_param.split(",")] if fields_param else None
            if not is_valid_id(record_id):
                raise not_found()
            return Outcome(
                200,
                org.retrieve(ctx, name, record_id, fields),
                entity=entity,
                operation="retrieve",
                rows=1,
            )
        if method == "PATCH":
            data = parse_json_body(raw)
            org.update(ctx, name, record_id, data)
            return Outcome(204, None, entity=entity, operation="update", rows=1)
        if method == "DELETE":
            org.delete(ctx, name, record_id)
            return Outcome(204, None, entity=entity, operation="delete", rows=1)
        raise SalesforceError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE",
        )

    return run_rest(
        emu,
        request,
        version,
        handle,
        entity=entity,
        operation={"GET": "retrieve", "PATCH": "update", "DELETE": "delete"}.get(method, "other"),
    )


def record_sub(
    emu: Emulator, request: Request, version: str, name: str, first: str, second: str, raw: bytes
) -> Response:
    """/sobjects/X/{a}/{b}: a blob (GET Id/Field), a get or upsert by external id, or a password."""
    method = request.method
    entity = _canonical(emu, name)
    org = emu.org

    def handle(ctx: CallContext) -> Outcome:
        obj = org.visible_object(ctx, name)
        blob = obj.get_field(second) if is_valid_id(first) else None
        if method == "GET" and blob is not None and blob.type == "base64":
            if obj.name == "EventLogFile":
                content = org.events.content(to18(first))
                if content is None or not org.object_visible(ctx.access, obj):
                    raise not_found()
                return Outcome(
                    200,
                    None,
                    entity=entity,
                    operation="retrieve",
                    raw=content,
                    media_type="text/csv",
                )
            row = org.get(first)
            if row is None or row.get(blob.name) is None:
                raise not_found()
            return Outcome(
                200,
                None,
                entity=entity,
                operation="retrieve",
                raw=row[blob.name],
                media_type="application/octetstream",
            )
        if obj.name == "User" and second.lower() == "password" and is_valid_id(first):
            if method == "POST":
                data = parse_json_body(raw)
                password = data.get("NewPassword") if isinstance(data, dict) else None
                if not password:
                    raise SalesforceError(400, "JSON_PARSER_ERROR", "NewPassword is required")
                org.set_password(ctx, first, password)
                return Outcome(204, None, entity="User", operation="setPassword")
            if method == "GET":
                user = org.get(first)
                if user is None:
                    raise not_found()
                return Outcome(200, {"isExpired": False}, entity="User", operation="other")
        if method == "PATCH":
            data = parse_json_body(raw)
            new_id, created = org.upsert(ctx, name, first, second, data)
            body = {"id": new_id, "success": True, "errors": [], "created": created}
            return Outcome(201 if created else 200, body, entity=entity, operation="upsert", rows=1)
        if method == "GET":
            fdef = obj.get_field(first)
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise SalesforceError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {first}",
                )
            matches = [
                r
                for r in org.visible_rows(ctx.access, obj)
                if str(r.get(fdef.name) or "").lower() == second.lower()
            ]
            if not matches:
                raise not_found()
            return Outcome(
                200,
                org.retrieve(ctx, name, matches[0]["Id"]),
                entity=entity,
                operation="retrieve",
                rows=1,
            )
        raise not_found()

    op = "upsert" if method == "PATCH" else "retrieve"
    return run_rest(emu, request, version, handle, entity=entity, operation=op)


def collections(emu: Emulator, request: Request, version: str, raw: bytes) -> Response:
    """sObject Collections: create (POST), update (PATCH), delete (DELETE ?ids=)."""
    method = request.method
    org = emu.org

    def handle(ctx: CallContext) -> Outcome:
        if method == "DELETE":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"
            results = sobject_collections.delete(org, ctx, ids, all_or_none=all_or_none)
            return Outcome(200, results, operation="composite", rows=len(results))
        records, all_or_none = _collection_body(raw)
        run = sobject_collections.create if method == "POST" else sobject_collections.update
        results = run(org, ctx, records, all_or_none=all_or_none)
        first = next(
            (t for r in records if isinstance(t := (r.get("attributes") or {}).get("type"), str)),
            None,
        )
        obj = org.schema.get(first) if first else None
        # Event logs carry the API name ("Account"), not the spelling the client sent.
        entity = obj.name if obj else first
        return Outcome(200, results, entity=entity, operation="composite", rows=len(results))

    return run_rest(emu, request, version, handle, operation="composite")


def _collection_body(raw: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The records and allOrNone flag of a Collections request body."""
    body = parse_json_body(raw)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("records"), list)
        or not all(isinstance(r, dict) for r in body["records"])
    ):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Expected a JSON object with a records array"
        )
    return body["records"], bool(body.get("allOrNone", False))


def record_count(emu: Emulator, request: Request, version: str) -> Response:
    """GET limits/recordCount?sObjects=A,B: rows per object (as of now, not cached)."""
    names = [n for n in request.query_params.get("sObjects", "").split(",") if n]

    def handle(ctx: CallContext) -> Outcome:
        org = emu.org
        out = []
        for obj in org.schema:
            if names and obj.name.lower() not in {n.lower() for n in names}:
                continue
            if obj.access != "crud" or not org.object_visible(ctx.access, obj):
                continue
            rows = sum(1 for r in org.table(obj.name).values() if not r.get("IsDeleted"))
            if rows or names:
                out.append({"count": rows, "name": obj.name})
        return Outcome(200, {"sObjects": out}, operation="limits")

    return run_rest(emu, request, version, handle, operation="limits")


def collections_upsert(
    emu: Emulator, request: Request, version: str, name: str, ext_field: str, raw: bytes
) -> Response:
    """PATCH composite/sobjects/{SObject}/{ExternalIdField}: upsert up to 200 records."""
    entity = _canonical(emu, name)

    def handle(ctx: CallContext) -> Outcome:
        records, all_or_none = _collection_body(raw)
        results = sobject_collections.upsert(
            emu.org, ctx, name, ext_field, records, all_or_none=all_or_none
        )
        return Outcome(200, results, entity=entity, operation="upsert", rows=len(results))

    return run_rest(emu, request, version, handle, entity=entity, operation="upsert")
