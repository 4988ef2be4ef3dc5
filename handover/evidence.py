"""The weighted, worded evidence rows behind a verdict (pure).

One row per signal of ``signals.measure``: a plain sentence a Salesforce admin understands,
and a weight, the row's signed contribution to the log-odds that the pair is an integration
(positive: looks automated, negative: looks like a person). Every weight is non-decreasing in
how automated its signal looks, so the score ``detect`` adds up is monotonic in each.

Each row names its ``basis``, what it rests on: the API event logs ("api": one day per
daily run on a free-logs org), the logins ("logins": LoginHistory reaches back months),
the refresh tokens' own dates ("token"), or nothing that accrues ("none"). ``detect``
holds each row back while its own basis is thin, so a first run judges by the months of
logins it already holds and not by one day of API logs.

The ``W_*`` weights are the model, not thresholds: what counts as "many calls", "regular" or
"off hours" comes from DetectionSettings.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from .models import Basis, Evidence, UsageProfile
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
W_LOGIN_CADENCE = 1.0
W_KEPT_ALIVE = 2.0


def evidence_rows(
    profile: UsageProfile, sig: Signals, settings: DetectionSettings
) -> list[Evidence]:
    """Every row, in the order people read them; weights not yet scaled for coverage."""
    return [
        _license(profile),
        _coverage(profile, sig, settings),
        *_traffic(sig, settings),
        *_logins(profile, sig, settings),
        _login_cadence(sig, settings),
        *_timing(sig, settings),
        *_sources(sig, settings),
        _token(profile, sig, settings),
        _ui(profile),
        _kept_alive(profile, sig, settings),
    ]


def handover_row(profile: UsageProfile) -> Evidence:
    """Why handover's own traffic is not judged."""
    return _row(
        "handover",
        "handover itself",
        True,
        0.0,
        f"These are handover's own calls: it reads the org as {profile.user.username}. Its "
        "identity is not an integration to move.",
    )


def person(profile: UsageProfile) -> str:
    return profile.user.name or profile.user.username


# What each row rests on (see the module's docstring); rows not named rest on nothing
# that accrues and weigh nothing.
BASES: dict[str, Basis] = {
    "calls_per_day": "api",
    "active_days": "api",
    "peak_hours_share": "api",
    "hours_with_calls": "api",
    "daily_cv": "api",
    "weekend_ratio": "api",
    "off_hours_share": "api",
    "working_day": "api",
    "top_ip_share": "api",
    "distinct_ips": "api",
    "non_interactive_logins": "logins",
    "login_types": "logins",
    "login_cadence": "logins",
    "kept_alive": "logins",  # judged from every login the store holds
    "token_uses": "token",
}


def _row(key: str, label: str, value: Any, weight: float, detail: str) -> Evidence:
    return Evidence(
        key=key, label=label, value=value, weight=weight, detail=detail,
        basis=BASES.get(key, "none"),
    )  # fmt: skip


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


def _day(value: date) -> str:
    return value.isoformat()


def _coverage(profile: UsageProfile, sig: Signals, settings: DetectionSettings) -> Evidence:
    missed = f"{sig.gap_days} missed" if sig.gap_days else "none missed"
    need = settings.min_days_observed
    logins = sig.login_days_covered
    if logins >= need and profile.login_history_since is not None:
        held = (
            f" The logins count in full: the store holds {_plural(logins, 'day')} of login "
            f"history (since {_day(profile.login_history_since)})."
        )
    elif logins:
        held = f" The login history is short too ({_plural(logins, 'day')})."
    else:
        held = " No login history is held."
    if sig.days_observed == 0:
        detail = (
            "No day of API logs was ingested for this window, so there is nothing to judge yet."
        )
    elif sig.days_observed < need:
        ready = profile.window_end + timedelta(days=need - sig.days_observed + 1)
        detail = (
            f"Only {_plural(sig.days_observed, 'day')} of API logs ({missed}), fewer than the "
            f"{need} needed to be sure, so what the calls show (volume, hours, sources) is held "
            f"back: each daily discovery run adds a day, {need} by the run of {_day(ready)}." + held
        )
    else:
        detail = f"{sig.days_observed} days of API logs ({missed}); {_plural(logins, 'day')} of login history."
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
    held = _login_span(sig)
    if sig.non_interactive_share is None:
        share_w, share = 0.0, None
        detail = (
            "No login rows for this app: it works from a refresh token, which leaves none."
            if profile.token_use_count
            else f"No logins by a program or at a browser were recorded for this app {held}."
        )
    else:
        share = round(sig.non_interactive_share, 3)
        share_w = _pivot(
            sig.non_interactive_share, settings.non_interactive_login_share, W_LOGIN_SHARE
        )
        counted = machine + kinds["interactive"]
        detail = f"{machine:,} of {_plural(counted, 'login')} to this app {held} were made by a program, not at a browser."
    seen = sorted(profile.logins.items(), key=lambda kv: (-kv[1], kv[0]))
    if seen:
        listed = ", ".join(f"{_login_label(k)} ×{n:,}" for k, n in seen)
        flows = " and ".join(sig.server_flows)
        tail = f"; {flows} needs no person at a keyboard" if flows else ""
        types = f"Logins seen: {listed}{tail}."
    else:
        types = f"No login rows for this app {held}."
    flow_w = W_SERVER_FLOW if sig.server_flows else 0.0
    return [
        _row("non_interactive_logins", "Logins by a program", share, share_w, detail),
        _row("login_types", "Login types", dict(seen), flow_w, types),
    ]


def _login_span(sig: Signals) -> str:
    if sig.login_days_covered:
        return f"in the {_plural(sig.login_days_covered, 'day')} of login history held"
    return "(no login history is held)"


