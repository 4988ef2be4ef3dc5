"""Bulk API 1.0 and 2.0 traffic from the logs to the plan: "never a smaller plan from
missing data" (issue 9 §1).

ApiTotalUsage records Bulk requests but not which operation a job ran; the Event Monitoring
BulkApi (one row per batch) and BulkApi2 (one event per job state change) logs say it, per
object, but name no app. The store reads each day from the most detailed log it has, and a
plan with an operation of unknown kind is blocked, never "ready" with fewer permissions.
CSV rows are shaped like the real files (reference §2.4).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from handover.ids import to18
from handover.models import AccessPlan, Finding, OperationEvidence
from handover.plan import build_plan
from handover.planning.checks import check_known_kinds, verify_plan
from handover.planning.inputs import OrgFacts, StoreEvidence, plan_inputs
from handover.render import render_plan_blocks, render_plan_markdown
from handover.settings import PlanSettings
from handover.usage import UsageStore, parse_event_log
from handover.usage.model import ParseResult
from tests.unit.test_plan import admin, finding, make_inputs, op, plan_of
from tests.unit.test_usage_store import (
    APP,
    DAY,
    HUMAN,
    ORG,
    atu_csv,
    meta,
    store,  # noqa: F401  (the fixture: SQLite, and PostgreSQL when configured)
    sync_call,
)

USER, KEY = to18(HUMAN), f"app:{to18(APP)}"
OTHER_APP = "0H45g000000Wh02"
JOB1, JOB2 = "7505g00000Job01", "7505g00000Job02"

# Real column orders: the common prefix, the type's own columns, the common suffix.
_PREFIX = ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "RUN_TIME",
           "CPU_TIME", "URI", "SESSION_KEY", "LOGIN_KEY"]  # fmt: skip
_SUFFIX = ["TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"]
BULK_API = [*_PREFIX, "JOB_ID", "BATCH_ID", "ROWS_PROCESSED", "NUMBER_FAILURES", "SUCCESS",
            "MESSAGE", "ENTITY_TYPE", "OPERATION_TYPE", *_SUFFIX]  # fmt: skip
BULK_API2 = [*_PREFIX, "JOB_ID", "JOB_STATUS", "OPERATION_TYPE", "ENTITY_TYPE",
             "RECORDS_PROCESSED", "RECORDS_FAILED", "RESULT_SIZE_MB", *_SUFFIX]  # fmt: skip

# What the nightly job does, as the logs spell the operations (Bulk 1.0 and 2.0 alike).
JOBS = [("Account", "query"), ("Account", "insert"), ("Account", "update"),
        ("Contact", "upsert"), ("Contact", "delete")]  # fmt: skip
EXPECTED = [("Account", "create"), ("Account", "query"), ("Account", "update"),
            ("Contact", "delete"), ("Contact", "upsert")]  # fmt: skip


def _stamp(day: date, hour: int, minute: int, second: int = 0) -> str:
    return f"{day:%Y%m%d}{hour:02d}{minute:02d}{second:02d}.000"


def batch(day: date, minute: int, entity: str, operation: str, **over: str) -> dict[str, str]:
    """A BulkApi row: one batch of a Bulk API 1.0 job."""
    row = {"EVENT_TYPE": "BulkApi", "TIMESTAMP": _stamp(day, 1, minute), "USER_ID": HUMAN,
           "URI": "BULKAPI-LOG", "JOB_ID": JOB1, "BATCH_ID": f"7515g00000Bat{minute:02d}",
           "ROWS_PROCESSED": "200", "NUMBER_FAILURES": "0", "SUCCESS": "1",
           "MESSAGE": '"success"', "ENTITY_TYPE": entity, "OPERATION_TYPE": operation}  # fmt: skip
    return row | over


def job_event(
    day: date, minute: int, job: str, status: str, entity: str, operation: str, **over: str
) -> dict[str, str]:
    """A BulkApi2 event: one state change of a Bulk API 2.0 job."""
    row = {"EVENT_TYPE": "BulkApi2", "TIMESTAMP": _stamp(day, 2, minute), "USER_ID": HUMAN,
           "URI": f"/services/data/v59.0/jobs/ingest/{job}", "JOB_ID": job,
           "JOB_STATUS": status, "OPERATION_TYPE": operation, "ENTITY_TYPE": entity,
           "RECORDS_PROCESSED": "0", "RECORDS_FAILED": "0"}  # fmt: skip
    return row | over


def job(day: date, minute: int, job_id: str, entity: str, operation: str) -> list[dict[str, str]]:
    """A Bulk API 2.0 job that ran to completion: four state changes, one job."""
    return [
        job_event(day, minute, job_id, "Open", entity, operation),
        job_event(day, minute + 1, job_id, "UploadComplete", entity, operation),
        job_event(day, minute + 2, job_id, "InProgress", entity, operation),
        job_event(
            day, minute + 3, job_id, "JobComplete", entity, operation, RECORDS_PROCESSED="500"
        ),
    ]


def bulk1_request(day: date, minute: int, entity: str, **over: str) -> dict[str, str]:
    """An ApiTotalUsage row of a Bulk API 1.0 request: it says Bulk, not which operation."""
    row = sync_call(day, 1, minute, API_FAMILY="Bulk", HTTP_METHOD="POST", STATUS_CODE="201",
                    API_RESOURCE=f"/services/async/59.0/job/{JOB1}/batch", ENTITY_NAME=entity)  # fmt: skip
    return row | over


def bulk2_request(
    day: date, minute: int, entity: str, operation: str, **over: str
) -> dict[str, str]:
    """An ApiTotalUsage row of a Bulk API 2.0 request (a REST path under /jobs): a query job
    says "query"; an ingest job's upload does not say insert, update, upsert or delete."""
    if operation == "query":
        path, method = "/v59.0/jobs/query", "POST"
    else:
        path, method = f"/v59.0/jobs/ingest/{JOB2}/batches", "PUT"
    row = sync_call(day, 2, minute, API_FAMILY="REST", HTTP_METHOD=method, STATUS_CODE="201",
                    API_RESOURCE=path, ENTITY_NAME=entity)  # fmt: skip
    return row | over


