"""The weighted, worded evidence rows behind a verdict (pure).

One row per signal of ``signals.measure``: a plain sentence a Salesforce admin understands,
and a weight, the row's signed contribution to the log-odds that the pair is an integration
(positive: looks automated, negative: looks like a person). Every weight is non-decreasing in
how automated its signal looks, so the score ``detect`` adds up is monotonic in each.

The ``W_*`` weights are the model, not thresholds: what counts as "many calls", "regular" or
"off hours" comes from DetectionSettings.
"""

from __future__ import annotations

import math
from typing import Any

from .models import Evidence, UsageProfile
from .settings import DetectionSettings
from .signals import (
    HOURS_PER_DAY,
    SUBTYPE_NAMES,
    Signals,
    business_day_hours,
    fold,
    split_login_key,
)

# Largest contribution of each signal. Login flows, time of day and volume weigh most because
# a person does not produce them by accident; IPs weigh least because an office sits behind
# one NAT address and cloud integrations rotate through many; an account kept alive with no
# person left behind it weighs most of all.
W_VOLUME_PER_DECADE = 1.0  # per factor of ten above or below min_calls_per_day
W_VOLUME_MAX, W_VOLUME_MIN = 2.0, -1.0
W_ACTIVE_DAYS = 1.5
W_LOGIN_SHARE = 1.5
W_SERVER_FLOW = 1.0
W_PEAK_HOURS = 1.5
W_ROUND_THE_CLOCK = 1.0
W_STEADY = 1.0
W_WEEKEND = 0.75
W_OFF_HOURS = 1.0
W_WORKING_DAY = -1.0
W_IP_CONCENTRATED = 0.75
W_MANY_IPS = -0.75
W_TOKEN_USE = 1.0
W_KEPT_ALIVE = 2.0


def evidence_rows(
    profile: UsageProfile, sig: Signals, settings: DetectionSettings
) -> list[Evidence]:
    """Every row, in the order people read them; weights not yet scaled for coverage."""
    return [
        _license(profile),
        _coverage(sig, settings),
        *_traffic(sig, settings),
        *_logins(profile, sig, settings),
        *_timing(sig, settings),
        *_sources(sig, settings),
        _token(profile, sig, settings),
        _ui(profile),
        _kept_alive(profile, sig, settings),
    ]


def person(profile: UsageProfile) -> str:
    return profile.user.name or profile.user.username


def _row(key: str, label: str, value: Any, weight: float, detail: str) -> Evidence:
    return Evidence(key=key, label=label, value=value, weight=weight, detail=detail)


def _lerp(x: float, x0: float, x1: float, y0: float, y1: float) -> float:
    """Linear from (x0, y0) to (x1, y1), flat outside."""
    if x1 <= x0:
        return y1 if x >= x1 else y0
    t = min(max((x - x0) / (x1 - x0), 0.0), 1.0)
    return y0 + t * (y1 - y0)


def _pivot(share: float, threshold: float, weight: float) -> float:
    """-weight at 0, zero at the threshold, +weight at 1: for shares with a tipping point."""
    if share < threshold:
        return _lerp(share, 0.0, threshold, -weight, 0.0)
    return _lerp(share, threshold, 1.0, 0.0, weight)


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n:,} {word}{suffix if n != 1 else ''}"


def _license(profile: UsageProfile) -> Evidence:
    user = profile.user
    note = f", profile {user.profile}" if user.profile else ""
    if user.is_integration_license:
        detail = (
            f"Runs as a dedicated Integration User ({user.license} licence{note}): nothing to move."
        )
    elif user.license:
        detail = f"The account holds a {user.license} licence{note}, which is meant for a person."
    else:
        detail = "The account's licence is not known."
    return _row("license", "User licence", user.license, 0.0, detail)


def _coverage(sig: Signals, settings: DetectionSettings) -> Evidence:
    missed = f"{sig.gap_days} missed" if sig.gap_days else "none missed"
    if sig.days_observed == 0:
        detail = "No day of logs was ingested for this window, so there is nothing to judge yet."
    elif sig.days_observed < settings.min_days_observed:
        detail = (
            f"Only {_plural(sig.days_observed, 'day')} of logs ({missed}), fewer than the "
            f"{settings.min_days_observed} needed to be sure, so the score is held back."
        )
    else:
        detail = f"{sig.days_observed} days of logs ({missed})."
    return _row("coverage", "Days of logs", sig.days_observed, 0.0, detail)


