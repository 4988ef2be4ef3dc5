"""What the org backend reports to the event log: one record per API call, one per login.

These are plain facts about a request (who, when, what, from where). How they become
EventLogFile CSV rows (codes, 15-character ids, column order) is ``csvfmt``'s business, so
the backend never has to know the ELF conventions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..ids import checksum_suffix

# base64url alphabet: real REQUEST_ID values use exactly these characters.
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Seconds since 2000-01-01: five base64 characters (30 bits) last until 2034.
_EPOCH_2000 = 946_684_800


@dataclass(frozen=True, slots=True)
class ApiCall:
    timestamp: datetime  # aware UTC
    request_id: str  # 22 characters, e.g. "4u6LyuMrDvb_G-l1cJIQk-"
    user_id: str  # 18 characters
    username: str
    session_key: str
    login_key: str
    api_family: str  # "REST" | "SOAP" | "Bulk" | "Bulk2" (Bulk API 1.0, 2.0)
    api_version: str  # "59.0"
    # REST: the path after /services/data ("/v59.0/sobjects/Order"); SOAP: the method ("query").
    api_resource: str
    http_method: str  # GET POST PATCH DELETE
    uri: str  # the request path, e.g. "/services/data/v59.0/sobjects/Order"
    entity_name: str | None
    # query | queryAll | retrieve | create | update | upsert | delete | describe |
    # describeGlobal | limits | other
    operation: str
    status_code: int
    client_ip: str
    client_name: str | None  # from Sforce-Call-Options client=
    connected_app_id: str | None  # 18-character 0H4...
    connected_app_name: str | None
    user_agent: str
    counts_against_limit: bool
    user_type: str = "Standard"
    query: str | None = None  # SOQL text for query calls
    rows_processed: int = 0
    run_time_ms: int = 0
    cpu_time_ms: int = 0
    request_size: int = 0
    response_size: int = 0
    exception_message: str | None = None
    # Bulk API only: the job (750...) and, for 1.0, the batch (751...) the call worked on;
    # for 2.0 the job's state after the call (JobComplete, ...), one BulkApi2 event.
    job_id: str | None = None
    batch_id: str | None = None
    job_status: str | None = None


@dataclass(frozen=True, slots=True)
class LoginEvent:
    timestamp: datetime
    request_id: str
    user_id: str
    username: str
    # LoginHistory labels: "Remote Access 2.0", "Other Apex API", "Partner Product", "Application"
    login_type: str
    # "OAuth Client Credentials", "OAuth Username-Password", "OAuth Web Server"; None for JWT
    login_sub_type: str | None
    status: str  # LoginHistory.Status: "Success", "Invalid Password", "Failed: API-only user"
    application: str  # app name, "Browser", or the client name
    api_type: str | None  # "SOAP Partner", "N/A", ...
    api_version: str | None
    browser: str
    platform: str
    source_ip: str
    login_url: str
    login_key: str
    session_key: str
    uri: str  # "/services/oauth2/token", "/services/Soap/u/59.0", "/index.jsp"
    client_version: str = "N/A"
    tls_protocol: str = "TLS 1.3"
    cipher_suite: str = "TLS_AES_256_GCM_SHA384"
    user_type: str = "Standard"
    # The raw User-Agent header: the Login file's BROWSER_TYPE column carries it verbatim
    # ("Go-http-client/1.1"), while LoginHistory.Browser has a parsed label. None: use `browser`.
    user_agent: str | None = None


def request_id_prefix(epoch_second: int) -> str:
    """The time-ordered first five characters of a REQUEST_ID (real ids sort by time)."""
    v = (epoch_second - _EPOCH_2000) & 0x3FFFFFFF
    return (
        B64[v >> 24] + B64[(v >> 18) & 63] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63]
    )


def millis_chars(ms: int) -> str:
    """Two characters for the millisecond within the second (keeps ids ordered within a second)."""
    return B64[ms >> 6] + B64[ms & 63]


def new_request_id(when: datetime, rng: random.Random | None = None, host: str = "H5Tip") -> str:
    """A 22-character REQUEST_ID shaped like the recorded ones ("3zGoTYRggfdZzbH5TipoZ-").

    Recorded ids start with a time-derived part, carry an app-server code near the end and
    finish with "-"; this keeps that shape: 5 time + 2 millisecond + 7 random + 5 host + 2
    random + "-".
    """
    r = rng or random
    when = when.astimezone(UTC)
    ms = when.microsecond // 1000
    rand = "".join(r.choice(B64) for _ in range(9))
    return (
        request_id_prefix(int(when.timestamp()))
        + millis_chars(ms)
        + rand[:7]
        + host[:5]
        + rand[7:]
        + "-"
    )


def new_key(rng: random.Random | None = None) -> str:
    """A 16-character LOGIN_KEY / SESSION_KEY ("bY5Wfv8t/Ith7WVE")."""
    r = rng or random
    alphabet = B64[:62] + "+/"
    return "".join(r.choice(alphabet) for _ in range(16))


FAMILIES = ("REST", "SOAP", "Bulk", "Bulk2")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _job_id(prefix: str, rng: random.Random) -> str:
    id15 = prefix + "5g0" + "".join(rng.choice(_BASE62) for _ in range(9))
    return id15 + checksum_suffix(id15)


def in_family(call: ApiCall, family: str) -> ApiCall:
    """A call as the API family it stands for: the workload runner makes a SOAP or Bulk
    workload's live calls over REST (the org answers with the same access rules) and names
    the family it stands for, so the event log records what that integration's call would
    be: a SOAP method, a Bulk API 1.0 batch of the day's job, a Bulk API 2.0 job."""
    if family == call.api_family or family not in FAMILIES:
        return call
    ver, op = call.api_version, call.operation
    if family == "SOAP":
        return replace(
            call, api_family="SOAP", api_resource=op, uri=f"/services/Soap/u/{ver}",
            http_method="POST",
        )  # fmt: skip
    # One job a day per session and kind of call, as the backfill's jobs are.
    rng = random.Random(f"{call.session_key}|{call.timestamp.date()}|{call.entity_name}|{op}")
    job = _job_id("750", rng)
    if family == "Bulk":
        batch = _job_id("751", rng)
        return replace(
            call, api_family="Bulk", api_resource=f"/{ver}/job/{job}/batch",
            uri=f"/services/async/{ver}/job/{job}/batch", http_method="POST", job_id=job,
            batch_id=batch,
        )  # fmt: skip
    if op == "query":
        resource, method = f"/v{ver}/jobs/query", "POST"
    else:
        resource, method = f"/v{ver}/jobs/ingest/{job}/batches", "PUT"
    return replace(
        call, api_family="Bulk2", api_resource=resource, uri=f"/services/data{resource}",
        http_method=method, job_id=job, job_status="JobComplete",
    )  # fmt: skip