def free_rows(day: date, version: int, **over: str) -> list[dict[str, str]]:
    if version == 1:
        return [bulk1_request(day, i, entity, **over) for i, (entity, _) in enumerate(JOBS)]
    return [bulk2_request(day, i, entity, o, **over) for i, (entity, o) in enumerate(JOBS)]


def detail_rows(day: date, version: int, user: str = HUMAN) -> list[dict[str, str]]:
    if version == 1:
        return [batch(day, i, entity, o, USER_ID=user) for i, (entity, o) in enumerate(JOBS)]
    rows = []
    for i, (entity, o) in enumerate(JOBS):
        rows += [
            r | {"USER_ID": user} for r in job(day, 10 * i, f"7505g000002Jb{i:02d}", entity, o)
        ]
    return rows


def detail_file(rows: list[dict[str, str]], version: int) -> bytes:
    return atu_csv(rows, BULK_API if version == 1 else BULK_API2)


def detail_type(version: int) -> str:
    return "BulkApi" if version == 1 else "BulkApi2"


def ops_of(parsed: ParseResult) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for a in parsed.api.values():
        out[(a.entity, a.operation, a.status)] = (
            out.get((a.entity, a.operation, a.status), 0) + a.calls
        )
    return out


# ---------------------------------------------------------------------- parsing


def test_bulk_api2_counts_jobs_not_state_changes() -> None:
    rows = job(DAY, 0, "7505g00000Jb001", "Account", "insert")
    rows += job(DAY, 10, "7505g00000Jb002", "Account", "insert")
    rows += job(DAY, 20, "7505g00000Jb003", "Contact", "hardDelete")
    # Failed with nothing processed: nothing was done. Failed after some records went
    # through ("job data that was successfully processed isn't rolled back"): done.
    rows += [job_event(DAY, 30, "7505g00000Jb004", "Open", "Account", "update"),
             job_event(DAY, 31, "7505g00000Jb004", "Failed", "Account", "update")]  # fmt: skip
    rows += [job_event(DAY, 40, "7505g00000Jb005", "InProgress", "Account", "upsert"),
             job_event(DAY, 41, "7505g00000Jb005", "Failed", "Account", "upsert",
                       RECORDS_PROCESSED="900", RECORDS_FAILED="3")]  # fmt: skip
    # Still running at midnight: its outcome is the next day's file's to tell.
    rows += [job_event(DAY, 50, "7505g00000Jb006", "UploadComplete", "Order", "query")]
    parsed = parse_event_log("BulkApi2", DAY, detail_file(rows, 2))
    assert ops_of(parsed) == {
        ("Account", "create", "success"): 2,
        ("Contact", "delete", "success"): 1,
        ("Account", "update", "failure"): 1,
        ("Account", "upsert", "success"): 1,
        ("Order", "query", "unknown"): 1,
    }
    assert {a.api_family for a in parsed.api.values()} == {"Bulk2"}
    assert parsed.missing_columns == []
    create = next(a for a in parsed.api.values() if a.operation == "create")
    assert create.example == "Bulk2 insert Account" and sum(create.hours) == 2


