"""The verification verdict: is the integration running as the new user, with exactly the
planned access, as well as it ran before?

Static: the new user's effective access, read back from the org, holds every planned
permission and nothing beyond the plan and what its profile gives every user of it (the
exact difference is named). Live, over the verification window against the plan's
baseline: the app's logins now come from the new user, the human's calls through the app
stopped, each object x operation runs within a tolerance of what it did in the same hours
of the baseline's days (the daily average where the store has no hours), the success rate
held, and no new error codes appeared. No traffic at all is
"inconclusive", never "successful". Every check comes with its reason and figures.
"""

from __future__ import annotations

import math
from typing import Any

from ..models import AccessPlan, HumanAccess, PermissionSetSpec, UsageProfile
from ..models.migration import (
    Check,
    Outcome,
    TrafficFigures,
    VerificationInputs,
    VerificationResult,
)

_FLAGS = (
    ("read", "Read"),
    ("create", "Create"),
    ("edit", "Edit"),
    ("delete", "Delete"),
    ("view_all", "View All"),
    ("modify_all", "Modify All"),
)


def _planned_access(planned: PermissionSetSpec) -> set[str]:
    out = {
        f"{label} {p.object}"
        for p in planned.object_permissions
        for f, label in _FLAGS
        if getattr(p, f)
    }
    out |= {f"Read {p.field}" for p in planned.field_permissions if p.read}
    out |= {f"Edit {p.field}" for p in planned.field_permissions if p.edit}
    out |= {f"System {s}" for s in planned.system_permissions}
    return out


def _held(access: HumanAccess | None) -> set[str]:
    """Every permission an access folds to, worded as ``_planned_access`` words them."""
    if access is None:
        return set()
    out = {
        f"{label} {obj}"
        for obj, acc in access.objects.items()
        for f, label in (*_FLAGS, ("view_all_fields", "View All Fields"))
        if getattr(acc, f)
    }
    out |= {f"Read {name}" for name, acc in access.fields.items() if acc.read}
    out |= {f"Edit {name}" for name, acc in access.fields.items() if acc.edit}
    out |= {f"System {s}" for s in access.system_permissions}
    return out


def _folded(names: set[str]) -> dict[str, str]:
    return {n.casefold(): n for n in names}


def static_checks(
    planned: PermissionSetSpec, granted: HumanAccess, profile: HumanAccess | None
) -> list[Check]:
    want = _folded(_planned_access(planned))
    have = _folded(_held(granted))
    base = _folded(_held(profile))
    missing = sorted(want[k] for k in want.keys() - have.keys())
    extra = sorted(have[k] for k in have.keys() - want.keys() - base.keys())
    return [
        Check(
            name="access-covers-plan",
            ok=not missing,
            reason=(
                f"the new user holds all {len(want)} planned permissions"
                if not missing
                else f"the new user lacks {len(missing)} planned permission(s): {', '.join(missing)}"
            ),
            figures={"planned": len(want), "missing": missing},
        ),
        Check(
            name="access-within-plan",
            ok=not extra,
            reason=(
                "the new user holds nothing beyond the plan and its profile"
                if not extra
                else f"the new user holds {len(extra)} permission(s) beyond the plan and its "
                f"profile: {', '.join(extra)}"
            ),
            figures={"extra": extra, "from_profile": len(base)},
        ),
    ]


def live_checks(
    baseline: TrafficFigures,
    new_user: TrafficFigures,
    human: TrafficFigures | None,
    *,
    volume_tolerance: float,
    success_tolerance: float,
    min_expected_calls: float,
) -> list[Check]:
    human_calls = human.calls if human else 0
    human_logins = human.logins if human else 0
    if new_user.calls == 0 and new_user.logins == 0 and human_calls == 0 and human_logins == 0:
        return [
            Check(
                name="traffic",
                ok=None,
                reason=f"no traffic through the app in the {new_user.days:g}-day window: "
                "extend the window, roll back, or accept",
                figures={"window_days": new_user.days},
            )
        ]
    checks = [
        Check(
            name="new-identity",
            ok=new_user.calls > 0 or new_user.logins > 0,
            reason=(
                f"the app now runs as the new user ({new_user.logins} logins, "
                f"{new_user.calls} calls)"
                if new_user.calls or new_user.logins
                else "the new user made no login and no call through the app"
            ),
            figures={"logins": new_user.logins, "calls": new_user.calls},
        ),
        Check(
            name="human-stopped",
            ok=human_calls == 0 and human_logins == 0,
            reason=(
                "the human's account made no call through the app"
                if human_calls == 0 and human_logins == 0
                else f"the human's account still made {human_calls} call(s) and "
                f"{human_logins} login(s) through the app: the external system still uses it"
            ),
            figures={"calls": human_calls, "logins": human_logins},
        ),
        _volume(baseline, new_user, volume_tolerance, min_expected_calls),
        _success(baseline, new_user, success_tolerance),
        _errors(baseline, new_user),
    ]
    return checks


