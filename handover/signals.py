"""The measurements behind a verdict: plain numbers computed from one UsageProfile (pure).

``evidence`` words and weighs them, ``detect`` adds them up; keeping the arithmetic here
keeps the scoring model readable and lets each measurement be tested on its own.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .models import UsageProfile
from .settings import DetectionSettings

HOURS_PER_DAY = 24
SATURDAY = 5  # weekday_counts is Monday first
# A spread (coefficient of variation) of fewer than three daily counts says nothing.
MIN_DAYS_FOR_SPREAD = 3

LoginKind = Literal["server", "program", "interactive", "neutral"]

# LoginSubType values come back as labels ("OAuth Client Credentials") or API names
# ("OauthClientCredentials") depending on the source (reference 1.1), so they are
# compared folded: lower case, letters and digits only.
_SERVER_SUBTYPES = {"", "oauthjwtbearer", "oauthclientcredentials"}
_INTERACTIVE_SUBTYPES = {
    "oauthwebserver",
    "oauthuseragent",
    "oauthuseragentidtoken",
    "oauthhybridwebserver",
    "oauthhybriduseragent",
    "oauthotplogin",
    "usernamepassworduilogin",
    "uipasswordreset",
}
# Credentials typed into a program once and replayed by it: no browser involved.
_PROGRAM_TYPES = {"other apex api", "partner product", "remote access client"}
_INTERACTIVE_TYPES = {
    "application",
    "certificate-based login",
    "lightning login",
    "passwordless login",
    "third party sso",
    "salesforce.com website",
}
SUBTYPE_NAMES = {
    "": "JWT bearer",
    "oauthjwtbearer": "JWT bearer",
    "oauthclientcredentials": "client credentials",
}


def fold(text: str) -> str:
    """How LoginSubType values compare: "OAuth Client Credentials" == "OauthClientCredentials"."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def split_login_key(key: str) -> tuple[str, str]:
    """'Remote Access 2.0|OAuth Client Credentials' -> (type, subtype); no '|' means no subtype."""
    login_type, _, sub_type = key.partition("|")
    return login_type.strip(), sub_type.strip()


def login_kind(key: str) -> LoginKind:
    """What a LoginHistory row says about who was at the keyboard.

    server: a flow only a server can use (JWT bearer, client credentials).
    program: a password replayed by a program (SOAP login, OAuth username-password).
    interactive: a person at a browser (UI login, SSO, the OAuth consent screen).
    neutral: says nothing either way (refresh, token exchange, unknown types).
    """
    login_type, sub_type = split_login_key(key)
    folded_type, folded_sub = login_type.lower(), fold(sub_type)
    if folded_type in _INTERACTIVE_TYPES or folded_type.startswith("saml"):
        return "interactive"
    if folded_type in _PROGRAM_TYPES:
        return "program"
    if folded_type == "remote access 2.0":
        # JWT bearer logins carry no subtype (reference 1.1, unverified): empty counts as JWT.
        if folded_sub in _SERVER_SUBTYPES:
            return "server"
        if folded_sub == "oauthusernamepassword":
            return "program"
        if folded_sub in _INTERACTIVE_SUBTYPES:
            return "interactive"
    return "neutral"


@dataclass(frozen=True)
class Signals:
    """Every measurement detect weighs; None where the profile holds too little to say."""

    days_observed: int
    gap_days: int
    days_active: int
    active_share: float
    calls_per_active_day: float
    logins_by_kind: dict[LoginKind, int]
    non_interactive_share: float | None  # (server + program) / (server + program + interactive)
    server_flows: list[str]  # "JWT bearer", "client credentials" when seen
    peak_share: float | None  # share of calls in the busiest settings.peak_hours hours
    busiest_hours: list[int]  # those hours (UTC, with calls), in clock order
    hours_with_calls: int
    daily_cv: float | None
    weekend_ratio: float | None  # weekend calls per day / weekday calls per day
    off_hours_share: float | None
    # The working day (business hours long) that holds the most calls, wherever it falls:
    # a person's calls fit one in any time zone, round-the-clock traffic never does.
    working_day_share: float | None
    working_day_span: tuple[int, int]  # first and last UTC hour with calls inside that day
    top2_ip_share: float | None
    distinct_ips: int
    # Logins by a program (server or program kinds) to this app, over the login history
    # held: on how many of its days, and in which UTC hours.
    login_days_covered: int
    machine_login_days: int
    machine_login_hours: int
    # The refresh tokens' use per day, each over its own life (CreatedDate..LastUsedDate),
    # summed over the pair's grants; and how many days the oldest grant has existed.
    token_uses_per_day: float | None
    token_age_days: int
    # Days since the user's last UI login in all the login history held (a lower bound when
    # there was none: the days that history covers); None: no login history to judge by.
    days_without_ui: int | None
    days_without_ui_is_lower_bound: bool
    recurrence: float  # 0..1: how far the traffic recurs over enough days to be a schedule