def test_bulk_api_names_the_operation_of_each_batch() -> None:
    rows = [batch(DAY, i, entity, o) for i, (entity, o) in enumerate(JOBS)]
    rows += [batch(DAY, 20, "Contact", "hardDelete"), batch(DAY, 21, "Account", "queryAll"),
             batch(DAY, 22, "Account", "update", SUCCESS="0"),
             batch(DAY, 23, "", "insert")]  # fmt: skip
    parsed = parse_event_log("BulkApi", DAY, detail_file(rows, 1))
    assert ops_of(parsed) == {
        ("Account", "query", "success"): 2,
        ("Account", "create", "success"): 1,
        ("Account", "update", "success"): 1,
        ("Account", "update", "failure"): 1,
        ("Contact", "upsert", "success"): 1,
        ("Contact", "delete", "success"): 2,
        # A batch whose object the log does not name is a Bulk job of unknown kind.
        ("", "bulk", "success"): 1,
    }


def test_api_total_usage_says_of_bulk_requests_what_it_can() -> None:
    rows = [
        bulk1_request(DAY, 0, "Account"),
        bulk2_request(DAY, 1, "Account", "insert"),
        bulk2_request(DAY, 2, "Contact", "query"),
        bulk2_request(DAY, 3, "", "query"),  # a query job on an object the row does not name
        # Polling a query job and reading its results continue a job already counted.
        sync_call(DAY, 2, 4, API_FAMILY="REST", HTTP_METHOD="GET", ENTITY_NAME="",
                  API_RESOURCE=f"/v59.0/jobs/query/{JOB2}/results", STATUS_CODE="200"),
        # Whatever family the log gives a Bulk API 2.0 request, its path says what it is.
        bulk2_request(DAY, 5, "Order", "upsert", API_FAMILY="Bulk"),
    ]  # fmt: skip
    parsed = parse_event_log("ApiTotalUsage", DAY, atu_csv(rows))
    got = {(a.api_family, a.entity, a.operation) for a in parsed.api.values()}
    assert got == {
        ("Bulk", "Account", "bulk"),
        ("Bulk2", "Account", "bulk"),
        ("Bulk2", "Contact", "query"),
        ("Bulk2", "", "bulk"),
        ("Bulk2", "", "query"),
        ("Bulk2", "Order", "bulk"),
    }


# ---------------------------------------------------------------------- the store's evidence


@pytest.mark.parametrize("version", [1, 2])
def test_with_event_monitoring_the_bulk_log_says_what_each_job_did(
    store: UsageStore,  # noqa: F811
    version: int,
) -> None:
    d1, d2 = DAY, DAY + timedelta(days=1)
    for d in (d1, d2):
        store.ingest_event_log(ORG, meta(d), atu_csv(free_rows(d, version)))
        typ = detail_type(version)
        store.ingest_event_log(
            ORG, meta(d, None, typ), detail_file(detail_rows(d, version), version)
        )
    ops = store.operation_evidence(ORG, HUMAN, KEY, d1, d2)
    # Per (object, operation), from the detailed log rather than the free one; Bulk API 2.0
    # counts jobs (two days, one job each), not their four state changes.
    assert [(o.object, o.operation, o.count) for o in ops] == [(*e, 2) for e in EXPECTED]
    assert store.other_operations(ORG, HUMAN, KEY, d1, d2) == {}
    # When the integration ran still counts every request of the free log.
    assert store.calls_by_day(ORG, HUMAN, KEY, d1, d2) == {d1: 5, d2: 5}


