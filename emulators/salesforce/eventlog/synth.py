"""One UTC day of synthetic traffic: the calls and logins of every workload and UI user.

The hot path writes millions of records, so no ApiCall exists per call: each (call, variant)
of a workload is rendered once per day into a template (``templates.py``), bound once per
login session, and a call only fills in its timestamp, request id and record id. Each day
draws from its own seeded streams (``random.Random(str)`` hashes with SHA-512, so seeds
agree across processes), which makes days independent and the output reproducible.
"""

from __future__ import annotations

import base64
import random
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from heapq import merge
from itertools import islice
from operator import itemgetter

from ..ids import checksum_suffix
from ..scenario import Call, Workload
from .events import B64, ApiCall, LoginEvent, api_event_row, new_key, new_request_id
from .logins import ui_logins, workload_login
from .templates import (
    EXTERNAL_VALUE,
    ID_MILLIS,
    ID_TIME_LOW,
    MILLIS,
    SECONDS_COMPACT,
    SECONDS_ISO,
    CallTemplate,
    build_template,
    id_time_high,
    record_placeholder,
)

HOUR_MS = 3_600_000
VARIANTS = 8  # metric variants (run time, rows, sizes) per call and day
BULK2_JOBS = 2  # Bulk API 2.0 jobs per (call, day): each call is a state change of one
# A Bulk API 2.0 call's job state, by variant: most calls find the job done.
_JOB_STATES = ("UploadComplete", "InProgress", "JobComplete", "JobComplete")
_BATCH = 8192  # records joined and compressed at a time
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class CallResult:
    """How every call of one kind (object x operation) ends, when a live call said so."""

    ok: bool
    status: int
    code: str | None = None  # Salesforce's errorCode
    message: str | None = None


@dataclass(frozen=True)
class WorkloadCtx:
    spec: Workload
    user_id: str
    username: str
    app_id: str | None
    app_name: str | None
    prefixes: dict[str, str]  # object -> key prefix
    # Live runs (``render_run``): the outcome of each (object, operation); None: success.
    outcomes: dict[tuple[str, str], CallResult] | None = None


@dataclass(frozen=True)
class UiUserCtx:
    user_id: str
    username: str
    per_day: float
    hours: tuple[int, ...] | None = None  # UTC hours of the user's logins (None: 07-17)


@dataclass(frozen=True)
class DayTask:
    day: date
    seed: int
    org15: str
    paid: bool  # Event Monitoring: also RestApi / API / BulkApi rows
    render: bool  # write event log rows (False: the day is past retention)
    api_version: str
    my_domain: str
    workloads: list[WorkloadCtx]
    ui_users: list[UiUserCtx]
    real_time: bool = False  # Real-Time Event Monitoring: an ApiEvent row per query


@dataclass
class DayResult:
    day: date
    bodies: dict[str, tuple[bytes, int, int]]  # event type -> (zlib stream, size, rows)
    logins: list[LoginEvent]
    calls: dict[str, int]
    refreshes: dict[tuple[str, str], tuple[int, datetime]]  # (user, app) -> (uses, last)
    api_events: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class Session:
    login_ms: int
    login_key: str
    session_key: str
    ip: str
    host: str  # app-server part of the request ids
    login_request_id: str


def _random_id(prefix: str, rng: random.Random) -> str:
    id15 = prefix + "5g0" + "".join(rng.choice(_BASE62) for _ in range(9))
    return id15 + checksum_suffix(id15)


@lru_cache(maxsize=256)
def _pool(
    seed: int,
    workload: str,
    obj: str,
    operation: str,
    external_id_field: str | None,
    prefix: str,
    family: str,
    day: str,
) -> list[str]:
    """Values for the record slot: 256 records an integration keeps touching (the same
    every day, so cached: the live clock renders many runs a day); for the Bulk APIs, the
    batches (1.0) or the day's few jobs (2.0) its calls belong to."""
    rng = random.Random(f"{seed}|{workload}|{obj}|{operation}{day}")
    if family == "Bulk2":
        return [_random_id("750", rng) for _ in range(BULK2_JOBS)]
    if family == "Bulk":
        return [_random_id("751", rng) for _ in range(256)]
    if operation == "upsert":
        tag = (external_id_field or "EXT").split("_")[0].upper()
        return [f"{tag}-{rng.randrange(10**7):07d}" for _ in range(256)]
    return [_random_id(prefix, rng) for _ in range(256)]