def observed_dates(profile: UsageProfile) -> list[date]:
    """The window's days whose logs were ingested."""
    gaps = set(profile.gap_days)
    span = (profile.window_end - profile.window_start).days + 1
    days = (profile.window_start + timedelta(days=i) for i in range(max(span, 0)))
    return [d for d in days if d not in gaps]


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _in_business_hours(hour: int, settings: DetectionSettings) -> bool:
    start, end = settings.business_hours_start, settings.business_hours_end
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end  # a working day that wraps past midnight UTC


def _off_hours_share(profile: UsageProfile, settings: DetectionSettings) -> float | None:
    # The store keeps hour-of-day and weekday totals separately, so the share inside
    # business hours is estimated as if the two were independent. That is exact for
    # round-the-clock traffic and for jobs that run the same hours every day.
    in_hours = _share(
        sum(n for h, n in enumerate(profile.hour_counts) if _in_business_hours(h, settings)),
        sum(profile.hour_counts),
    )
    on_weekdays = _share(sum(profile.weekday_counts[:SATURDAY]), sum(profile.weekday_counts))
    if in_hours is None:
        return None
    return 1.0 - in_hours * (on_weekdays if on_weekdays is not None else 1.0)


def business_day_hours(settings: DetectionSettings) -> int:
    span = (settings.business_hours_end - settings.business_hours_start) % HOURS_PER_DAY
    return span or HOURS_PER_DAY


def _best_working_day(
    profile: UsageProfile, settings: DetectionSettings
) -> tuple[float | None, tuple[int, int]]:
    """Share of calls in the busiest window of business_day_hours hours (wrapping past
    midnight; the earliest start wins a tie), and the first and last busy hour inside it."""
    counts, total = profile.hour_counts, sum(profile.hour_counts)
    hours = len(counts)
    if total <= 0:
        return None, (settings.business_hours_start, settings.business_hours_start)
    length = min(business_day_hours(settings), hours)
    windows = [[(start + i) % hours for i in range(length)] for start in range(hours)]
    best = max(windows, key=lambda w: (sum(counts[h] for h in w), -w[0]))
    busy = [h for h in best if counts[h] > 0]
    return sum(counts[h] for h in best) / total, (busy[0], busy[-1])


def _weekend_ratio(profile: UsageProfile, dates: list[date]) -> float | None:
    weekend_days = sum(1 for d in dates if d.weekday() >= SATURDAY)
    weekdays = len(dates) - weekend_days
    if not weekend_days or not weekdays or not sum(profile.weekday_counts):
        return None
    weekday_rate = sum(profile.weekday_counts[:SATURDAY]) / weekdays
    weekend_rate = sum(profile.weekday_counts[SATURDAY:]) / weekend_days
    if weekday_rate == 0:
        return 1.0  # weekend-only traffic ignores the working week as much as any
    return weekend_rate / weekday_rate


def _daily_cv(profile: UsageProfile, dates: list[date]) -> float | None:
    if len(dates) < MIN_DAYS_FOR_SPREAD or not profile.calls_by_day:
        return None
    counts = [profile.calls_by_day.get(d, 0) for d in dates]  # a quiet observed day counts as 0
    mean = statistics.fmean(counts)
    return statistics.pstdev(counts) / mean if mean > 0 else None


def _days_without_ui(profile: UsageProfile) -> tuple[int | None, bool]:
    last = profile.user_last_ui_login
    if last is not None:
        return max((profile.window_end - last.date()).days, 0), False
    if profile.user_ui_logins:
        return 0, False  # signed in during the window (the latest login was not kept)
    if profile.login_days_covered <= 0:
        return None, True  # no login history: a day without logs is no evidence of none
    return profile.login_days_covered, True  # none in all the history held: at least that