@pytest.mark.parametrize("version", [1, 2])
def test_without_event_monitoring_bulk_jobs_stay_of_unknown_kind(
    store: UsageStore,  # noqa: F811
    version: int,
) -> None:
    store.ingest_event_log(ORG, meta(DAY), atu_csv(free_rows(DAY, version)))
    ops = store.operation_evidence(ORG, HUMAN, KEY, DAY, DAY)
    other = store.other_operations(ORG, HUMAN, KEY, DAY, DAY)
    if version == 1:
        assert ops == []
        assert other == {"Account.bulk": 3, "Contact.bulk": 2}
    else:  # a Bulk API 2.0 query job says it is one
        assert [(o.object, o.operation) for o in ops] == [("Account", "query")]
        assert other == {"Account.bulk": 2, "Contact.bulk": 2}


@pytest.mark.parametrize("version", [1, 2])
def test_bulk_jobs_of_two_apps_of_one_user_on_one_day_are_not_guessed(
    store: UsageStore,  # noqa: F811
    version: int,
) -> None:
    # The detailed logs name no app: with two of the user's apps running Bulk jobs that
    # day, neither can be given the other's jobs, so both stay of unknown kind.
    rows = free_rows(DAY, version)
    rows += [r | {"CONNECTED_APP_ID": OTHER_APP, "CONNECTED_APP_NAME": "Warehouse"}
             for r in free_rows(DAY, version)[1:2]]  # fmt: skip
    store.ingest_event_log(ORG, meta(DAY), atu_csv(rows))
    typ = detail_type(version)
    store.ingest_event_log(
        ORG, meta(DAY, None, typ), detail_file(detail_rows(DAY, version), version)
    )
    for key in (KEY, f"app:{to18(OTHER_APP)}"):
        assert "Account.bulk" in store.other_operations(ORG, HUMAN, key, DAY, DAY), key
    # Another user's jobs are no evidence for this one's: the log had none of theirs.
    store.ingest_event_log(
        ORG, meta(DAY + timedelta(days=1)), atu_csv(free_rows(DAY + timedelta(days=1), version))
    )
    store.ingest_event_log(
        ORG, meta(DAY + timedelta(days=1), None, typ),
        detail_file(detail_rows(DAY + timedelta(days=1), version, user="0055g00000Ann02"), version),
    )  # fmt: skip
    other = store.other_operations(
        ORG, HUMAN, KEY, DAY + timedelta(days=1), DAY + timedelta(days=1)
    )
    assert "Account.bulk" in other


def test_a_request_on_an_object_that_handover_cannot_name_is_of_unknown_kind(
    store: UsageStore,  # noqa: F811
) -> None:
    # A composite tree request creates records of its object, and maybe more: not neutral.
    rows = [sync_call(DAY, 1, API_RESOURCE="/v59.0/composite/tree/Account", ENTITY_NAME="Account"),
            sync_call(DAY, 1, 1, HTTP_METHOD="GET", API_RESOURCE="/v59.0/limits", ENTITY_NAME="")]  # fmt: skip
    store.ingest_event_log(ORG, meta(DAY), atu_csv(rows))
    other = store.other_operations(ORG, HUMAN, KEY, DAY, DAY)
    assert other == {"Account.other": 1}
    plan = plan_of(make_inputs([op("Account", "query")], other_operations=other))
    assert plan.status == "blocked"
    assert "does not recognise" in plan.blockers[0].reason


# ---------------------------------------------------------------------- the plan


def test_an_operation_of_unknown_kind_blocks_the_plan() -> None:
    inputs = make_inputs(
        [op("Account", "query")],
        other_operations={"Account.bulk": 40, "bulk": 2, "Contact.undelete": 3, "search": 5},
    )
    plan = plan_of(inputs)
    assert plan.status == "blocked"
    blockers = {b.object: b for b in plan.blockers}
    assert set(blockers) == {"Account", "(object not logged)", "Contact"}
    bulk = blockers["Account"]
    assert bulk.count == 40
    assert "BulkApi" in bulk.action and "BulkApi2" in bulk.action
    assert "declared operation list" in bulk.action and "approver" in bulk.action
    assert "undelete" in blockers["Contact"].reason
    assert "blocked" in plan.headline
    # What is covered by a blocker is not repeated among the calls to check by hand.
    assert any("search ×5" in n and "bulk" not in n for n in plan.notes)
    # People read it in the report and in Slack (whose limits the blocks must keep).
    md = render_plan_markdown(plan)
    assert "| (object not logged) | unknown |" in md and "logs do not show in full" in md
    blocks = render_plan_blocks(plan)
    assert any("declared operation list" in json.dumps(b) for b in blocks)