def _traffic(sig: Signals, settings: DetectionSettings) -> list[Evidence]:
    per_day = sig.calls_per_active_day
    if per_day > 0:
        decades = math.log10(per_day / settings.min_calls_per_day)
        volume_w = min(max(decades * W_VOLUME_PER_DECADE, W_VOLUME_MIN), W_VOLUME_MAX)
        volume = f"{per_day:,.0f} calls a day on {sig.days_active} of {sig.days_observed} days."
    else:
        volume_w, volume = W_VOLUME_MIN, "No API calls in the window."
    every = sig.days_observed > 0 and sig.days_active >= sig.days_observed
    days = f"Calls on {sig.days_active} of {sig.days_observed} observed days{' (every day)' if every else ''}."
    active_w = _pivot(sig.active_share, settings.min_active_day_share, W_ACTIVE_DAYS)
    return [
        _row("calls_per_day", "API calls per active day", round(per_day, 1), volume_w, volume),
        _row("active_days", "Share of days with calls", round(sig.active_share, 3), active_w, days),
    ]


def _login_label(key: str) -> str:
    login_type, sub_type = split_login_key(key)
    if login_type.lower() == "remote access 2.0" and fold(sub_type) in SUBTYPE_NAMES:
        return f"{login_type} ({SUBTYPE_NAMES[fold(sub_type)]})"
    return f"{login_type} ({sub_type})" if sub_type else login_type


def _logins(profile: UsageProfile, sig: Signals, settings: DetectionSettings) -> list[Evidence]:
    kinds = sig.logins_by_kind
    machine = kinds["server"] + kinds["program"]
    if sig.non_interactive_share is None:
        share_w, share = 0.0, None
        detail = (
            "No login rows for this app: it works from a refresh token, which leaves none."
            if profile.token_use_count
            else "No logins by a program or at a browser were recorded for this app in the window."
        )
    else:
        share = round(sig.non_interactive_share, 3)
        share_w = _pivot(
            sig.non_interactive_share, settings.non_interactive_login_share, W_LOGIN_SHARE
        )
        counted = machine + kinds["interactive"]
        detail = f"{machine:,} of {_plural(counted, 'login')} to this app were made by a program, not at a browser."
    seen = sorted(profile.logins.items(), key=lambda kv: (-kv[1], kv[0]))
    if seen:
        listed = ", ".join(f"{_login_label(k)} ×{n:,}" for k, n in seen)
        flows = " and ".join(sig.server_flows)
        tail = f"; {flows} needs no person at a keyboard" if flows else ""
        types = f"Logins seen: {listed}{tail}."
    else:
        types = "No login rows for this app in the window."
    flow_w = W_SERVER_FLOW if sig.server_flows else 0.0
    return [
        _row("non_interactive_logins", "Logins by a program", share, share_w, detail),
        _row("login_types", "Login types", dict(seen), flow_w, types),
    ]


