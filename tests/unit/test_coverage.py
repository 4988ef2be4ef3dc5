from datetime import UTC, date, datetime, timedelta

from handover.coverage import (
    decidable_until,
    decide,
    earliest_held,
    retention_days,
    window,
    window_statuses,
)
from handover.models import EventLogFileMeta


def test_files_of_yesterday_are_not_judged_before_they_are_written():
    assert decidable_until(datetime(2026, 11, 10, 3, 0, tzinfo=UTC)) == date(2026, 11, 8)
    assert decidable_until(datetime(2026, 11, 10, 7, 0, tzinfo=UTC)) == date(2026, 11, 9)


def test_window_ends_yesterday():
    assert window(datetime(2026, 11, 10, 9, tzinfo=UTC), 30) == (
        date(2026, 10, 11),
        date(2026, 11, 9),
    )


def test_missed_days_are_gaps_and_quiet_days_are_empty():
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    out = decide(
        event_type="ApiTotalUsage",
        start=date(2026, 11, 5),
        end=date(2026, 11, 9),
        org_now=now,
        ingested_days={date(2026, 11, 5), date(2026, 11, 9)},
        listed_days={date(2026, 11, 8), date(2026, 11, 9)},  # 11-08 listed, 11-07 gone
        already_decided=set(),
    )
    by_day = {s.day: s.status for s in out}
    assert by_day == {
        date(2026, 11, 5): "ingested",
        date(2026, 11, 6): "gap",
        date(2026, 11, 7): "gap",
        date(2026, 11, 8): "empty",  # inside the range the org still keeps: no traffic
        date(2026, 11, 9): "ingested",
    }
    assert all("run discovery daily" in s.note for s in out if s.status == "gap")


def test_decided_days_are_not_decided_again():
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    out = decide(
        event_type="Login",
        start=date(2026, 11, 8),
        end=date(2026, 11, 9),
        org_now=now,
        ingested_days=set(),
        listed_days=set(),
        already_decided={date(2026, 11, 8), date(2026, 11, 9)},
    )
    assert out == []


def test_a_runs_statuses_cover_every_listed_type_and_the_free_ones():
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    d8, d9 = date(2026, 11, 8), date(2026, 11, 9)
    files = [
        EventLogFileMeta("0AT000000000001", "ApiTotalUsage", d8),
        EventLogFileMeta("0AT000000000002", "ApiTotalUsage", d9),
        EventLogFileMeta("0AT000000000003", "RestApi", d9),
    ]
    out = window_statuses(
        files=files,
        ingested_ids={"0AT000000000001", "0AT000000000002", "0AT000000000003"},
        decided={"Login": {d8}},
        org_now=now,
        start=d8,
        end=d9,
    )
    got = {(s.event_type, s.day): s.status for s in out}
    assert got == {
        ("ApiTotalUsage", d8): "ingested",
        ("ApiTotalUsage", d9): "ingested",
        ("Login", d9): "empty",  # free: decided though no Login file is listed; d8 was
        ("RestApi", d8): "empty",  # the org still keeps d8 (its ApiTotalUsage is listed)
        ("RestApi", d9): "ingested",
    }


def meta(n: int, event_type: str, day: date) -> EventLogFileMeta:
    return EventLogFileMeta(f"0AT{n:012d}", event_type, day)


def test_retention_is_what_the_listing_shows() -> None:
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    free = [meta(1, "ApiTotalUsage", date(2026, 11, 9)), meta(2, "Login", date(2026, 11, 9))]
    assert retention_days(free, now) == 1
    paid = [meta(i, "RestApi", date(2026, 10, 11) + timedelta(days=i)) for i in range(30)]
    assert retention_days(paid, now) == 30
    assert retention_days([], now) == 1  # nothing listed: claim nothing more
    assert earliest_held(free, now) == date(2026, 11, 9)
    assert earliest_held(paid, now) == date(2026, 10, 11)


def test_the_first_run_on_a_free_logs_org_records_no_gap_before_history() -> None:
    # A new install on a free-logs org: the 30-day window reaches back before the first run,
    # and the org keeps one day. Those days are before history, not gaps.
    now = datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
    start, end = window(now, 30)
    files = [meta(1, "ApiTotalUsage", date(2026, 11, 9)), meta(2, "Login", date(2026, 11, 9))]
    out = window_statuses(
        files=files, ingested_ids={f.file_id for f in files}, decided={}, org_now=now,
        start=start, end=end,
    )  # fmt: skip
    assert {(s.day, s.status) for s in out} == {(date(2026, 11, 9), "ingested")}


def test_a_missed_run_after_history_began_is_a_gap_worded_by_retention() -> None:
    # History began on Nov 5; no run on the mornings of Nov 8 and 9: Nov 7 and 8 are lost.
    now = datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
    files = [meta(1, "ApiTotalUsage", date(2026, 11, 9))]
    out = window_statuses(
        files=files,
        ingested_ids={"0AT000000000001"},
        decided={"ApiTotalUsage": {date(2026, 11, 5), date(2026, 11, 6)}},
        org_now=now,
        start=date(2026, 10, 12),
        end=date(2026, 11, 9),
        history_began=date(2026, 11, 5),
    )
    gaps = [s for s in out if s.event_type == "ApiTotalUsage" and s.status == "gap"]
    assert [g.day for g in gaps] == [date(2026, 11, 7), date(2026, 11, 8)]
    assert "kept 1 day without Event Monitoring" in gaps[0].note
    assert gaps[0].note.endswith("run discovery daily")
    assert not any(s.day < date(2026, 11, 5) for s in out)  # before history: nothing


def test_with_event_monitoring_a_gap_says_thirty_days() -> None:
    # An org keeping 30 days, whose discovery stopped for five weeks.
    now = datetime(2026, 12, 20, 6, 30, tzinfo=UTC)
    files = [meta(i, "ApiTotalUsage", date(2026, 11, 20) + timedelta(days=i)) for i in range(30)]
    out = decide(
        event_type="ApiTotalUsage",
        start=date(2026, 11, 1),
        end=date(2026, 12, 19),
        org_now=now,
        ingested_days=set(),
        listed_days={f.log_date for f in files},
        already_decided={date(2026, 11, 1) + timedelta(days=i) for i in range(10)},
        history_began=date(2026, 10, 1),
        retention=retention_days(files, now),
    )
    gaps = [s for s in out if s.status == "gap"]
    assert [g.day for g in gaps] == [date(2026, 11, 11) + timedelta(days=i) for i in range(9)]
    assert "kept 30 days in this org" in gaps[0].note