def _login_cadence(sig: Signals, settings: DetectionSettings) -> Evidence:
    """Logins by a program that come back day after day: a schedule, seen in LoginHistory
    months before the API logs could show it. Never a sign of a person (a monthly job logs
    in rarely too), so the weight only rises."""
    label, covered = "Days with program logins", sig.login_days_covered
    if not covered:
        return _row("login_cadence", label, None, 0.0, "No login history is held.")
    days = sig.machine_login_days
    if not days:
        detail = f"No logins by a program to this app {_login_span(sig)}."
        return _row("login_cadence", label, 0.0, 0.0, detail)
    share = min(days / covered, 1.0)
    # Full weight for every day, weekends too; nothing below min_active_day_share.
    weight = _lerp(share, settings.min_active_day_share, 1.0, 0.0, W_LOGIN_CADENCE)
    every = " (every day)" if days >= covered else ""
    nonstop = sig.machine_login_hours >= settings.round_the_clock_hours
    hours = f"{sig.machine_login_hours} of the {HOURS_PER_DAY} hours of the day"
    detail = (
        f"Logins by a program to this app on {days} of the {covered} days of login history"
        f"{every}, in {hours}{': round the clock' if nonstop else ''}."
    )
    return _row("login_cadence", label, round(share, 3), weight, detail)


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
    label = "Refresh-token uses"
    if uses is None:
        return _row("token_uses", label, None, 0.0, "No OAuth refresh token is held for this app.")
    tokens = "refresh tokens were" if len(profile.token_grants) > 1 else "refresh token was"
    if rate is None:
        detail = (
            f"The app's {tokens} used {uses:,} times; when {'they were' if len(profile.token_grants) > 1 else 'it was'} "
            "granted is not known, so how often is not told."
        )
        return _row("token_uses", label, uses, 0.0, detail)
    # The rate is over each token's own life (CreatedDate to LastUsedDate), never over the
    # days of event logs the store happens to hold: a first run sees months of use.
    created = min(g.created for g in profile.token_grants if g.created is not None)
    used = [g.last_used for g in profile.token_grants if g.last_used is not None]
    last = f", last used {_day(max(used).date())}" if used else ", never used since"
    machine = rate >= settings.token_uses_per_day
    tail = ", more often than a person reopens an app." if machine else "."
    detail = (
        f"The app's {tokens} used {uses:,} times since {_day(created.date())}{last}: about "
        f"{rate:,.0f} a day{tail}"
    )
    return _row("token_uses", label, uses, W_TOKEN_USE if machine else 0.0, detail)


def _ui(profile: UsageProfile) -> Evidence:
    # Weightless on purpose: a person who also uses the UI says the account is shared, not
    # whether this app's traffic is theirs (the MuleSoft admin and the mobile rep both do).
    n, last = profile.user_ui_logins, profile.user_last_ui_login
    if n:
        detail = f"{person(profile)} also signed in to the Salesforce UI {_plural(n, 'time')} in the window, so a person uses this account too."
    elif last is not None:
        detail = f"{person(profile)} did not sign in to the Salesforce UI in the window; the last time was {_day(last.date())}."
    elif profile.login_days_covered:
        detail = f"{person(profile)} did not sign in to the Salesforce UI in the {_plural(profile.login_days_covered, 'day')} of login history held."
    else:
        detail = f"No login history is held to tell whether {person(profile)} signs in to the Salesforce UI."
    return _row("ui_logins", "UI logins by the same user", n, 0.0, detail)


def _kept_alive(profile: UsageProfile, sig: Signals, settings: DetectionSettings) -> Evidence:
    """A person's account nobody has opened in the UI for weeks while calls go on: the
    leaver case, the one finding that may justify deactivating the human (DESIGN step 3).

    Judged from every login the store holds (LoginHistory reaches back months), never from
    the window alone; a date is stated only when the store holds that login, and days
    without login records are no evidence that nobody signed in."""
    idle, dormant = sig.days_without_ui, settings.dormant_ui_days
    last, since = profile.user_last_ui_login, profile.login_history_since
    if last is not None:
        seen = f"Last UI login on {_day(last.date())}, {_plural(idle or 0, 'day')} before the window ended"
    elif profile.user_ui_logins:
        seen = f"{person(profile)} signed in to the UI in the window"
    else:
        held = f" (since {_day(since)})" if since else ""
        seen = (
            f"No UI login in the {_plural(idle or 0, 'day')} of login history the store holds{held}"
        )
    kept_alive = False
    if profile.user.is_integration_license:
        detail = "An Integration User never signs in to the UI, so this says nothing here."
    elif idle is None:
        detail = f"No login history is held, so whether anyone still signs in as {person(profile)} cannot be told."
    elif idle < dormant:
        if last is not None or profile.user_ui_logins:
            detail = f"{seen}: within the {dormant} days that would mark an idle account."
        else:
            detail = (
                f"{seen}: too short a history to call the account idle ({dormant} days are needed)."
            )
    elif not profile.user.is_active:
        detail = "The user is already deactivated."
    elif sig.days_active == 0:
        detail = f"{seen}, and no API calls either."
    elif sig.logins_by_kind["interactive"]:
        # A consent-screen login to this very app is a person at a keyboard.
        detail = f"{seen}, but someone signed in to this app at a browser."
    else:
        kept_alive = True
        detail = (
            f"{seen} while API calls continue: the account is kept alive only for the integration."
        )
    return _row(
        "kept_alive",
        "Kept alive for the integration",
        kept_alive,
        W_KEPT_ALIVE if kept_alive else 0.0,
        detail,
    )