def _timing(sig: Signals, settings: DetectionSettings) -> list[Evidence]:
    rows: list[Evidence] = []
    if sig.peak_share is not None:
        n = settings.peak_hours
        scheduled = sig.peak_share >= settings.regular_hours_share
        # Concentration only marks a schedule when it recurs (signals.Signals.recurrence).
        peak_w = W_PEAK_HOURS * sig.recurrence if scheduled else 0.0
        if scheduled:  # name the hours; the top hours of flat traffic would be noise
            when = ", ".join(f"{h:02d}:00" for h in sig.busiest_hours)
            tail = ", as a scheduled job's do." if sig.recurrence >= 1 else "."
            hours = "hours" if len(sig.busiest_hours) > 1 else "hour"
            peak = f"{_pct(sig.peak_share)} of calls fall in the {hours} starting {when} UTC{tail}"
        else:
            peak = f"{_pct(sig.peak_share)} of calls fall in the {n} busiest hours of the day."
        rows.append(
            _row(
                "peak_hours_share",
                f"Calls in the busiest {n} hours",
                round(sig.peak_share, 3),
                peak_w,
                peak,
            )
        )
        nonstop = sig.hours_with_calls >= settings.round_the_clock_hours
        tail = ": nobody works round the clock." if nonstop else "."
        hours = f"Calls in {sig.hours_with_calls} of the {HOURS_PER_DAY} hours of the day{tail}"
        rows.append(
            _row(
                "hours_with_calls",
                "Hours of the day with calls",
                sig.hours_with_calls,
                W_ROUND_THE_CLOCK if nonstop else 0.0,
                hours,
            )
        )
    if sig.daily_cv is None:
        rows.append(
            _row(
                "daily_cv",
                "Day-to-day variation",
                None,
                0.0,
                "Too few days of calls to judge how steady they are.",
            )
        )
    else:
        cv = sig.daily_cv
        cv_w = _lerp(
            cv, settings.regular_daily_cv, settings.irregular_daily_cv, W_STEADY, -W_STEADY
        )
        if cv <= settings.regular_daily_cv:
            tail = ", as steady as a machine."
        else:
            tail = ", as a person's do." if cv >= settings.irregular_daily_cv else "."
        rows.append(
            _row(
                "daily_cv",
                "Day-to-day variation",
                round(cv, 3),
                cv_w,
                f"Daily call counts vary by {_pct(cv)} around their average{tail}",
            )
        )
    if sig.weekend_ratio is not None:
        ratio = min(sig.weekend_ratio, 1.0)  # weekend-heavy is no more automated than even
        weekend_w = _lerp(
            ratio, settings.weekday_only_ratio, settings.weekend_ratio, -W_WEEKEND, W_WEEKEND
        )
        detail = (
            "No calls at weekends, like a working week."
            if ratio == 0
            else f"A weekend day carries {_pct(ratio)} of a weekday's calls."
        )
        rows.append(
            _row(
                "weekend_ratio",
                "Weekend vs weekday calls",
                round(sig.weekend_ratio, 3),
                weekend_w,
                detail,
            )
        )
    if sig.off_hours_share is not None:
        off = sig.off_hours_share
        # Graded, not a step: with the org's hours left at the default, a person a few time
        # zones away shows a fair share of "off hours" too (working_day tells them apart).
        off_w = _pivot(off, settings.off_hours_share, W_OFF_HOURS)
        hours = f"{settings.business_hours_start:02d}:00–{settings.business_hours_end:02d}:00 UTC"
        share = f"{_pct(off)} of" if off > 0 else "No"
        detail = f"{share} calls fall outside business hours ({hours}, Monday to Friday)."
        rows.append(
            _row("off_hours_share", "Calls outside business hours", round(off, 3), off_w, detail)
        )
    rows.append(_working_day(sig, settings))
    return rows


def _working_day(sig: Signals, settings: DetectionSettings) -> Evidence:
    label = "Calls within one working day"
    length = business_day_hours(settings)
    if sig.working_day_share is None or sig.peak_share is None:
        return _row("working_day", label, None, 0.0, "No calls to place in the day.")
    share = round(sig.working_day_share, 3)
    fits = sig.working_day_share >= settings.working_day_share
    # A job firing at a few fixed hours fits any window; only calls spread out over the
    # hours and still inside one working day look like somebody's day at work.
    spread = sig.peak_share < settings.regular_hours_share
    if fits and spread:
        first, last = sig.working_day_span
        span = f"{first:02d}:00–{(last + 1) % HOURS_PER_DAY:02d}:00 UTC"
        detail = f"{_pct(sig.working_day_share)} of calls spread over one {length}-hour working day ({span}), as a person's do."
        return _row("working_day", label, share, W_WORKING_DAY, detail)
    if fits:
        detail = "The calls cluster in a few fixed hours rather than spreading over a working day."
    else:
        detail = (
            f"At most {_pct(sig.working_day_share)} of calls fit in any {length}-hour working day."
        )
    return _row("working_day", label, share, 0.0, detail)