def _token_rate(profile: UsageProfile) -> tuple[float | None, int]:
    """Uses per day of the pair's refresh tokens, each over its own life, summed (two
    phones of one person add up); and the oldest grant's age in days. None when no grant
    says when it was created: the rate of a token of unknown age cannot be told."""
    rate, age, known = 0.0, 0, False
    for grant in profile.token_grants:
        if grant.created is None:
            continue
        known = True
        age = max(age, (profile.window_end - grant.created.date()).days + 1)
        if grant.last_used is not None and grant.use_count:
            life = (grant.last_used - grant.created).total_seconds() / 86_400
            rate += grant.use_count / max(life, 1.0)  # a token younger than a day: per day
    return (rate if known else None), age


def _machine_logins(profile: UsageProfile) -> tuple[int, int]:
    """Days and distinct UTC hours with logins by a program to this app."""
    days: set[date] = set()
    hours = [0] * HOURS_PER_DAY
    for label, seen in profile.login_days.items():
        if login_kind(label) in ("server", "program"):
            days.update(seen)
            for h, n in enumerate(profile.login_hours.get(label, ())):
                hours[h] += n
    return len(days), sum(1 for n in hours if n > 0)


def measure(profile: UsageProfile, settings: DetectionSettings) -> Signals:
    """Everything the verdict weighs, from one profile's window aggregates."""
    dates = observed_dates(profile)
    days_observed = profile.days_observed
    days_active = profile.days_active or sum(1 for n in profile.calls_by_day.values() if n > 0)
    active_share = min(days_active / days_observed, 1.0) if days_observed > 0 else 0.0

    kinds: dict[LoginKind, int] = {"server": 0, "program": 0, "interactive": 0, "neutral": 0}
    server_flows: list[str] = []
    for key, count in sorted(profile.logins.items()):
        kind = login_kind(key)
        kinds[kind] += count
        name = SUBTYPE_NAMES.get(fold(split_login_key(key)[1]))
        if kind == "server" and name and name not in server_flows:
            server_flows.append(name)
    machine = kinds["server"] + kinds["program"]

    total_hourly = sum(profile.hour_counts)
    by_volume = sorted(range(len(profile.hour_counts)), key=lambda h: (-profile.hour_counts[h], h))
    busiest = sorted(h for h in by_volume[: settings.peak_hours] if profile.hour_counts[h] > 0)
    peak = sum(profile.hour_counts[h] for h in busiest)

    ip_total = sum(profile.source_ips.values())
    top2 = sum(sorted(profile.source_ips.values(), reverse=True)[:2])

    days_without_ui, lower_bound = _days_without_ui(profile)
    token_rate, token_age = _token_rate(profile)
    machine_days, machine_hours = _machine_logins(profile)
    working_day_share, working_day_span = _best_working_day(profile, settings)
    # Concentration in a few hours only means a schedule when it comes back day after
    # day; two sessions of someone's afternoon work are not a timetable.
    recurrence = min(1.0, days_active / settings.min_days_observed) * min(
        1.0, active_share / settings.min_active_day_share if settings.min_active_day_share else 1.0
    )
    return Signals(
        days_observed=days_observed,
        gap_days=len(profile.gap_days),
        days_active=days_active,
        active_share=active_share,
        calls_per_active_day=profile.total_calls / days_active if days_active else 0.0,
        logins_by_kind=kinds,
        non_interactive_share=_share(machine, machine + kinds["interactive"]),
        server_flows=server_flows,
        peak_share=_share(peak, total_hourly),
        busiest_hours=busiest,
        hours_with_calls=sum(1 for n in profile.hour_counts if n > 0),
        daily_cv=_daily_cv(profile, dates),
        weekend_ratio=_weekend_ratio(profile, dates),
        off_hours_share=_off_hours_share(profile, settings),
        working_day_share=working_day_share,
        working_day_span=working_day_span,
        top2_ip_share=_share(top2, ip_total),
        distinct_ips=len(profile.source_ips),
        login_days_covered=profile.login_days_covered,
        machine_login_days=machine_days,
        machine_login_hours=machine_hours,
        token_uses_per_day=token_rate,
        token_age_days=token_age,
        days_without_ui=days_without_ui,
        days_without_ui_is_lower_bound=lower_bound,
        recurrence=recurrence,
    )
