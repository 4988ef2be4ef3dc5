"""Names for what event log rows record: the CRUD operation of an API call, and the
LoginHistory labels of the Login file's one-letter codes (reference §2.4, §2.5).

Everything here runs once per distinct value, never per row, so clarity beats speed.
"""

from __future__ import annotations

import re
from functools import lru_cache

# SOAP method (API_RESOURCE of ApiTotalUsage, METHOD_NAME of the API file) and Bulk
# OPERATION_TYPE -> operation. Keys are lower-case without underscores, so "queryAll",
# "query_all" and "QUERYALL" agree.
_METHODS = {
    "insert": "create",
    "create": "create",
    "query": "query",
    "queryall": "query",
    "querymore": "query",
    "update": "update",
    "upsert": "upsert",
    "delete": "delete",
    "harddelete": "delete",
    "undelete": "undelete",
    "retrieve": "retrieve",
    "search": "search",
    "merge": "update",
    "convertlead": "update",
    "login": "login",
    "logout": "logout",
    "getuserinfo": "userinfo",
    "getservertimestamp": "other",
    "describe": "describe",
    "describes": "describe",
    "describeglobal": "describe",
    "describesobject": "describe",
    "describesobjects": "describe",
    "describelayout": "describe",
}
_VERSION = re.compile(r"^v?[0-9]+(\.[0-9]+)?$")
_SOBJECT_BY_METHOD = {"POST": "create", "GET": "describe"}
_RECORD_BY_METHOD = {"GET": "retrieve", "PATCH": "update", "POST": "update", "DELETE": "delete"}
_EXTERNAL_BY_METHOD = {"PATCH": "upsert", "GET": "retrieve", "DELETE": "delete", "POST": "create"}
_COLLECTION_BY_METHOD = {"POST": "create", "PATCH": "update", "DELETE": "delete", "GET": "retrieve"}
_REST_HEADS = {
    "query": "query",
    "queryAll": "query",
    "search": "search",
    "parameterizedSearch": "search",
    "limits": "limits",
    "job": "bulk",
    "jobs": "bulk",
    "apexrest": "apex",
}


# Bulk API requests and jobs: "bulk" is a job whose operation (or object) no ingested log
# says, which no permission can be planned from. Only these say what a job did.
BULK_FAMILIES = frozenset({"Bulk", "Bulk2"})
UNKNOWN_BULK = "bulk"
_BULK_KINDS = frozenset({"query", "create", "update", "upsert", "delete"})


def family_of(family: str, shape: str) -> str:
    """The API family a call is stored under: as logged, except that a Bulk API path says
    which Bulk API it is whatever family the log gives it: Bulk API 2.0 requests are REST
    paths under /jobs/ ("Bulk2"), Bulk API 1.0 ones are under /job/ ("Bulk"). Evidence
    tells them apart from each other and from REST calls by this."""
    head = _path_segments(shape)[:1] if shape.startswith("/") else []
    return {"jobs": "Bulk2", "job": "Bulk"}.get(head[0], family) if head else family


def _path_segments(shape: str) -> list[str]:
    """A REST path without /services/data (or /services/async) and its version."""
    segs = [s for s in shape.split("/") if s]
    if segs[:2] in (["services", "data"], ["services", "async"]):
        segs = segs[2:]  # RestApi's URI is the full path
    if segs and _VERSION.match(segs[0]):
        segs = segs[1:]
    return segs


def _bulk_operation(method: str, shape: str, entity: str) -> str:
    """What a Bulk API row says a job did, as far as it says it. The BulkApi / BulkApi2
    logs name the operation (OPERATION_TYPE, the ``shape`` here) and the object; of the
    free log's requests, only a Bulk API 2.0 query job's say what the job does. A job on an
    object no row names is of unknown kind too: no permission can be planned for it."""
    if not shape.startswith("/"):
        op = method_operation(shape)
        return op if op in _BULK_KINDS and entity else UNKNOWN_BULK
    segs = _path_segments(shape)
    if segs[:2] != ["jobs", "query"]:
        return UNKNOWN_BULK  # Bulk API 1.0 requests, Bulk API 2.0 ingest jobs
    creates_job = method.upper() == "POST" and len(segs) == 2
    # Creating a query job reads the object the row names; polling the job or reading its
    # results continues a job already counted.
    return "query" if entity or not creates_job else UNKNOWN_BULK


# A client's version: "DataLoaderBatch/59.0.0", "python-requests/2.32 (x)", "Tool 2.1.3".
_CLIENT_VERSION = re.compile(r"\s*/\s*v?[0-9][^/]*$|\s+v?[0-9]+(?:\.[0-9]+)+\S*$")


@lru_cache(maxsize=4096)
def client_identity(name: str) -> str:
    """An API client as one client whatever its version: "DataLoaderBatch/59.0.0" and
    "DataLoaderBatch/60.0.0" are one Data Loader, so its finding survives an upgrade."""
    stripped = name.strip()
    return _CLIENT_VERSION.sub("", stripped) or stripped


def application_key(name: str) -> str:
    """How two application names are compared: a connected app by its name, an API client
    whatever its version ("DataLoaderBatch/59.0.0" in LoginHistory is the "DataLoaderBatch"
    of a finding), case aside."""
    return client_identity(name).casefold()


