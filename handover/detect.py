"""Is this (user, app) pair a person, or an integration running under the person's account?

Pure: UsageProfile in, Finding out, no I/O. The model is additive log-odds, so the rows a
reviewer sees add up to the score:

* ``signals.measure`` turns the profile into plain measurements;
* ``evidence.evidence_rows`` turns each into a worded row whose ``weight`` is its signed
  contribution (positive: looks automated, negative: looks like a person);
* each row is held back while what it rests on is thin: its weight is scaled by
  days / min_days_observed of its own basis (``Evidence.basis``): days of API logs for the
  traffic rows, days of login history for the login rows, the token's age for its use.
  So a first run on a free-logs org (one day of API logs, months of LoginHistory) judges
  by the logins and the tokens, and the one day of calls counts for a seventh;
* score = logistic(sum of weights), in 0..1;
* a ``Salesforce Integration`` licence makes the pair a dedicated integration whatever the
  score; otherwise ``integration_score`` / ``human_score`` pick the verdict, and while the
  API logs are thin an integration must also reach ``thin_evidence_score``;
* handover's own traffic (the user it connects as, calling as ``HANDOVER_CLIENT``) is
  shown as "handover": never flagged, never planned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Set
from typing import Any

from .evidence import evidence_rows, handover_row, person
from .models import VERDICTS, Basis, Evidence, Finding, UsageProfile, Verdict, finding_id
from .settings import DetectionSettings
from .signals import Signals, measure

# How classify_all orders verdicts: the work to do first.
_VERDICT_ORDER: dict[Verdict, int] = {
    "integration_under_human": 0,
    "unclear": 1,
    "dedicated_integration": 2,
    "human_interactive": 3,
    "handover": 4,
}
assert set(_VERDICT_ORDER) == set(VERDICTS)
MIN_REASONS, MAX_REASONS = 2, 4
# A row that says nothing new once another is among the reasons: "5,012 calls a day on
# 30 of 30 days" already says "Calls on 30 of 30 observed days".
_COVERED_BY = {"active_days": "calls_per_day"}


def classify(profile: UsageProfile, settings: DetectionSettings) -> Finding:
    """The verdict on one (user, app) pair, with its score, evidence and reasons."""
    sig = measure(profile, settings)
    depth: dict[Basis, int] = {
        "api": sig.days_observed,
        "logins": sig.login_days_covered,
        "token": sig.token_age_days,
    }
    # Scaling each row (not the sum) keeps the rows adding up to the score people see.
    evidence = [
        row.model_copy(update={"weight": round(row.weight * _held(row, depth, settings), 3)})
        for row in evidence_rows(profile, sig, settings)
    ]
    if profile.is_handover:
        evidence = [handover_row(profile), *evidence]
    # Rounded before the verdict, so the thresholds compare the score people are shown.
    score = round(1.0 / (1.0 + math.exp(-sum(e.weight for e in evidence))), 4)
    verdict = _verdict(profile, sig, score, settings)
    return Finding(
        finding_id=finding_id(profile.org_id, profile.user.user_id, profile.app.key),
        org_id=profile.org_id,
        user_id=profile.user.user_id,
        username=profile.user.username,
        app_name=profile.app.name,
        app_key=profile.app.key,
        connected_app_id=profile.app.connected_app_id,
        verdict=verdict,
        score=score,
        evidence=evidence,
        reasons=_reasons(verdict, profile, sig, evidence, settings),
        license=profile.user.license,
        profile=profile.user.profile,
        window_start=profile.window_start,
        window_end=profile.window_end,
        total_calls=profile.total_calls,
    )


def _held(row: Evidence, depth: dict[Basis, int], settings: DetectionSettings) -> float:
    """How much of its weight a row keeps: all of it once its basis holds
    min_days_observed days, proportionally less before."""
    if row.basis == "none":
        return 1.0
    return min(1.0, depth[row.basis] / settings.min_days_observed)


def classify_all(
    profiles: Iterable[UsageProfile],
    settings: DetectionSettings,
    *,
    previous_ids: Set[str] = frozenset(),
) -> list[Finding]:
    """Classify every pair: integrations under humans first (strongest first), then unclear,
    dedicated and human. ``is_new`` marks findings no earlier run reported."""
    findings = [
        f.model_copy(update={"is_new": f.finding_id not in previous_ids})
        for f in (classify(p, settings) for p in profiles)
    ]
    # Ties broken by identity, so the order never depends on the order of the input.
    return sorted(
        findings,
        key=lambda f: (_VERDICT_ORDER[f.verdict], -f.score, f.username, f.app_key, f.finding_id),
    )


def finding_json(f: Finding) -> dict[str, Any]:
    """The --json contract (as ``plan_json`` is a plan's): finding_id, user_id, username,
    app_name, verdict, score, evidence, and the rest of what a person needs to judge it."""
    return {
        "finding_id": f.finding_id,
        "user_id": f.user_id,
        "username": f.username,
        "app_name": f.app_name,
        "app_key": f.app_key,
        "connected_app_id": f.connected_app_id,
        "verdict": f.verdict,
        "score": round(f.score, 3),
        "license": f.license,
        "profile": f.profile,
        "total_calls": f.total_calls,
        "is_new": f.is_new,
        "reasons": f.reasons,
        "window": {"start": f.window_start.isoformat(), "end": f.window_end.isoformat()},
        "evidence": {
            e.key: {"label": e.label, "value": e.value, "detail": e.detail, "weight": e.weight}
            for e in f.evidence
        },
    }


def _verdict(
    profile: UsageProfile, sig: Signals, score: float, settings: DetectionSettings
) -> Verdict:
    if profile.is_handover:
        return "handover"
    if profile.user.is_integration_license:
        return "dedicated_integration"
    thin = sig.days_observed < settings.min_days_observed
    bar = (
        max(settings.integration_score, settings.thin_evidence_score)
        if thin
        else settings.integration_score
    )
    if score >= bar:
        return "integration_under_human"
    if score <= settings.human_score:
        return "human_interactive"
    return "unclear"


def _reasons(
    verdict: Verdict,
    profile: UsageProfile,
    sig: Signals,
    evidence: list[Evidence],
    settings: DetectionSettings,
) -> list[str]:
    """The strongest rows for the verdict, plus what must be said whatever the weights."""
    by_key = {e.key: e for e in evidence}
    if verdict == "handover":
        return [by_key["handover"].detail]
    lead: list[str] = []
    if verdict == "dedicated_integration":
        lead.append(by_key["license"].detail)
    if sig.days_observed == 0:
        lead.append(by_key["coverage"].detail)
    musts: list[str] = []
    if 0 < sig.days_observed < settings.min_days_observed:
        musts.append(by_key["coverage"].detail)
    if verdict == "integration_under_human" and profile.user_ui_logins > 0:
        # The migration has to leave the person's own use intact: say so up front.
        musts.append(
            f"{person(profile)} also signs in to the Salesforce UI, so the integration "
            "shares a person's account."
        )

    ranked = sorted(evidence, key=lambda e: -abs(e.weight))  # stable: ties keep row order
    for_it = [e for e in ranked if e.weight > 0]
    against = [e for e in ranked if e.weight < 0]
    if verdict in ("integration_under_human", "dedicated_integration"):
        pool = for_it
    elif verdict == "human_interactive":
        pool = against
    else:  # unclear: the strongest signals each way, alternating
        pool = [e for pair in zip(for_it, against, strict=False) for e in pair]
        pool += for_it[len(against) :] + against[len(for_it) :]
    in_pool = {e.key for e in pool}
    details = [e.detail for e in pool if _COVERED_BY.get(e.key) not in in_pool]
    reasons = list(dict.fromkeys(lead + details[:2] + musts + details[2:]))
    for fallback in ("coverage", "license"):  # too little evidence to fill two sentences
        if len(reasons) < MIN_REASONS and by_key[fallback].detail not in reasons:
            reasons.append(by_key[fallback].detail)
    return reasons[:MAX_REASONS]
