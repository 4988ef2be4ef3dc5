"""What a gate's decision means for a migration, the verification window, and the
migration's writes as people and callers see them (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handover.migration.summary import change_line, consequence
from handover.migration.window import verification_window
from handover.models.migration import SECRET_PLACEHOLDER, WriteAction


@pytest.mark.parametrize(
    ("gate", "decision", "proceed", "roll_back", "outcome"),
    [
        ("plan", "approve", True, False, None),
        ("plan", "reject", False, False, "rejected"),
        ("plan", "expired", False, False, "expired"),
        ("cutover", "reject", False, True, "rejected"),
        ("cutover", "expired", False, True, "expired"),
        ("operator", "reject", False, True, "rejected"),
        ("inconclusive", "approve", True, False, None),
        ("inconclusive", "reject", False, True, "rolled_back"),
        ("inconclusive", "expired", False, True, "expired"),
        ("decommission", "reject", False, False, "rejected"),
        ("decommission", "expired", False, False, "expired"),
        ("freeze", "reject", False, False, "successful"),
        ("freeze", "expired", False, False, "successful"),
    ],
)
def test_what_each_gate_decision_means(
    gate: str, decision: str, proceed: bool, roll_back: bool, outcome: str | None
) -> None:
    c = consequence(gate, decision, ["U0LOOMIS02"], "not now")
    assert (c.proceed, c.roll_back, c.outcome) == (proceed, roll_back, outcome)
    if decision == "reject":
        assert "by U0LOOMIS02: not now" in c.reason
    if gate == "decommission" and not proceed:
        assert "keeps running as the new user" in c.reason
    if gate == "freeze" and not proceed:
        assert "the account stays active" in c.reason


def test_the_window_starts_after_the_settling_time_on_a_whole_hour() -> None:
    w = verification_window(
        datetime(2026, 11, 2, 9, 17, tzinfo=UTC), settle_minutes=120, window_hours=24
    )
    assert (w.start, w.end) == (
        datetime(2026, 11, 2, 12, tzinfo=UTC),
        datetime(2026, 11, 3, 12, tzinfo=UTC),
    )
    assert w.days == [date(2026, 11, 2), date(2026, 11, 3)]
    # The last day's daily log file is due the morning after.
    assert w.ready_at == datetime(2026, 11, 4, 6, tzinfo=UTC)
    assert w.hours == 24
    assert w.hours_of_day == [*range(12, 24), *range(12)]  # the verdict's "same hours"
    short = verification_window(
        datetime(2026, 11, 2, 10, 0, tzinfo=UTC), settle_minutes=0, window_hours=0.5
    )
    assert (short.start.hour, short.hours) == (10, 1)  # at least one whole hour


def test_a_change_line_never_shows_a_secret() -> None:
    action = WriteAction(
        step="cutover", key="cutover:credentials", action="update", object="Credentials",
        target="Tableau credentials (file)", after={"username": "svc.t@x.example",
                                                   "password": SECRET_PLACEHOLDER},
    )  # fmt: skip
    assert change_line(action) == (
        "Update Credentials Tableau credentials (file): username → svc.t@x.example, "
        "password → <new password>"
    )
