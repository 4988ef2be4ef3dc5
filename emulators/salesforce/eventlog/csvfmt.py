"""ApiCall / LoginEvent -> EventLogFile CSV records, with the conventions of the real files.

* Every value is double-quoted; an embedded quote is doubled (the value ``"success"``,
  quotes included, is written as three quotes, success, three quotes, as in the recorded
  BulkApi file).
* TIMESTAMP is ``yyyyMMddHHmmss.SSS`` GMT, TIMESTAMP_DERIVED ``2015-07-27T11:32:59.555Z``.
* ``*_ID`` columns carry 15-character ids, ``*_ID_DERIVED`` the 18-character form.
* Booleans are ``1`` / ``0``; records end with ``\\n`` (the recorded files use LF).

Everything here is a pure function of its inputs: the live recorder and the backfill's
pre-rendered templates both go through it, which is what keeps their bytes identical.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime

from ..ids import is_valid_id, to18
from .columns import (
    API_TYPE_CODES,
    BULK_OPERATION_TYPES,
    COLUMNS,
    FREE_FAMILY,
    LOGIN_STATUS_CODES,
    LOGIN_SUB_TYPE_CODES,
    LOGIN_TYPE_CODES,
    PAID_TYPE_OF_FAMILY,
    SOAP_ENDPOINT_API_TYPE,
    SOAP_METHOD_NAMES,
)
from .events import ApiCall, LoginEvent

JSON_MEDIA_TYPE = "application/json;charset=UTF-8"
# The Login file's CLIENT_IP for logins handled by the token endpoint (recorded value).
SALESFORCE_IP = "Salesforce.com IP"
_SELECT_RE = re.compile(r"\s*SELECT\s", re.IGNORECASE)
_FIELD_TOKENS = re.compile(r"[(),]|\bFROM\b", re.IGNORECASE)


def quote(value: str) -> str:
    if '"' in value:
        value = value.replace('"', '""')
    return '"' + value + '"'


def render(values: list[str]) -> str:
    """One CSV record: every value quoted, LF-terminated."""
    return ",".join([quote(v) for v in values]) + "\n"


def header(event_type: str) -> bytes:
    return render(list(COLUMNS[event_type])).encode()


def format_timestamps(when: datetime) -> tuple[str, str]:
    """(TIMESTAMP, TIMESTAMP_DERIVED) of an instant, truncated to the millisecond."""
    t = when.astimezone(UTC)
    ms = t.microsecond // 1000
    return (
        f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}.{ms:03d}",
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{ms:03d}Z",
    )


def id15(record_id: str | None) -> str:
    return record_id[:15] if record_id else ""


def id18(record_id: str | None) -> str:
    return to18(record_id) if record_id else ""


def _bool(flag: bool) -> str:
    return "1" if flag else "0"


def number_of_fields(soql: str | None) -> str:
    """NUMBER_FIELDS of a query: the top-level items between SELECT and FROM (a
    parenthesised sub-query counts as one)."""
    m = _SELECT_RE.match(soql or "")
    if not soql or m is None:
        return ""
    depth, count = 0, 1
    for token in _FIELD_TOKENS.finditer(soql, m.end()):
        t = token.group()
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        elif depth == 0 and t == ",":
            count += 1
        elif depth == 0:  # FROM
            return str(count)
    return ""


def uri_record_id(uri: str) -> str:
    """URI_ID_DERIVED: the 18-character id of /sobjects/<Object>/<id>[/...] paths."""
    _, sep, rest = uri.partition("/sobjects/")
    if not sep:
        return ""
    parts = rest.split("/")
    if len(parts) >= 2 and is_valid_id(parts[1]):
        return to18(parts[1])
    return ""


def soap_api_type(uri: str) -> str:
    """API_TYPE of a SOAP call from its endpoint (/services/Soap/u/59.0 is the Partner API)."""
    _, sep, rest = uri.partition("/Soap/")
    if not sep:
        return "P"
    return SOAP_ENDPOINT_API_TYPE.get(rest.split("/", 1)[0], "P")


def soap_method_name(call: ApiCall) -> str:
    name = call.api_resource if call.operation == "other" else call.operation
    if name in SOAP_METHOD_NAMES:
        return SOAP_METHOD_NAMES[name]
    # queryAll -> query_all style for anything not listed.
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _perf(call: ApiCall) -> tuple[str, str, str]:
    """DB_TOTAL_TIME (ns), DB_CPU_TIME, DB_BLOCKS: derived from the call so replays agree."""
    db_total = call.run_time_ms * 600_000 + call.cpu_time_ms * 1_000
    return str(db_total), str(call.cpu_time_ms // 20 * 10), str(11 + call.rows_processed)


def api_call_values(call: ApiCall, org15: str, *, paid: bool) -> list[tuple[str, list[str]]]:
    """The column values (unquoted, in column order) of every record a call produces."""
    ts, tsd = format_timestamps(call.timestamp)
    user15 = call.user_id[:15]
    client_name = call.client_name or ""
    entity = call.entity_name or ""
    app15 = id15(call.connected_app_id)
    status = str(call.status_code)
    out = [
        (
            "ApiTotalUsage",
            [
                "ApiTotalUsage",
                ts,
                call.request_id,
                org15,
                user15,
                FREE_FAMILY.get(call.api_family, call.api_family),
                call.api_version,
                call.api_resource,
                client_name,
                call.http_method,
                call.client_ip,
                _bool(call.counts_against_limit),
                app15,
                entity,
                status,
                call.connected_app_name or "",
                call.username,
                tsd,
            ],
        )
    ]
    paid_type = PAID_TYPE_OF_FAMILY.get(call.api_family) if paid else None
    if paid_type is None:
        return out
    db_total, db_cpu, db_blocks = _perf(call)
    common = [
        paid_type,
        ts,
        call.request_id,
        org15,
        user15,
        str(call.run_time_ms),
        str(call.cpu_time_ms),
    ]
    exc = call.exception_message or ""
    suffix = [tsd, to18(call.user_id)]
    if paid_type == "RestApi":
        values = [
            *common,
            call.uri,
            call.session_key,
            call.login_key,
            call.user_type,
            "S" if call.status_code < 400 else "F",
            db_total,
            call.http_method,
            JSON_MEDIA_TYPE if call.response_size else "",
            status,
            call.user_agent,
            str(call.rows_processed),
            number_of_fields(call.query),
            db_blocks,
            db_cpu,
            str(call.request_size),
            str(call.response_size),
            entity,
            app15,
            client_name,
            exc,
            *suffix,
            call.client_ip,
            uri_record_id(call.uri),
        ]
    elif paid_type == "API":
        values = [
            *common,
            "Api",  # the recorded SOAP rows carry the literal URI "Api"
            call.session_key,
            call.login_key,
            call.user_type,
            "",
            db_total,
            soap_api_type(call.uri),
            call.api_version,
            client_name,
            soap_method_name(call),
            entity,
            str(call.rows_processed),
            str(call.request_size),
            str(call.response_size),
            db_blocks,
            db_cpu,
            call.query or "",
            exc,
            *suffix,
            call.client_ip,
            "",
        ]
    elif paid_type == "BulkApi2":
        done = call.job_status == "JobComplete"
        values = [
            *common,
            call.uri,
            call.session_key,
            call.login_key,
            id15(call.job_id),
            call.job_status or "",
            BULK_OPERATION_TYPES.get(call.operation, call.operation),
            entity,
            str(call.rows_processed if done else 0),
            "0",
            "",  # RESULT_SIZE_MB: a placeholder in the docs
            *suffix,
            call.client_ip,
            "",
        ]
    else:  # BulkApi
        ok = call.status_code < 400
        values = [
            *common,
            "BULKAPI-LOG",  # recorded literal
            call.session_key,
            call.login_key,
            id15(call.job_id),
            id15(call.batch_id),
            str(call.rows_processed),
            "0" if ok else str(call.rows_processed),
            _bool(ok),
            # EscapedString: the recorded files wrap the message in quotes ("""success""").
            '"success"' if ok else '"' + exc + '"',
            entity,
            BULK_OPERATION_TYPES.get(call.operation, call.operation),
            *suffix,
            call.client_ip,
            "",
        ]
    out.append((paid_type, values))
    return out


def encode_api_call(call: ApiCall, org15: str, *, paid: bool) -> list[tuple[str, str]]:
    """(event type, CSV record) for every file the call lands in."""
    return [(t, render(v)) for t, v in api_call_values(call, org15, paid=paid)]


def login_status_code(status: str) -> str:
    code = LOGIN_STATUS_CODES.get(status)
    if code is not None:
        return code
    return "LOGIN_ERROR_" + re.sub(r"[^A-Z0-9]+", "_", status.upper()).strip("_")


def _login_perf(request_id: str) -> tuple[str, str, str]:
    # Logins carry no timing of their own in the emulator: derive stable ones from the id.
    h = zlib.crc32(request_id.encode())
    run = 60 + h % 900
    return str(run), str(20 + (h >> 10) % 120), str(run * 800_000 + h % 1_000_000)


def login_values(event: LoginEvent, org15: str) -> list[str]:
    ts, tsd = format_timestamps(event.timestamp)
    run, cpu, db_total = _login_perf(event.request_id)
    api_version = event.api_version or ""
    if not api_version.replace(".", "", 1).isdigit():
        api_version = "9998.0"  # what OAuth and UI logins show
    tls = (
        event.tls_protocol.replace("TLS ", "TLSv")
        if event.tls_protocol.startswith("TLS ")
        else event.tls_protocol
    )
    sub = event.login_sub_type
    sub_code = (
        "" if sub is None else LOGIN_SUB_TYPE_CODES.get(sub, re.sub(r"[^a-z]", "", sub.lower()))
    )
    # Token-endpoint logins: the recorded rows show CLIENT_IP "Salesforce.com IP" and an
    # empty SESSION_KEY (the session is the access token's, created after the login row).
    oauth = event.uri.startswith("/services/oauth2/")
    client_ip = SALESFORCE_IP if oauth else event.source_ip
    return [
        "Login",
        ts,
        event.request_id,
        org15,
        event.user_id[:15],
        run,
        cpu,
        event.uri,
        "" if oauth else event.session_key,
        event.login_key,
        event.user_type,
        "",
        db_total,
        LOGIN_TYPE_CODES.get(event.login_type, event.login_type),
        event.user_agent if event.user_agent is not None else event.browser,
        API_TYPE_CODES.get(event.api_type or "", ""),
        api_version,
        event.username,
        tls,
        event.cipher_suite,
        "",
        sub_code,
        tsd,
        to18(event.user_id),
        client_ip,
        "",
        login_status_code(event.status),
        event.source_ip,
    ]


def encode_login(event: LoginEvent, org15: str) -> str:
    return render(login_values(event, org15))