def _volume(
    baseline: TrafficFigures, window: TrafficFigures, tolerance: float, min_expected: float
) -> Check:
    off: list[str] = []
    judged: dict[str, dict[str, Any]] = {}
    unjudged: list[str] = []
    for op, count in sorted(baseline.operations.items()):
        actual = window.operations.get(op, 0)
        seen = _same_hours(baseline, op, window.hours_of_day)
        if seen:
            # What the baseline's days did in the window's hours: a job that runs every few
            # hours is judged on its runs, not on an average that no window ever sees.
            expected, low, high = sum(seen) / len(seen), float(min(seen)), float(max(seen))
        else:
            expected = low = high = count / baseline.days * window.days
        if expected < min_expected:
            unjudged.append(op)
            continue
        judged[op] = {"expected": round(expected, 1), "actual": actual}
        if seen:
            judged[op]["baseline_range"] = [min(seen), max(seen)]
        if actual < low * (1 - tolerance) or actual > high * (1 + tolerance):
            note = f" ({low:.0f}-{high:.0f} in the same hours of {len(seen)} baseline days)"
            off.append(f"{op}: {actual} calls, ~{expected:.0f} expected{note if seen else ''}")
    reason = (
        f"{len(judged)} object x operation volume(s) within {tolerance:.0%} of the baseline"
        if not off
        else f"volume outside {tolerance:.0%} of the baseline: {'; '.join(off)}"
    )
    if unjudged:
        reason += f" ({len(unjudged)} too rare to judge in this window: {', '.join(unjudged)})"
    return Check(
        name="volume",
        ok=not off,
        reason=reason,
        figures={"operations": judged, "too_rare": unjudged, "tolerance": tolerance},
    )


def _same_hours(baseline: TrafficFigures, op: str, hours_of_day: list[int]) -> list[int]:
    """The op's calls in ``hours_of_day`` on each observed baseline day (0 on a day it made
    none); empty when the baseline has no hour-by-hour figures for it."""
    days = baseline.by_hour.get(op)
    if not days or not hours_of_day:
        return []
    seen = [sum(counts[h] for h in hours_of_day) for counts in days.values()]
    return seen + [0] * max(0, math.floor(baseline.days) - len(seen))


def _success(baseline: TrafficFigures, window: TrafficFigures, tolerance: float) -> Check:
    # The plan's evidence holds successful calls only: without status codes the baseline
    # is taken as all successful.
    base = baseline.success_rate if baseline.status_codes else 1.0
    rate = window.success_rate
    if rate is None or base is None:
        return Check(name="success-rate", ok=None, reason="no calls to judge the success rate")
    ok = rate >= base - tolerance
    return Check(
        name="success-rate",
        ok=ok,
        reason=(
            f"success rate {rate:.1%} (baseline {base:.1%})"
            if ok
            else f"success rate fell to {rate:.1%} from {base:.1%} (tolerance {tolerance:.0%})"
        ),
        figures={"rate": round(rate, 4), "baseline": round(base, 4), "tolerance": tolerance},
    )


def _errors(baseline: TrafficFigures, window: TrafficFigures) -> Check:
    new = sorted(window.error_codes - baseline.error_codes)
    return Check(
        name="error-codes",
        ok=not new,
        reason=(
            "no error code the baseline did not have"
            if not new
            else "new error codes: "
            + ", ".join(f"{c} ({window.status_codes[c]} calls)" for c in new)
        ),
        figures={"new": {c: window.status_codes[c] for c in new}},
    )


def judge(
    inputs: VerificationInputs,
    *,
    volume_tolerance: float = 0.5,
    success_tolerance: float = 0.05,
    min_expected_calls: float = 5,
) -> VerificationResult:
    """The verdict. Live checks run when the window's figures are given (with a baseline)."""
    checks = static_checks(inputs.planned, inputs.granted, inputs.profile)
    if inputs.new_user is not None:
        if inputs.baseline is None:
            raise ValueError("live verification needs the plan's baseline figures")
        checks += live_checks(
            inputs.baseline,
            inputs.new_user,
            inputs.human,
            volume_tolerance=volume_tolerance,
            success_tolerance=success_tolerance,
            min_expected_calls=min_expected_calls,
        )
    outcome: Outcome
    if any(c.ok is False for c in checks):
        outcome = "failed"
    elif any(c.ok is None for c in checks):
        outcome = "inconclusive"
    else:
        outcome = "successful"
    reasons = [c.reason for c in checks if c.ok is not True] or [c.reason for c in checks]
    return VerificationResult(
        outcome=outcome,
        reasons=reasons,
        checks=checks,
        figures={c.name: c.figures for c in checks},
    )


def baseline_from_plan(plan: AccessPlan) -> TrafficFigures:
    """The plan's evidence (successful calls per "Object.operation" over the days whose
    logs were read) as the live comparison's baseline."""
    days = plan.evidence_window.days_observed
    if days <= 0:
        raise ValueError("the plan's evidence covers no observed day: plan again")
    ops: dict[str, int] = {}
    for o in plan.operations:
        key = f"{o.object}.{o.operation}"
        ops[key] = ops.get(key, 0) + o.count
    return TrafficFigures(days=days, operations=ops)


def traffic_of(profile: UsageProfile) -> TrafficFigures:
    """One identity's traffic through the app, as the usage store profiles it (the human's
    over the evidence window, or either identity's over the verification window)."""
    return TrafficFigures(
        days=max(profile.days_observed, 1),
        operations=dict(profile.operations),
        status_codes=dict(profile.status_codes),
        logins=sum(profile.logins.values()),
    )