def _proto(
    w: WorkloadCtx, call: Call, task: DayTask, rng: random.Random, job_id: str, variant: int = 0
) -> tuple[ApiCall, str | None]:
    """A prototype call of this kind with one draw of metrics, and its record placeholder."""
    op, obj, ver, fam = call.operation, call.object, task.api_version, w.spec.family_of(call)
    soql = None
    if op == "query":
        soql = f"SELECT {', '.join(call.fields)} FROM {obj}" + (
            f" WHERE {call.where}" if call.where else ""
        )
        rows = min(2000, int(rng.expovariate(1 / 25)))
        run = 15 + rows // 5 + rng.randint(0, 60)
        req, resp, status = 0, 180 + rows * (60 + 28 * len(call.fields)), 200
    else:
        rows, run = 1, 30 + rng.randint(0, 220)
        req = 0 if op == "delete" else 150 + rng.randint(0, 700)
        status, resp = {"create": (201, 61), "update": (204, 0), "delete": (204, 0)}.get(
            op, (200, 78)
        )
        if op == "upsert" and rng.random() < 0.3:
            status, resp = 201, 77
    failure = None
    result = w.outcomes.get(outcome_key(call)) if w.outcomes else None
    if result is not None and not result.ok:
        # A SOAP fault is an HTTP 500 whatever the error; REST keeps the live call's status.
        status = 500 if fam == "SOAP" else result.status
        resp, rows, failure = 150, 0, result.message or ""
    record: str | None = None
    method = "POST"
    if fam == "REST":
        base = f"/v{ver}"
        if op == "query":
            resource, method = f"{base}/query", "GET"
        elif op == "create":
            resource = f"{base}/sobjects/{obj}"
        elif op == "upsert":
            record, method = EXTERNAL_VALUE, "PATCH"
            resource = f"{base}/sobjects/{obj}/{call.external_id_field}/{record}"
        else:
            record, method = (
                record_placeholder(w.prefixes[obj]),
                "PATCH" if op == "update" else "DELETE",
            )
            resource = f"{base}/sobjects/{obj}/{record}"
        uri = "/services/data" + resource
    elif fam == "SOAP":
        resource, uri, status = op, f"/services/Soap/u/{ver}", 200
        req, resp = req + 600, resp + 400  # XML envelopes
    elif fam == "Bulk":  # Bulk API v1: one job per day, a batch per call
        record, status = record_placeholder("751"), 201
        resource, uri = f"/{ver}/job/{job_id}/batch", f"/services/async/{ver}/job/{job_id}/batch"
    else:  # Bulk API 2.0: a query job is created by its query; an ingest job gets its data
        record, rows = record_placeholder("750"), rows if op == "query" else 200
        if op == "query":
            resource, status = f"/v{ver}/jobs/query", 200
        else:
            resource, method, status = f"/v{ver}/jobs/ingest/{record}/batches", "PUT", 201
        uri = "/services/data" + resource
    proto = ApiCall(
        timestamp=datetime.combine(task.day, time(0), UTC),
        request_id="",
        user_id=w.user_id,
        username=w.username,
        session_key="",
        login_key="",
        api_family=fam,
        api_version=ver,
        api_resource=resource,
        http_method=method,
        uri=uri,
        entity_name=obj,
        operation=op,
        status_code=status,
        client_ip="",
        client_name=w.spec.client_name,
        connected_app_id=w.app_id,
        connected_app_name=w.app_name,
        user_agent=w.spec.user_agent,
        counts_against_limit=True,
        query=soql,
        rows_processed=rows,
        run_time_ms=run,
        cpu_time_ms=5 + run // 3 + rng.randint(0, 10),
        request_size=req,
        response_size=resp,
        job_id={"Bulk": job_id, "Bulk2": record}.get(fam),
        batch_id=record if fam == "Bulk" else None,
        job_status=_JOB_STATES[variant % len(_JOB_STATES)] if fam == "Bulk2" else None,
        exception_message=failure,
    )
    return proto, record