_API_TYPES = {"REST": "REST", "SOAP": "SOAP Partner", "Bulk": "Bulk", "Bulk2": "Bulk"}


def api_event_row(call: ApiCall, event_id: str | None = None) -> dict[str, object]:
    """The ApiEvent row (Real-Time Event Monitoring) of a query call: who, when, through
    which app or client, and the query's text, the one thing the event log files of REST
    calls lack (reference 2.6). ConnectedAppId is the 15-character id."""
    rid = event_id or call.request_id
    return {
        "EventDate": call.timestamp,
        "EventIdentifier": "ae-" + rid.strip("-"),
        "CreatedDate": call.timestamp,
        "UserId": call.user_id,
        "Username": call.username,
        "Query": call.query,
        "QueriedEntities": call.entity_name,
        "Operation": "Query",
        "ApiType": _API_TYPES.get(call.api_family, call.api_family),
        "ApiVersion": float(call.api_version or 0),
        "Application": call.connected_app_name or call.client_name or "N/A",
        "Client": call.client_name,
        "ConnectedAppId": call.connected_app_id[:15] if call.connected_app_id else None,
        "SourceIp": call.client_ip,
        "RowsProcessed": float(call.rows_processed),
        "SessionKey": call.session_key,
        "LoginKey": call.login_key,
    }
