from datetime import UTC, date, datetime

from handover.coverage import decidable_until, decide, window, window_statuses
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
        ("RestApi", d8): "gap",  # before the earliest RestApi file the org still keeps
        ("RestApi", d9): "ingested",
    }