def soap_login_call(w: WorkloadCtx, task: DayTask) -> ApiCall:
    """The SOAP login() request itself: an ApiTotalUsage row with API_RESOURCE "login"."""
    ver = task.api_version
    return ApiCall(
        timestamp=datetime.combine(task.day, time(0), UTC),
        request_id="",
        user_id=w.user_id,
        username=w.username,
        session_key="",
        login_key="",
        api_family="SOAP",
        api_version=ver,
        api_resource="login",
        http_method="POST",
        uri=f"/services/Soap/u/{ver}",
        entity_name=None,
        operation="other",
        status_code=200,
        client_ip="",
        client_name=w.spec.client_name,
        connected_app_id=w.app_id,
        connected_app_name=w.app_name,
        user_agent=w.spec.user_agent,
        counts_against_limit=True,
        run_time_ms=45,
        cpu_time_ms=20,
        request_size=720,
        response_size=1900,
    )


def plan_day(w: WorkloadCtx, task: DayTask) -> tuple[list[int], dict[int, Session], random.Random]:
    """Call instants (ms of the day, sorted) and the login sessions (per login slot): the
    workload's schedule for one day, the same for the backfill and the live clock."""
    s = w.spec.schedule
    tag = f"{task.seed}|{w.spec.name}|{task.day.isoformat()}"
    rng = random.Random(tag)
    if not s.runs_on(task.day):
        return [], {}, rng
    hours = sorted(set(s.hours))
    rnd = rng.random
    ms: list[int] = []
    for h in hours:
        x = s.calls_per_hour * (1 + rng.uniform(-s.jitter, s.jitter))
        n = int(x) + (rnd() < x - int(x))
        base = h * HOUR_MS
        ms.extend(sorted([base + int(rnd() * HOUR_MS) for _ in range(n)]))
    slot_ms = min(max(s.login_every_minutes, 1), 1440) * 60_000
    active_start: dict[int, int] = {}  # login slot -> start of its first active hour
    for h in hours:
        for slot in range(h * HOUR_MS // slot_ms, ((h + 1) * HOUR_MS - 1) // slot_ms + 1):
            active_start.setdefault(slot, max(h * HOUR_MS, slot * slot_ms))
    sessions = {}
    for slot, start in active_start.items():
        srng = random.Random(f"{tag}|{slot}")
        end = (slot + 1) * slot_ms
        i = bisect_left(ms, slot * slot_ms)
        if i < len(ms) and ms[i] < end:
            # A client logs in just before its first request of the slot.
            login = ms[i] - srng.randint(0, min(1500, ms[i] - start))
        else:
            login = start + srng.randrange(min(60_000, end - start))
        host = "".join(srng.choice(B64) for _ in range(5))
        when = datetime.combine(task.day, time(0), UTC) + timedelta(milliseconds=login)
        sessions[slot] = Session(
            login,
            new_key(srng),
            new_key(srng),
            srng.choice(w.spec.source_ips),
            host,
            new_request_id(when, srng, host),
        )
    return ms, sessions, rng


def _rows(
    w: WorkloadCtx,
    task: DayTask,
    ms: list[int],
    sessions: dict[int, Session],
    rng: random.Random,
    counts: list[int] | None = None,
    api_events: list[dict[str, object]] | None = None,
) -> Iterator[tuple[str, str | None, str | None]]:
    """(ApiTotalUsage record, paid type, paid record) per call, in time order. ``counts``
    (one per call of the mix) receives how many calls of each kind were drawn;
    ``api_events`` an ApiEvent row per query (Real-Time Event Monitoring)."""
    vrng = random.Random(f"{task.seed}|{w.spec.name}|{task.day.isoformat()}|variants")
    job_id = _random_id("750", vrng)
    kinds: list[tuple[CallTemplate, list[str]]] = []
    queries: list[ApiCall | None] = []  # per kind: its prototype when it is a query
    cum, total = [], 0.0
    for call in w.spec.calls:
        fam = w.spec.family_of(call)
        # Bulk API 2.0 jobs are the day's own; records and batches recur across days.
        day = f"|{task.day.isoformat()}" if fam == "Bulk2" else ""
        pool = _pool(
            task.seed,
            w.spec.name,
            call.object,
            call.operation,
            call.external_id_field,
            w.prefixes.get(call.object, "a0X"),
            fam,
            day,
        )
        for v in range(VARIANTS):
            proto, record = _proto(w, call, task, vrng, job_id, v)
            kinds.append((build_template(proto, task.org15, paid=task.paid, record=record), pool))
            queries.append(proto if call.operation == "query" and proto.query else None)
            total += call.weight / VARIANTS
            cum.append(total)
    login_tmpl = (
        build_template(soap_login_call(w, task), task.org15, paid=task.paid)
        if w.spec.auth == "soap_login"
        else None
    )
    n = len(ms)
    picks = rng.choices(range(len(kinds)), cum_weights=cum, k=n) if kinds else []
    if counts is not None:
        for k in picks:
            counts[k // VARIANTS] += 1
    grb = rng.getrandbits
    recs = [grb(8) for _ in range(n)]
    rand = base64.urlsafe_b64encode(rng.randbytes(3 * (-(-9 * n // 4)))).decode()
    day_epoch = int(datetime.combine(task.day, time(0), UTC).timestamp())
    hi = {
        k: id_time_high(k << 12) for k in range(day_epoch >> 12, ((day_epoch + 86_399) >> 12) + 1)
    }
    dts, dtsd = task.day.strftime("%Y%m%d"), task.day.strftime("%Y-%m-%dT")
    slot_ms = min(max(w.spec.schedule.login_every_minutes, 1), 1440) * 60_000
    logins = sorted((s.login_ms, slot) for slot, s in sessions.items()) if login_tmpl else []
    li = 0
    cur, host = -1, ""
    bound: list[tuple[str, str | None, list[str], str | None]] = []
    j = 0
    for m, k, ri in zip(ms, picks, recs, strict=True):
        while li < len(logins) and logins[li][0] <= m:
            yield _login_row(login_tmpl, sessions[logins[li][1]], dts, dtsd)  # type: ignore[arg-type]
            li += 1
        slot = m // slot_ms
        if slot != cur:
            cur, sess = slot, sessions[slot]
            host = sess.host
            # Each kind its own paid type: one workload's calls may go through several APIs.
            bound = [
                (*t.bind(sess.session_key, sess.login_key, sess.ip), pool, t.paid_type)
                for t, pool in kinds
            ]
        ta, tp, pool, ptype = bound[k]
        s, r = divmod(m, 1000)
        e = day_epoch + s
        ms3 = MILLIS[r]
        rec = pool[ri % len(pool)]
        d = {
            "ts": dts + SECONDS_COMPACT[s] + "." + ms3,
            "tsd": dtsd + SECONDS_ISO[s] + "." + ms3 + "Z",
            "rid": hi[e >> 12]
            + ID_TIME_LOW[e & 4095]
            + ID_MILLIS[r]
            + rand[j : j + 7]
            + host
            + rand[j + 7 : j + 9]
            + "-",
            "rec": rec,
            "rec15": rec[:15],
        }
        j += 9
        if api_events is not None and (query := queries[k]) is not None:
            api_events.append(
                api_event_row(
                    replace(
                        query,
                        timestamp=datetime.combine(task.day, time(0), UTC)
                        + timedelta(milliseconds=m),
                        session_key=sess.session_key,
                        login_key=sess.login_key,
                        client_ip=sess.ip,
                    ),
                    event_id=d["rid"],
                )
            )
        yield ta % d, ptype, tp % d if tp else None
    for _, slot in logins[li:]:
        yield _login_row(login_tmpl, sessions[slot], dts, dtsd)  # type: ignore[arg-type]


def _login_row(
    tmpl: CallTemplate, sess: Session, dts: str, dtsd: str
) -> tuple[str, str | None, str | None]:
    ta, tp = tmpl.bind(sess.session_key, sess.login_key, sess.ip)
    s, r = divmod(sess.login_ms, 1000)
    d = {
        "ts": dts + SECONDS_COMPACT[s] + "." + MILLIS[r],
        "tsd": dtsd + SECONDS_ISO[s] + "." + MILLIS[r] + "Z",
        "rid": sess.login_request_id,  # the login request is the Login event's request
    }
    return ta % d, tmpl.paid_type, tp % d if tp else None


def render_run(
    w: WorkloadCtx,
    task: DayTask,
    ms: list[int],
    session: Session,
    *,
    tag: str,
    api_events: list[dict[str, object]] | None = None,
) -> tuple[dict[str, list[str]], list[tuple[Call, int]]]:
    """The event-log records of calls made in one login session of ``task.day`` (``ms``:
    their instants, sorted, all in the session's login slot), by event type, and how many
    calls of each kind of the mix they are. A SOAP login() session also gets its login
    call. Kinds missing from ``w.outcomes`` (when it is given) are not rendered: the live
    run could not make them."""
    if w.outcomes is not None:
        kept = [c for c in w.spec.calls if outcome_key(c) in w.outcomes]
        w = replace(w, spec=w.spec.model_copy(update={"calls": kept}))
        if not kept:
            ms = []
    slot_ms = min(max(w.spec.schedule.login_every_minutes, 1), 1440) * 60_000
    slot = (ms[0] if ms else session.login_ms) // slot_ms
    counts = [0] * len(w.spec.calls)
    out: dict[str, list[str]] = {}
    rows = _rows(w, task, ms, {slot: session}, random.Random(tag), counts, api_events)
    for atu, ptype, paid in rows:
        out.setdefault("ApiTotalUsage", []).append(atu)
        if ptype is not None and paid is not None:
            out.setdefault(ptype, []).append(paid)
    return out, list(zip(w.spec.calls, counts, strict=True))


def outcome_key(call: Call) -> tuple[str, str]:
    """How ``WorkloadCtx.outcomes`` names a kind of call: (object lower-cased, operation)."""
    return call.object.lower(), call.operation


def render_day(task: DayTask) -> DayResult:
    result = DayResult(task.day, {}, [], {}, {})
    streams = []
    for w in task.workloads:
        ms, sessions, rng = plan_day(w, task)
        result.calls[w.spec.name] = len(ms)
        day0 = datetime.combine(task.day, time(0), UTC)
        if w.spec.auth == "refresh_token":
            if sessions:
                last = max(s.login_ms for s in sessions.values())
                key = (w.user_id, w.app_name or w.spec.app)
                result.refreshes[key] = (len(sessions), day0 + timedelta(milliseconds=last))
        else:
            result.logins.extend(workload_login(w, task, s) for s in sessions.values())
        if task.render and (ms or (sessions and w.spec.auth == "soap_login")):
            events = result.api_events if task.real_time else None
            streams.append(_rows(w, task, ms, sessions, rng, api_events=events))
    for u in task.ui_users:
        result.logins.extend(ui_logins(u, task))
    if streams:
        rows = streams[0] if len(streams) == 1 else merge(*streams, key=itemgetter(0))
        result.bodies = _compress(rows)
    return result


def _compress(
    rows: Iterator[tuple[str, str | None, str | None]],
) -> dict[str, tuple[bytes, int, int]]:
    """Stream records into one zlib stream per event type (level 1, as the store keeps it)."""
    state: dict[str, tuple[zlib._Compress, list[bytes], list[int]]] = {}

    def feed(event_type: str, records: list[str]) -> None:
        if event_type not in state:
            state[event_type] = (zlib.compressobj(1), [], [0, 0])
        comp, chunks, counts = state[event_type]
        data = "".join(records).encode()
        chunks.append(comp.compress(data))
        counts[0] += len(data)
        counts[1] += len(records)

    while chunk := list(islice(rows, _BATCH)):
        feed("ApiTotalUsage", [c[0] for c in chunk])
        paid: dict[str, list[str]] = {}
        for _, ptype, record in chunk:
            if ptype is not None and record is not None:
                paid.setdefault(ptype, []).append(record)
        for ptype, records in paid.items():
            feed(ptype, records)
    return {
        t: (b"".join(chunks) + comp.flush(), size, n)
        for t, (comp, chunks, (size, n)) in state.items()
    }
