"""The verification verdict: static access against the plan (the exact difference named)
and live traffic against the plan's baseline, each with reasons and figures."""

from __future__ import annotations

from typing import Any

import pytest

from handover.migration.verify import baseline_from_plan, judge
from handover.models import FieldAccess, HumanAccess, ObjectAccess
from handover.models.migration import TrafficFigures, VerificationInputs
from tests.migration.plans import make_plan

PLAN = make_plan(operations=[("Account", "query", 1400), ("Contact", "update", 280)])


def access(
    objects: dict[str, dict[str, bool]], fields: dict[str, dict[str, bool]], **kw: Any
) -> HumanAccess:
    return HumanAccess(
        user_id="005000000000002AAA",
        username="svc-erp@tiny.example.com",
        objects={o: ObjectAccess(**f) for o, f in objects.items()},
        fields={n: FieldAccess(**f) for n, f in fields.items()},
        system_permissions=frozenset(kw.pop("system", {"ApiEnabled"})),
        **kw,
    )


EXACT = access(
    {"Account": {"read": True}, "Contact": {"read": True, "create": True, "edit": True}},
    {"Account.Phone": {"read": True}, "Contact.Email": {"read": True, "edit": True}},
)
PROFILE = access({"User": {"read": True}}, {}, system={"ApiUserOnly", "ApiEnabled"})


def inputs(granted: HumanAccess = EXACT, **kw: Any) -> VerificationInputs:
    return VerificationInputs(planned=PLAN.permission_set, granted=granted, profile=PROFILE, **kw)


def window(days: float = 1, **kw: Any) -> TrafficFigures:
    figures = {
        "operations": {"Account.query": 100, "Contact.update": 20},
        "status_codes": {"200": 120},
        "logins": 4,
    }
    return TrafficFigures(days=days, **(figures | kw))


def test_exact_access_passes_and_says_so() -> None:
    granted = access(
        {**{k: v.model_dump() for k, v in EXACT.objects.items()}, "User": {"read": True}},
        {k: v.model_dump() for k, v in EXACT.fields.items()},
        system={"ApiEnabled", "ApiUserOnly"},  # from the profile: not "beyond the plan"
    )
    result = judge(inputs(granted))
    assert result.outcome == "successful"
    assert [c.name for c in result.checks] == ["access-covers-plan", "access-within-plan"]
    assert "all 8 planned permissions" in result.reasons[0]


def test_missing_and_extra_access_are_named() -> None:
    granted = access(
        {"Account": {"read": True, "delete": True, "edit": True}, "Contact": {"read": True}},
        {"Account.Phone": {"read": True, "edit": True}},
        system={"ApiEnabled", "ModifyAllData"},
    )
    result = judge(inputs(granted))
    assert result.outcome == "failed"
    covers, within = result.checks
    assert covers.figures["missing"] == [
        "Create Contact", "Edit Contact", "Edit Contact.Email", "Read Contact.Email",
    ]  # fmt: skip
    assert within.figures["extra"] == [
        "Delete Account", "Edit Account", "Edit Account.Phone", "System ModifyAllData",
    ]  # fmt: skip
    assert "Delete Account" in within.reason


def test_live_traffic_as_before_is_successful() -> None:
    result = judge(
        inputs(baseline=baseline_from_plan(PLAN), new_user=window(), human=TrafficFigures(days=1))
    )
    assert result.outcome == "successful", result.reasons
    volume = next(c for c in result.checks if c.name == "volume")
    assert volume.figures["operations"]["Account.query"] == {"expected": 100.0, "actual": 100}


def test_no_traffic_is_inconclusive_never_successful() -> None:
    quiet = TrafficFigures(days=1)
    result = judge(inputs(baseline=baseline_from_plan(PLAN), new_user=quiet, human=quiet))
    assert result.outcome == "inconclusive"
    assert "no traffic" in result.reasons[0]


def test_the_human_still_calling_fails() -> None:
    human = TrafficFigures(
        days=1, operations={"Account.query": 30}, status_codes={"200": 30}, logins=1
    )
    result = judge(inputs(baseline=baseline_from_plan(PLAN), new_user=window(), human=human))
    assert result.outcome == "failed"
    assert any("still made 30 call(s) and 1 login(s)" in r for r in result.reasons)


def test_volume_success_rate_and_new_errors() -> None:
    base = baseline_from_plan(PLAN)  # 100 queries and 20 updates a day
    low = window(
        operations={"Account.query": 30, "Contact.update": 20}, status_codes={"200": 40, "403": 10}
    )
    result = judge(
        inputs(baseline=base, new_user=low), volume_tolerance=0.5, success_tolerance=0.05
    )
    failed = {c.name: c for c in result.checks if c.ok is False}
    assert set(failed) == {"volume", "success-rate", "error-codes"}
    assert "Account.query: 30 calls, ~100 expected" in failed["volume"].reason
    assert failed["success-rate"].figures == {"rate": 0.8, "baseline": 1.0, "tolerance": 0.05}
    assert failed["error-codes"].figures["new"] == {"403": 10}
    # A baseline that had those errors too does not count them as new.
    seen = base.model_copy(update={"status_codes": {"200": 1600, "403": 80}})
    result = judge(inputs(baseline=seen, new_user=low), success_tolerance=0.2)
    assert {c.name for c in result.checks if c.ok is False} == {"volume"}


