"""EventLogFile CSV -> per-day aggregates, streaming: memory is bounded by the number of
distinct aggregate keys, not by the size of the file.

How (chosen by measurement, see benchmarks/ingest.py): one polars streaming query per file
reads only the columns we need (found by header name), normalises REST paths (record ids
and external-id values blanked, so keys stay few) and groups by (day-hour, user, app,
client, family, method, path shape, entity, status, source IP[, query]). Everything after
that works on the grouped rows: hours pivoted to 24 columns, IPs and SOQL fields split
out, and, in Python, ids, operation names and field lists computed once per distinct
value, never once per row.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import polars as pl

from .. import ids
from .csvsource import Source, csv_input
from .decode import (
    api_type_label,
    family_of,
    login_status_label,
    login_sub_type_label,
    login_type_label,
    operation_of,
    status_of,
)
from .model import ApiAgg, EventLogFormatError, LoginAgg, ParseResult, app_key_of
from .soql import normalize_soql_expr, soql_fields

API_TYPES: Final = frozenset({"ApiTotalUsage", "RestApi", "API", "BulkApi", "BulkApi2"})
LOGIN_TYPES: Final = frozenset({"Login"})
KNOWN_TYPES: Final = API_TYPES | LOGIN_TYPES

# Canonical field -> the column holding it in each event type (reference §2.4). "=X" is a
# constant: each paid type records one API family and has no connected-app name.
_API_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "ApiTotalUsage": {"family": "API_FAMILY", "method": "HTTP_METHOD",
                      "resource": "API_RESOURCE", "entity": "ENTITY_NAME",
                      "status": "STATUS_CODE", "app_name": "CONNECTED_APP_NAME"},
    "RestApi": {"family": "=REST", "method": "METHOD", "resource": "URI",
                "entity": "ENTITY_NAME", "status": "STATUS_CODE", "app_name": "="},
    "API": {"family": "=SOAP", "method": "=POST", "resource": "METHOD_NAME",
            "entity": "ENTITY_NAME", "status": "REQUEST_STATUS", "app_name": "="},
    "BulkApi": {"family": "=Bulk", "method": "=POST", "resource": "OPERATION_TYPE",
                "entity": "ENTITY_TYPE", "status": "SUCCESS", "app_name": "="},
    # One event per job state change: _jobs() folds them into one row per job.
    "BulkApi2": {"family": "=Bulk2", "method": "=POST", "resource": "OPERATION_TYPE",
                 "entity": "ENTITY_TYPE", "status": "JOB_STATUS", "app_name": "=",
                 "job": "JOB_ID", "processed": "RECORDS_PROCESSED",
                 "failed": "RECORDS_FAILED", "rid": "REQUEST_ID"},
}  # fmt: skip
# Read when a file has them, not reported missing when it does not: the Bulk logs do not
# document an app or client column (reference §2.4).
_UNDOCUMENTED: Final = {"BulkApi": {"CONNECTED_APP_ID", "CLIENT_NAME"},
                        "BulkApi2": {"CONNECTED_APP_ID", "CLIENT_NAME"}}  # fmt: skip
_COMMON_API: Final = {"user": "USER_ID", "app_id": "CONNECTED_APP_ID", "client": "CLIENT_NAME",
                      "ip": "CLIENT_IP", "query": "QUERY"}  # fmt: skip
_LOGIN_COLUMNS: Final = {"user": "USER_ID", "login_type": "LOGIN_TYPE",
                         "sub_type": "LOGIN_SUB_TYPE", "status": "LOGIN_STATUS",
                         "api_type": "API_TYPE"}  # fmt: skip

# A record id path segment: 3-char key prefix, 2-char pod, a reserved "0", 9 more, and
# the optional 3-char case suffix. Object names never have a "0" in that place.
ID_SEGMENT = r"/[A-Za-z0-9]{5}0[A-Za-z0-9]{9}(?:[A-Za-z0-9]{3})?"
# /sobjects/<Object>/<Field>/<value>: an upsert by external id, one value per record.
EXTERNAL_VALUE = r"(/sobjects/[^/]+/[^/{]+/)[^/]+$"
_HOUR_COLUMNS = [f"h{h:02d}" for h in range(24)]
MAX_EXAMPLE = 500  # characters of an example request or query kept per aggregate


def parse_event_log(event_type: str, log_date: date, source: Source) -> ParseResult:
    """Aggregate one EventLogFile (a path, bytes, a binary stream or byte chunks). An
    unknown event type gives an empty result flagged ``unknown_type``; the file is not read."""
    result = ParseResult(event_type=event_type, days=[log_date])
    if event_type not in KNOWN_TYPES:
        result.unknown_type = True
        return result
    login = event_type in LOGIN_TYPES
    columns = _LOGIN_COLUMNS if login else {**_COMMON_API, **_API_COLUMNS[event_type]}
    with csv_input(source) as (data, header):
        if not header:
            return result  # an empty file: nothing happened that day
        if "USER_ID" not in header:
            raise EventLogFormatError(
                f"{event_type} file has no USER_ID column (header starts {header[:6]}); "
                "is it an event log CSV?"
            )
        expected = {c for c in columns.values() if not c.startswith("=")}
        optional = {"QUERY"} | _UNDOCUMENTED.get(event_type, set())
        result.missing_columns = sorted(expected - set(header) - optional)
        base = [_timestamp(header).alias("ts")]
        base += [_column(header, c).alias(k) for k, c in columns.items()]
        lf = _scan(data, header, base)
        if event_type == "BulkApi2":
            lf = _jobs(lf, list(columns))
        if login:
            _logins(lf, result)
        else:
            result.field_lists = "QUERY" in header
            _api(lf, result, has_query=result.field_lists)
    days = {k[0] for k in result.api} | {k[0] for k in result.logins}
    result.days = sorted(days) if days else [log_date]
    return result


def _column(header: list[str], name: str) -> pl.Expr:
    if name.startswith("="):
        return pl.lit(name[1:], dtype=pl.String)
    if name in header:
        return pl.col(name)  # nulls (empty fields) become "" after grouping, not per row
    return pl.lit("", dtype=pl.String)


def _timestamp(header: list[str]) -> pl.Expr:
    """TIMESTAMP (yyyyMMddHHmmss.SSS), or TIMESTAMP_DERIVED squeezed to the same shape."""
    if "TIMESTAMP" in header:
        return pl.col("TIMESTAMP")
    if "TIMESTAMP_DERIVED" in header:
        return pl.col("TIMESTAMP_DERIVED").str.replace_all(r"[-:TZ]", "")
    raise EventLogFormatError("the file has neither TIMESTAMP nor TIMESTAMP_DERIVED")


# polars sizes its streaming CSV reads only through these environment variables, read
# when a query runs. Its defaults peaked at ~420 MB RSS on a 5 M-row file; 2 MB chunks
# with a prefetch of 2 stayed under 250 MB at the same speed (benchmarks/ingest.py).
POLARS_TUNING: Final = {
    "POLARS_CSV_CHUNK_SIZE": "2000000",
    "POLARS_CSV_CHUNK_PREFETCH_LIMIT": "2",
}


def tune_polars(environ: MutableMapping[str, str]) -> None:
    """Set ``POLARS_TUNING`` in ``environ`` where it is not set: an operator's own value
    wins, this is tuning, not configuration. Entry points call it with ``os.environ``
    (the CLI, the flows' module a worker imports, the benchmarks)."""
    for name, value in POLARS_TUNING.items():
        environ.setdefault(name, value)


# Low-cardinality columns are parsed straight to Categorical: grouping hashes small ints,
# and peak RSS at 5 M rows dropped by ~20 MB (benchmarks/ingest.py). Not the columns that
# feed string expressions (resource, TIMESTAMP, QUERY, and METHOD_NAME and OPERATION_TYPE,
# which are the "resource" of the API and BulkApi files).
_CATEGORICAL = frozenset({
    "USER_ID", "CONNECTED_APP_ID", "CONNECTED_APP_NAME", "CLIENT_NAME", "CLIENT_IP",
    "API_FAMILY", "HTTP_METHOD", "METHOD", "ENTITY_NAME", "ENTITY_TYPE",
    "STATUS_CODE", "REQUEST_STATUS", "SUCCESS", "LOGIN_TYPE",
    "LOGIN_SUB_TYPE", "LOGIN_STATUS", "API_TYPE",
})  # fmt: skip


def _scan(source: str | bytes, header: list[str], base: list[pl.Expr]) -> pl.LazyFrame:
    """The file's canonical columns, plus ``day`` (yyyyMMdd) and ``hr`` (0-23, null when
    the timestamp is unreadable)."""
    lf = pl.scan_csv(
        source, has_header=True, infer_schema=False, encoding="utf8-lossy",
        truncate_ragged_lines=True, quote_char='"',
        schema_overrides={c: pl.Categorical for c in header if c in _CATEGORICAL},
    )  # fmt: skip
    ts = pl.col("ts")
    return lf.select(base).with_columns(
        ts.str.slice(0, 8).alias("day"), ts.str.slice(8, 2).cast(pl.UInt8, strict=False).alias("hr")
    )


# JOB_STATUS of a finished job, as a job state (JobComplete) or as the documented event
# name (complete): the exact spelling in the files is unverified, so both are read.
_DONE = ("jobcomplete", "complete", "completed")
_FAILED = ("failed", "aborted")


def _jobs(lf: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """BulkApi2 logs one event per job state change: one row per (day, user, job), at its
    first event of the day, so jobs are counted, not state changes. A job is a success once
    it completed or processed records without failing them all (a "Failed" job keeps what
    it processed), a failure when it failed or was aborted having done nothing, and of
    unknown outcome while it is still running (the next day's file tells). The file's rows
    and calls are then its jobs."""
    status = pl.col("status").cast(pl.String).str.to_lowercase()
    processed = pl.col("processed").cast(pl.Int64, strict=False).fill_null(0)
    failed = pl.col("failed").cast(pl.Int64, strict=False).fill_null(0)
    done = status.is_in(_DONE) | (processed > failed)
    job = pl.when(pl.col("job").fill_null("") == "").then(pl.col("rid")).otherwise(pl.col("job"))
    keep = [c for c in columns if c not in ("job", "status", "processed", "failed", "rid")]
    ts = pl.col("ts")
    jobs = lf.with_columns(job.alias("job"), done.alias("done"), status.is_in(_FAILED).alias("bad"))
    return jobs.group_by(["day", "user", "job"]).agg(
        ts.min(),
        *[pl.col(c).drop_nulls().first() for c in keep if c not in ("ts", "user")],
        pl.when(pl.col("done").any()).then(pl.lit("success"))
        .when(pl.col("bad").any()).then(pl.lit("failure"))
        .otherwise(pl.lit("unknown")).alias("status"),
    ).with_columns(ts.str.slice(8, 2).cast(pl.UInt8, strict=False).alias("hr"))  # fmt: skip


def _grouped(lf: pl.LazyFrame, keys: Sequence[pl.Expr | str], *extra: pl.Expr) -> pl.DataFrame:
    """The streaming pass: per (day, key) calls, first/last and h00..h23. Hours are summed
    here rather than grouped by: the result stays ~10x smaller, and so does peak memory."""
    ts, hr = pl.col("ts"), pl.col("hr")
    return (
        lf.group_by(["day", *keys])
        .agg(pl.len().alias("n"), ts.min().alias("first"), ts.max().alias("last"), *extra,
             *[(hr == h).sum().alias(f"h{h:02d}") for h in range(24)])
        .collect(engine="streaming")
    )  # fmt: skip


def _fold(frame: pl.DataFrame, keys: list[str], *extra: pl.Expr) -> pl.DataFrame:
    """Group the (small) streaming result again by fewer keys."""
    if frame.is_empty():
        return frame
    return frame.group_by(["day", *keys]).agg(
        pl.col("n").sum(), pl.col("first").min(), pl.col("last").max(), *extra,
        *[pl.col(h).sum() for h in _HOUR_COLUMNS],
    )  # fmt: skip


def _api(lf: pl.LazyFrame, result: ParseResult, *, has_query: bool) -> None:
    shape = pl.col("resource").str.replace_all(ID_SEGMENT, "/{id}")
    shape = shape.str.replace(EXTERNAL_VALUE, "${1}{value}").alias("shape")
    keys = ["user", "app_id", "client", "family", "method", "shape", "entity", "status"]
    query = [normalize_soql_expr(pl.col("query")).alias("q")] if has_query else []
    grouped = _grouped(
        lf, [*keys[:5], shape, "entity", "status", "ip", *query], pl.col("app_name").max()
    )
    for row in _rows(_fold(grouped, keys, pl.col("app_name").max())):
        _api_row(row, result)
    _ip_rows(_fold(grouped, ["user", "app_id", "client", "ip"]), result)
    if has_query:
        asked = grouped.filter(pl.col("q").fill_null("") != "")
        _field_rows(_fold(asked, ["user", "app_id", "client", "q"]), result)


def _api_row(row: tuple[Any, ...], result: ParseResult) -> None:
    day_s, user, app_id, client, fam, method, shape, entity, status = (_s(v) for v in row[:9])
    t0, t1, name, hours = _stamp(_s(row[10])), _stamp(_s(row[11])), _s(row[12]), list(row[13:])
    n = _count(int(row[9] or 0), hours, result)
    day, user18 = _day(day_s), _user18(user)
    if day is None or user18 is None or t0 is None or t1 is None:
        result.bad_rows += n
        return
    result.rows += n
    app18 = _app18(app_id)
    fam = family_of(fam, shape)
    op, obj = operation_of(fam, method, shape, entity)
    key = (day, user18, app_key_of(app18, client), client, fam, obj, op,
           status_of(result.event_type, status))  # fmt: skip
    agg = result.api.get(key)
    if agg is None:
        agg = result.api[key] = ApiAgg(*key, app_id=app18, app_name=name)
    agg.merge(n, t0, t1, hours)
    agg.app_name = agg.app_name or name
    agg.add_example(_example(fam, method, shape, obj))


def _example(family: str, method: str, shape: str, entity: str) -> str:
    """A request as people read it: "PATCH /v59.0/sobjects/Order/{id}" (REST, ids blanked),
    "SOAP update Account" (SOAP and Bulk log a method name, not a path)."""
    if shape.startswith("/"):
        return f"{method.upper()} {shape}".strip()[:MAX_EXAMPLE]
    words = [w for w in (family, shape, entity) if w]
    return " ".join(words)[:MAX_EXAMPLE]


def _count(n: int, hours: list[int], result: ParseResult) -> int:
    """Calls with a readable hour; the rest of ``n`` had a broken timestamp: bad rows."""
    good = sum(hours)
    result.bad_rows += n - good
    return good


def _logins(lf: pl.LazyFrame, result: ParseResult) -> None:
    keys = ["user", "login_type", "sub_type", "status", "api_type"]
    for day_s, user, ltype, sub, status, api_type, n, t0s, t1s, *hours in _rows(_grouped(lf, keys)):
        n = _count(n, hours, result)
        day, user18, t0, t1 = _day(day_s), _user18(user), _stamp(t0s), _stamp(t1s)
        if day is None or user18 is None or t0 is None or t1 is None:
            result.bad_rows += n
            continue
        result.rows += n
        key = (day, user18, login_type_label(ltype), login_sub_type_label(sub),
               login_status_label(status), api_type_label(api_type))  # fmt: skip
        agg = result.logins.get(key)
        if agg is None:
            agg = result.logins[key] = LoginAgg(*key)
        agg.merge(n, t0, t1, hours)


def _ip_rows(frame: pl.DataFrame, result: ParseResult) -> None:
    for day_s, user, app_id, client, ip, n, *_ in _rows(frame):
        day, user18 = _day(day_s), _user18(user)
        if day is None or user18 is None or not ip:
            continue
        key = (day, user18, app_key_of(_app18(app_id), client), ip)
        result.ips[key] = result.ips.get(key, 0) + n


def _field_rows(frame: pl.DataFrame, result: ParseResult) -> None:
    parsed_cache: dict[str, tuple[str, list[str]] | None] = {}
    for day_s, user, app_id, client, query, n, *_ in _rows(frame):
        day, user18 = _day(day_s), _user18(user)
        if day is None or user18 is None:
            continue
        if query not in parsed_cache:
            parsed_cache[query] = soql_fields(query)
        parsed = parsed_cache[query]
        if parsed is None:
            result.unparsed_queries += n
            continue
        obj, fields = parsed
        app = app_key_of(_app18(app_id), client)
        example = _clip(query)
        for name in fields:
            key = (day, user18, app, obj, name, "read")
            result.fields[key] = result.fields.get(key, 0) + n
            # The smallest query in text order: the same in any row order (see ApiAgg).
            known = result.field_examples.get(key)
            if known is None or example < known:
                result.field_examples[key] = example


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXAMPLE else text[: MAX_EXAMPLE - 1] + "…"


def _rows(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of a (small) result frame, empty fields as "" rather than None."""
    if frame.is_empty():
        return iter(())
    frame = frame.with_columns(pl.col(pl.Categorical).cast(pl.String))
    return frame.with_columns(pl.col(pl.String).fill_null("")).iter_rows()


def _s(value: object) -> str:
    return value if isinstance(value, str) else ""


def _stamp(value: str) -> datetime | None:
    """'20261101093000.123' -> aware UTC (None if malformed). By hand: strptime was the
    largest single cost of an ingestion (measured)."""
    if len(value) < 14 or not value[:14].isdigit():
        return None
    ms = value[15:18] if value[14:15] == "." and value[15:18].isdigit() else "0"
    try:
        return datetime(
            int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
            int(value[10:12]), int(value[12:14]), int(ms.ljust(3, "0")) * 1000, tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def _day(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def _user18(value: str) -> str | None:
    return ids.to18(value) if ids.is_valid_id(value) else None


def _app18(value: str) -> str:
    return ids.to18(value) if ids.is_valid_id(value) else ""