def test_an_integration_seen_only_through_bulk_jobs_of_unknown_kind_is_blocked() -> None:
    # Not "insufficient evidence": it ran, on objects the logs name; what it did is missing.
    plan = plan_of(make_inputs([], other_operations={"Account.bulk": 30}))
    assert plan.status == "blocked" and plan.permission_set.object_permissions == []
    assert [b.object for b in plan.blockers] == ["Account"]


def test_searches_and_apex_calls_alone_do_not_block() -> None:
    plan = plan_of(make_inputs([op("Account", "query")], other_operations={"search": 5, "apex": 1}))
    assert plan.status == "ready" and plan.blockers == []


def test_no_plan_is_ready_with_an_operation_of_unknown_kind() -> None:
    ready = plan_of(make_inputs([op("Account", "query")]))
    assert ready.status == "ready"
    unknown = make_inputs([op("Account", "query")], other_operations={"Account.bulk": 4})
    assert check_known_kinds(ready, unknown) != []
    problems = verify_plan(ready, unknown)
    assert any("Account.bulk" in p and "unknown kind" in p for p in problems)
    # Blocked is not enough: the blocker must be about that object.
    blocked = ready.model_copy(update={"status": "blocked"})
    assert check_known_kinds(blocked, unknown) != []
    assert check_known_kinds(plan_of(unknown), unknown) == []


# ---------------------------------------------------------------------- store to plan


def _plan_from_store(s: UsageStore, start: date, end: date) -> AccessPlan:
    args = (ORG, HUMAN, KEY, start, end)
    cov = s.evidence_coverage(ORG, start, end)
    evidence = StoreEvidence(
        start=cov.start, end=cov.end, operations=s.operation_evidence(*args),
        fields=s.field_evidence(*args),
        field_evidence_available=s.field_evidence_available(ORG, start, end),
        days_observed=cov.days_observed, gap_days=cov.gap_days,
        unrecorded_days=cov.unrecorded_days, calls_by_day=s.calls_by_day(*args),
        other_operations=s.other_operations(*args),
    )  # fmt: skip
    f: Finding = finding(user_id=to18(HUMAN), app_key=KEY, connected_app_id=to18(APP),
                         window_start=start, window_end=end)  # fmt: skip
    facts = OrgFacts(permissionable_fields={}, readonly_fields={}, master_detail={},
                     grantable_objects=None, public_objects=frozenset())  # fmt: skip
    inputs = plan_inputs(f, evidence, admin(user_id=to18(HUMAN)), facts)
    result = build_plan(inputs, PlanSettings(min_days_observed=14))
    assert isinstance(result, AccessPlan), getattr(result, "reasons", result)
    return result


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("event_monitoring", [True, False])
def test_a_nightly_bulk_job_is_never_planned_smaller_than_it_is(
    store: UsageStore,  # noqa: F811
    version: int,
    event_monitoring: bool,
) -> None:
    """The reported case: a nightly job that also reads Accounts over REST creates and
    updates them through the Bulk API. Its plan was "ready" with Read on Account only."""
    days = [DAY + timedelta(days=i) for i in range(14)]
    for d in days:
        rest_query = sync_call(d, 0, 30, HTTP_METHOD="GET", API_RESOURCE="/v59.0/query",
                               ENTITY_NAME="Account", STATUS_CODE="200")  # fmt: skip
        store.ingest_event_log(ORG, meta(d), atu_csv([rest_query, *free_rows(d, version)]))
        store.record_coverage(ORG, d, "Login", "ingested")
        if event_monitoring:
            rows = detail_rows(d, version)
            store.ingest_event_log(
                ORG, meta(d, None, detail_type(version)), detail_file(rows, version)
            )
    plan = _plan_from_store(store, days[0], days[-1])
    granted = {p.object: {f for f in ("read", "create", "edit", "delete") if getattr(p, f)}
               for p in plan.permission_set.object_permissions}  # fmt: skip
    if event_monitoring:
        assert plan.status == "ready", plan.blockers
        assert granted == {"Account": {"read", "create", "edit"},
                           "Contact": {"read", "create", "edit", "delete"}}  # fmt: skip
        assert all(isinstance(o, OperationEvidence) for o in plan.operations)
    else:
        assert plan.status == "blocked"
        assert {b.object for b in plan.blockers} == {"Account", "Contact"}
        assert all("Bulk API" in b.reason for b in plan.blockers)