def method_operation(name: str) -> str:
    """A SOAP method or Bulk operation type -> operation ("query_all" -> "query")."""
    key = name.replace("_", "").lower()
    if key.startswith("describe"):
        return "describe"
    return _METHODS.get(key, key or "other")


@lru_cache(maxsize=4096)
def operation_of(family: str, method: str, shape: str, entity: str) -> tuple[str, str]:
    """(operation, entity) of a call. ``shape`` is the REST path with the version removed
    and record ids replaced by ``{id}`` (parse.py), or a SOAP/Bulk method name; ``family``
    as ``family_of`` gives it.

    REST: GET query -> query, GET sobjects/X/{id} -> retrieve, POST sobjects/X -> create,
    PATCH sobjects/X/{id} -> update, PATCH sobjects/X/Field/value -> upsert, DELETE -> delete.
    """
    if family in BULK_FAMILIES:
        return _bulk_operation(method, shape, entity), entity
    if not shape.startswith("/"):  # SOAP: the method name itself
        return method_operation(shape), entity
    segs = _path_segments(shape)
    head, verb = (segs[0] if segs else ""), method.upper()
    if head == "sobjects" and len(segs) >= 2:
        entity = entity or segs[1]
        if len(segs) == 2:
            return _SOBJECT_BY_METHOD.get(verb, "other"), entity
        if segs[2] == "{id}":
            return _RECORD_BY_METHOD.get(verb, "other") if len(segs) == 3 else "retrieve", entity
        if segs[2] in ("describe", "listviews", "quickActions"):
            return "describe", entity
        if segs[2] in ("updated", "deleted"):
            return "query", entity  # getUpdated / getDeleted: reads of the object
        if len(segs) == 4:
            return _EXTERNAL_BY_METHOD.get(verb, "other"), entity
        return "other", entity
    if head == "sobjects":
        return "describe", entity
    if head == "composite" and len(segs) >= 2 and segs[1] == "sobjects":
        return _COLLECTION_BY_METHOD.get(verb, "other"), entity
    return _REST_HEADS.get(head, "other"), entity


def status_of(event_type: str, raw: str) -> str:
    """The status of a call: the HTTP code when the file has one (ApiTotalUsage, RestApi);
    for the SOAP API file REQUEST_STATUS (S/F), and for BulkApi SUCCESS (1/0, true/false),
    as success/failure."""
    if event_type == "BulkApi":
        flag = parse_bool(raw)
        return "unknown" if flag is None else "success" if flag else "failure"
    if event_type == "API":
        return {"S": "success", "F": "failure"}.get(raw, raw.lower() or "unknown")
    return raw or "unknown"


def parse_bool(value: str) -> bool | None:
    """ELF booleans: "1"/"0" in the recorded files, "true"/"false" in some docs."""
    v = value.strip().lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    return None


# Login LOGIN_TYPE code -> the LoginHistory.LoginType label SOQL returns (reference §2.5).
LOGIN_TYPES = {
    "7": "AppExchange",
    "A": "Application",
    "s": "Certificate-based login",
    "k": "Chatter Communities External User",
    "n": "Chatter Communities External User Third Party SSO",
    "x": "Cross Tenant",
    "r": "Employee Login to Community",
    "z": "Lightning Login",
    "l": "Networks Portal API Only",
    "6": "Remote Access Client",
    "w": "Passwordless Login",
    "3": "Customer Service Portal",
    "q": "Partner Portal Third-Party SSO",
    "9": "Partner Portal",
    "5": "SAML Idp Initiated SSO",
    "8": "SAML Sfdc Initiated SSO",
    "E": "Self-Service",
    "j": "Third Party SSO",
    "i": "Remote Access 2.0",
    "I": "Other Apex API",
    "R": "Partner Product",
}
LOGIN_SUB_TYPES = {
    "oauthclientcredential": "OAuth Client Credentials",
    "oauthpassword": "OAuth Username-Password",
    "oauthcode": "OAuth Web Server",
    "oauthhybridauthcode": "OAuth Hybrid Web Server",
    "oauthhybridtoken": "OAuth Hybrid User-Agent",
    "oauthtoken": "OAuth User-Agent",
    "oauthtokenidtoken": "OAuth User-Agent Id Token",
    "oauthrefreshtoken": "OAuth Refresh Token",
    "uiup": "UsernamePasswordUiLogin",
    "uipwdrst": "UiPasswordReset",
}
API_TYPES = {
    "D": "Apex Class",
    "E": "SOAP Enterprise",
    "M": "SOAP Metadata",
    "P": "SOAP Partner",
    "S": "SOAP Apex",
    "T": "SOAP Tooling",
    "f": "Feed",
    "l": "Live Agent",
    "p": "SOAP ClientSync",
}


def login_type_label(code: str) -> str:
    return LOGIN_TYPES.get(code, code)


def login_sub_type_label(code: str) -> str:
    return LOGIN_SUB_TYPES.get(code.lower(), code)


def login_status_label(code: str) -> str:
    """LOGIN_NO_ERROR is LoginHistory's "Success"; failures keep their code. Old files
    (2015) have no LOGIN_STATUS column at all."""
    if code == "LOGIN_NO_ERROR":
        return "Success"
    return code or "unknown"


def api_type_label(code: str) -> str:
    return API_TYPES.get(code, code)