def test_rare_operations_are_not_judged_on_volume() -> None:
    plan = make_plan(operations=[("Account", "query", 1400), ("Account", "delete", 3)])
    result = judge(
        inputs(
            baseline=baseline_from_plan(plan), new_user=window(operations={"Account.query": 100})
        )
    )
    volume = next(c for c in result.checks if c.name == "volume")
    assert volume.ok and volume.figures["too_rare"] == ["Account.delete"]
    assert "too rare to judge" in volume.reason


def test_baseline_from_plan_is_per_observed_day() -> None:
    base = baseline_from_plan(make_plan(operations=[("Order", "create", 70)], days_observed=7))
    assert base.days == 7 and base.operations == {"Order.create": 70}


def test_traffic_of_a_usage_profile() -> None:
    from datetime import date

    from handover.migration.verify import traffic_of
    from handover.models import AppRef, UsageProfile, UserInfo

    profile = UsageProfile(
        org_id="00D000000000001AAA",
        user=UserInfo(user_id="005000000000002AAA", username="svc-erp@tiny.example.com"),
        app=AppRef.for_app("0H4000000000001AAA", "ERP Sync"),
        window_start=date(2026, 10, 1),
        window_end=date(2026, 10, 1),
        days_observed=1,
        operations={"Account.query": 90},
        status_codes={"200": 88, "500": 2},
        logins={"Remote Access 2.0": 3, "Remote Access 2.0|OAuth Refresh Token": 1},
    )
    figures = traffic_of(profile)
    assert (figures.days, figures.calls, figures.logins) == (1, 90, 4)
    assert figures.error_codes == {"500"} and figures.success_rate == pytest.approx(88 / 90)
    result = judge(inputs(baseline=baseline_from_plan(PLAN), new_user=figures))
    assert result.figures["error-codes"] == {"new": {"500": 2}}


def every_two_hours(calls: int, days: int, *, first_hour: int = 0) -> dict[str, list[int]]:
    """A job's successful calls by hour: ``calls`` at every other hour, each day."""
    hours = [calls if h % 2 == first_hour % 2 else 0 for h in range(24)]
    return {f"2026-10-{d + 1:02d}": list(hours) for d in range(days)}


def test_a_job_every_two_hours_is_judged_on_the_runs_the_window_holds() -> None:
    """A 3-hour window holds one run or two of a job that runs every other hour: the daily
    average (1.5 runs) fails the window with two by 33 %, the one with one by 33 %; judged
    against the same hours of the baseline's days, both are as before."""
    base = baseline_from_plan(make_plan(operations=[("Order", "create", 14 * 12 * 20)]))
    base = base.model_copy(update={"by_hour": {"Order.create": every_two_hours(20, 14)}})
    for hours, calls in (([0, 1, 2], 40), ([1, 2, 3], 20)):
        new_user = window(
            days=3 / 24, operations={"Order.create": calls}, status_codes={"200": calls},
            hours_of_day=hours,
        )  # fmt: skip
        result = judge(inputs(baseline=base, new_user=new_user), volume_tolerance=0.25)
        volume = next(c for c in result.checks if c.name == "volume")
        assert volume.ok, volume.reason
        assert volume.figures["operations"]["Order.create"]["expected"] == calls
        # The daily average alone (no hours): 30 expected, 40 and 20 both off by a third.
        flat = base.model_copy(update={"by_hour": {}})
        result = judge(inputs(baseline=flat, new_user=new_user), volume_tolerance=0.25)
        assert "~30 expected" in next(c for c in result.checks if c.name == "volume").reason


def test_the_same_hours_still_catch_a_job_that_runs_half_as_much() -> None:
    base = baseline_from_plan(make_plan(operations=[("Order", "create", 14 * 12 * 20)]))
    base = base.model_copy(update={"by_hour": {"Order.create": every_two_hours(20, 14)}})
    half = window(
        days=4 / 24, operations={"Order.create": 18}, status_codes={"200": 18},
        hours_of_day=[0, 1, 2, 3],
    )  # fmt: skip
    result = judge(inputs(baseline=base, new_user=half), volume_tolerance=0.5)
    volume = next(c for c in result.checks if c.name == "volume")
    assert volume.ok is False
    assert "Order.create: 18 calls, ~40 expected (40-40 in the same hours of 14" in volume.reason


def test_days_without_the_operation_count_as_none_in_those_hours() -> None:
    """Observed days the store holds no call of the op for are days it made none: the range
    reaches 0 and a quiet window is not "off"; the expectation drops with them."""
    base = baseline_from_plan(make_plan(operations=[("Order", "create", 7 * 12 * 20)]))
    base = base.model_copy(update={"days": 14, "by_hour": {"Order.create": every_two_hours(20, 7)}})
    quiet = window(
        days=2 / 24, operations={"Order.create": 0}, status_codes={"200": 5},
        hours_of_day=[4, 5],
    )  # fmt: skip
    volume = next(
        c for c in judge(inputs(baseline=base, new_user=quiet)).checks if c.name == "volume"
    )
    assert volume.ok, volume.reason
    figures = volume.figures["operations"]["Order.create"]
    assert figures == {"expected": 10.0, "actual": 0, "baseline_range": [0, 20]}