def _sources(sig: Signals, settings: DetectionSettings) -> list[Evidence]:
    label = "Calls from the top 2 IPs"
    if sig.top2_ip_share is None:
        return [_row("top_ip_share", label, None, 0.0, "No source IP addresses were recorded.")]
    concentrated = sig.top2_ip_share >= settings.ip_concentration
    many = not concentrated and sig.distinct_ips >= settings.human_ip_count
    top = "the top 2 source IP addresses" if sig.distinct_ips > 1 else "a single source IP address"
    tail = ", as a server's do." if concentrated else "."
    spread = ", as a person moving between networks does." if many else "."
    return [
        _row(
            "top_ip_share",
            label,
            round(sig.top2_ip_share, 3),
            W_IP_CONCENTRATED if concentrated else 0.0,
            f"{_pct(sig.top2_ip_share)} of calls come from {top}{tail}",
        ),
        _row(
            "distinct_ips",
            "Distinct source IPs",
            sig.distinct_ips,
            W_MANY_IPS if many else 0.0,
            f"Calls come from {_plural(sig.distinct_ips, 'different IP address', 'es')}{spread}",
        ),
    ]


def _token(profile: UsageProfile, sig: Signals, settings: DetectionSettings) -> Evidence:
    uses, rate = profile.token_use_count, sig.token_uses_per_day
    if uses is None or rate is None:
        return _row(
            "token_uses",
            "Refresh-token uses",
            None,
            0.0,
            "No OAuth refresh token is held for this app.",
        )
    # UseCount is per grant, so spread over the observed days it reads as a rate; an old grant
    # overstates it, which is why this signal weighs no more than the time of day.
    machine = rate >= settings.token_uses_per_day
    tail = ", more often than a person reopens an app." if machine else "."
    detail = f"The app's refresh token was used {uses:,} times, about {rate:,.0f} a day{tail}"
    return _row("token_uses", "Refresh-token uses", uses, W_TOKEN_USE if machine else 0.0, detail)


def _ui(profile: UsageProfile) -> Evidence:
    # Weightless on purpose: a person who also uses the UI says the account is shared, not
    # whether this app's traffic is theirs (the MuleSoft admin and the mobile rep both do).
    n = profile.user_ui_logins
    if n:
        detail = f"{person(profile)} also signed in to the Salesforce UI {_plural(n, 'time')} in the window, so a person uses this account too."
    else:
        detail = f"{person(profile)} did not sign in to the Salesforce UI in the window."
    return _row("ui_logins", "UI logins by the same user", n, 0.0, detail)


def _kept_alive(profile: UsageProfile, sig: Signals, settings: DetectionSettings) -> Evidence:
    """A person's account nobody has opened in the UI for weeks while calls go on: the
    leaver case, the one finding that may justify deactivating the human (DESIGN step 3)."""
    idle, dormant = sig.days_without_ui, settings.dormant_ui_days
    at_least = "at least " if sig.days_without_ui_is_lower_bound else ""
    kept_alive = False
    if profile.user.is_integration_license:
        detail = "An Integration User never signs in to the UI, so this says nothing here."
    elif idle is None:
        detail = f"{person(profile)} used the UI in the window, so the account is not idle."
    elif idle < dormant:
        detail = f"Last UI login {_plural(idle, 'day')} before the window ended, within the {dormant} days that would mark an idle account."
    elif not profile.user.is_active:
        detail = "The user is already deactivated."
    elif sig.days_active == 0:
        detail = f"No UI login for {at_least}{idle} days, and no API calls either."
    elif sig.logins_by_kind["interactive"]:
        # A consent-screen login to this very app is a person at a keyboard.
        detail = f"No UI login for {at_least}{idle} days, but someone signed in to this app at a browser."
    else:
        kept_alive = True
        detail = f"No UI login for {at_least}{idle} days while API calls continue: the account is kept alive only for the integration."
    return _row(
        "kept_alive",
        "Kept alive for the integration",
        kept_alive,
        W_KEPT_ALIVE if kept_alive else 0.0,
        detail,
    )
