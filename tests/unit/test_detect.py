"""detect.classify / classify_all on hand-built usage profiles of the cases it must get right.

Each profile is built from a schedule (calls per UTC hour on each day), so its day, hour and
weekday totals agree with each other the way the usage store's aggregates do.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from handover.detect import classify, classify_all
from handover.models import AppRef, TokenGrant, UsageProfile, UserInfo, finding_id
from handover.settings import DetectionSettings
from handover.signals import login_kind, measure

ORG = "00D5g000004XyZaEAK"
START = date(2026, 10, 5)  # a Monday
DAYS = 30
DEFAULTS = DetectionSettings()

Schedule = Callable[[date, int, random.Random], float]  # (day, UTC hour, rng) -> calls

ALL_KEYS = {
    "license",
    "coverage",
    "calls_per_day",
    "active_days",
    "non_interactive_logins",
    "login_types",
    "peak_hours_share",
    "hours_with_calls",
    "daily_cv",
    "weekend_ratio",
    "off_hours_share",
    "working_day",
    "top_ip_share",
    "distinct_ips",
    "token_uses",
    "ui_logins",
    "kept_alive",
    "login_cadence",
}


def user(
    name: str, *, license: str = "Salesforce", profile: str = "Standard User", **kw: Any
) -> UserInfo:
    first = name.split()[0].lower()
    return UserInfo(
        user_id=f"005{zlib.crc32(name.encode()):015d}",  # stable across runs, unlike hash()
        username=f"{first}@loomis-logistics.com",
        name=name,
        license=license,
        profile=profile,
        **kw,
    )


def profile(
    who: UserInfo,
    app: AppRef,
    schedule: Schedule,
    *,
    days: int = DAYS,
    start: date = START,
    gaps: tuple[int, ...] = (),
    ips: dict[str, float] | None = None,
    seed: int = 7,
    **fields: Any,
) -> UsageProfile:
    """A profile whose aggregates all come from one schedule over the window."""
    rng = random.Random(seed)
    gap_days = [start + timedelta(days=i) for i in gaps]
    calls_by_day: dict[date, int] = {}
    hours = [0] * 24
    weekdays = [0] * 7
    for i in range(days):
        day = start + timedelta(days=i)
        if day in gap_days:
            continue
        for hour in range(24):
            n = max(round(schedule(day, hour, rng)), 0)
            if n:
                calls_by_day[day] = calls_by_day.get(day, 0) + n
                hours[hour] += n
                weekdays[day.weekday()] += n
    total = sum(calls_by_day.values())
    ip_weights = ips or {"198.51.100.14": 1.0}
    source_ips = {ip: round(total * w) for ip, w in ip_weights.items()}
    end = start + timedelta(days=days - 1)
    # Login history as a daily discovery holds it: every day of the window (LoginHistory is
    # read with a cursor, so it has no gaps), logins on the days and hours with calls.
    logins = fields.get("logins", {})
    fields.setdefault("login_days", {k: sorted(calls_by_day) for k in logins})
    fields.setdefault("login_hours", {k: [1 if n else 0 for n in hours] for k in logins})
    fields.setdefault("login_days_covered", days)
    fields.setdefault("login_history_since", start)
    if fields.get("user_ui_logins") and "user_last_ui_login" not in fields:
        fields["user_last_ui_login"] = datetime.combine(end, time(15, 30), UTC)
    # A refresh token granted when the window began (unless said otherwise), used until
    # ``token_last_used`` or the window's last evening.
    uses = fields.pop("token_use_count", None)
    created = fields.pop("token_created", datetime.combine(start, datetime.min.time(), UTC))
    last_used = fields.pop("token_last_used", datetime.combine(end, time(23), UTC))
    if uses is not None:
        fields["token_grants"] = [TokenGrant(use_count=uses, created=created, last_used=last_used)]
    return UsageProfile(
        org_id=ORG,
        user=who,
        app=app,
        window_start=start,
        window_end=end,
        days_observed=days - len(gap_days),
        gap_days=gap_days,
        days_active=len(calls_by_day),
        total_calls=total,
        calls_by_day=calls_by_day,
        hour_counts=hours,
        weekday_counts=weekdays,
        source_ips=source_ips,
        **fields,
    )


def jitter(rng: random.Random, base: float, spread: float) -> float:
    return base * (1 + rng.uniform(-spread, spread))


# ---------------------------------------------------------------------- the cases


DANA = user("Dana Reyes", profile="System Administrator", title="Sales Operations Manager")
MULESOFT = AppRef.for_app("0H45g000000KzYbCAK", "MuleSoft NetSuite Connector")


def mulesoft(**kw: Any) -> UsageProfile:
    days = kw.pop("days", DAYS)
    return profile(
        DANA,
        MULESOFT,
        lambda d, h, r: jitter(r, 5000, 0.05),
        days=days,
        ips={"203.0.113.21": 0.55, "203.0.113.22": 0.45},
        logins={"Remote Access 2.0|": 24 * days},
        user_ui_logins=2 * days,
        user_last_ui_login=datetime(2026, 11, 3, 15, 12, tzinfo=UTC),
        preauthorized=True,
        **kw,
    )


def hubspot(**kw: Any) -> UsageProfile:
    olivia = user("Olivia Bennett", title="Marketing Manager")
    return profile(
        olivia,
        AppRef.for_app("0H45g000000KzYcCAK", "HubSpot"),
        # One burst an hour, round the clock, a little bigger or smaller each time.
        lambda d, h, r: jitter(r, 180, 0.1),
        ips={"192.0.2.41": 0.34, "192.0.2.42": 0.33, "192.0.2.43": 0.33},
        **{
            "token_use_count": 24 * DAYS,  # one refresh an hour; no LoginHistory row for any
            "token_last_used": datetime(2026, 11, 3, 23, 0, tzinfo=UTC),
            "user_ui_logins": 75,
            **kw,
        },
    )


def nightly_data_loader(login: str = "Other Apex API|", **kw: Any) -> UsageProfile:
    priya = user("Priya Shah", profile="System Administrator", title="CRM Data Administrator")
    return profile(
        priya,
        AppRef.for_client("DataLoaderBatch/59.0.0"),
        lambda d, h, r: jitter(r, 1400, 0.02) if h == 1 else (jitter(r, 100, 0.3) if h == 2 else 0),
        logins={login: DAYS},
        user_ui_logins=45,
        **kw,
    )


def bi_extract(**kw: Any) -> UsageProfile:
    marcus = user("Marcus Lee", profile="Loomis Read Only", title="Business Intelligence Analyst")
    days = kw.pop("days", DAYS)
    return profile(
        marcus,
        AppRef.for_app("0H45g000000KzYdCAK", "Tableau"),
        lambda d, h, r: 200 if h == 6 else 0,
        ips={"198.51.100.30": 1.0},
        days=days,
        logins={"Remote Access 2.0|OAuth Username-Password": days},
        user_ui_logins=30,
        **kw,
    )


GREG = user(
    "Greg Holt", title="Former Pricing Manager", last_login=datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
)
FREIGHT = AppRef.for_app("0H45g000000KzYeCAK", "Freight Rates Service")


def leaver(**kw: Any) -> UsageProfile:
    return profile(
        GREG,
        FREIGHT,
        lambda d, h, r: jitter(r, 30, 0.05) if h in (0, 6, 12, 18) else 0,
        ips={"198.51.100.77": 1.0},
        logins={"Remote Access 2.0|OAuth Client Credentials": 4 * DAYS},
        user_ui_logins=0,
        user_last_ui_login=datetime(2026, 6, 12, 14, 30, tzinfo=UTC),
        **kw,
    )


def dedicated(**kw: Any) -> UsageProfile:
    svc = user(
        "Shipping Label Service",
        license="Salesforce Integration",
        profile="Minimum Access - API Only Integrations",
        title="Integration User",
    )
    return profile(
        svc,
        AppRef.for_app("0H45g000000KzYfCAK", "Shipping Label Service"),
        lambda d, h, r: jitter(r, 400, 0.1) if d.weekday() < 6 and 11 <= h <= 23 else 0,
        ips={"203.0.113.50": 1.0},
        logins={"Remote Access 2.0|OAuth Client Credentials": 6 * DAYS},
        **kw,
    )


def _mobile_schedule(first_hour: int, last_hour: int) -> Schedule:
    def calls(d: date, h: int, r: random.Random) -> float:
        # Between customer visits: some hours busy, most idle, no two days alike.
        if d.weekday() >= 5 or not first_hour <= h <= last_hour:
            return 0
        return r.choice([0, 0, 0, 0, 3, 6, 12, 20, 35])

    return calls


JESSICA = user("Jessica Tran", title="Senior Account Executive")
IOS = AppRef.for_app("0H45g000000KzYgCAK", "Salesforce for iOS")
PHONE_IPS = {
    "192.0.2.101": 0.3,
    "192.0.2.150": 0.2,
    "198.51.100.201": 0.2,
    "203.0.113.199": 0.15,
    "100.64.12.9": 0.1,
    "100.64.80.3": 0.05,
}


def mobile(first_hour: int = 8, last_hour: int = 17, **kw: Any) -> UsageProfile:
    fields: dict[str, Any] = {
        "token_use_count": 70,
        "user_ui_logins": 66,
        "user_last_ui_login": datetime(2026, 11, 3, 16, 40, tzinfo=UTC),
    }
    fields.update(kw)
    return profile(
        JESSICA, IOS, _mobile_schedule(first_hour, last_hour), ips=PHONE_IPS, seed=11, **fields
    )


def workbench(login: str) -> UsageProfile:
    sessions = {date(2026, 10, 13): 10, date(2026, 10, 22): 14}  # a Tuesday, a Thursday

    def calls(d: date, h: int, r: random.Random) -> float:
        return r.randint(120, 180) if sessions.get(d) == h else 0

    return profile(
        user("Sam Whitfield", profile="System Administrator", title="Salesforce Administrator"),
        AppRef.for_app("0H45g000000KzYhCAK", "Workbench")
        if login.startswith("Remote")
        else AppRef.for_client("DataLoader/59.0.0"),
        calls,
        ips={"198.51.100.9": 1.0},
        logins={login: 2},
        user_ui_logins=110,
    )


# ---------------------------------------------------------------------- verdicts


def test_mulesoft_sync_under_an_admin_is_an_integration_on_a_shared_account() -> None:
    f = classify(mulesoft(), DEFAULTS)
    assert f.verdict == "integration_under_human"
    assert f.score > 0.99
    assert f.finding_id == finding_id(ORG, DANA.user_id, MULESOFT.key)
    ev = f.evidence_dict()
    assert ev["calls_per_day"] == pytest.approx(120_000, rel=0.02)
    assert ev["hours_with_calls"] == 24
    assert ev["login_types"] == {"Remote Access 2.0|": 720}
    assert ev["ui_logins"] == 60 and ev["kept_alive"] is False
    assert 2 <= len(f.reasons) <= 4
    # The reasons name both the automation and the shared account.
    text = " ".join(f.reasons)
    assert "shares a person's account" in text
    assert "119,788 calls a day on 30 of 30 days." in f.reasons
    assert (
        "720 of 720 logins to this app in the 30 days of login history held were made by a program"
        in text
    )
    login_row = next(e for e in f.evidence if e.key == "login_types")
    assert "JWT bearer" in login_row.detail and login_row.weight > 0


def test_refresh_token_marketing_sync_without_login_rows_is_an_integration() -> None:
    f = classify(hubspot(), DEFAULTS)
    assert f.verdict == "integration_under_human"
    ev = {e.key: e for e in f.evidence}
    assert ev["non_interactive_logins"].value is None
    assert "refresh token" in ev["non_interactive_logins"].detail
    assert ev["token_uses"].weight > 0 and ev["token_uses"].value == 720
    # Without the token's use count it is still an integration, just a weaker one.
    without = classify(hubspot().model_copy(update={"token_grants": []}), DEFAULTS)
    assert without.score < f.score


@pytest.mark.parametrize("login", ["Other Apex API|", "Partner Product|"])
def test_nightly_soap_batch_under_an_admin_is_an_integration(login: str) -> None:
    f = classify(nightly_data_loader(login), DEFAULTS)
    assert f.verdict == "integration_under_human"
    assert f.app_key == "client:DataLoaderBatch/59.0.0" and f.connected_app_id is None
    ev = f.evidence_dict()
    assert ev["peak_hours_share"] == 1.0
    assert ev["off_hours_share"] == 1.0
    assert ev["non_interactive_logins"] == 1.0
    peak = next(e for e in f.evidence if e.key == "peak_hours_share")
    assert "starting 01:00, 02:00 UTC" in peak.detail


def test_daily_bi_extract_with_modest_volume_is_an_integration() -> None:
    p = bi_extract()
    assert p.total_calls == 200 * DAYS
    f = classify(p, DEFAULTS)
    assert f.verdict == "integration_under_human"
    ev = f.evidence_dict()
    assert ev["daily_cv"] == 0.0  # the same 200 calls every day
    assert ev["weekend_ratio"] == 1.0


def test_leaver_account_kept_alive_for_a_script_is_an_integration() -> None:
    f = classify(leaver(), DEFAULTS)
    assert f.verdict == "integration_under_human"
    alive = next(e for e in f.evidence if e.key == "kept_alive")
    assert alive.value is True and alive.weight > 0
    assert "kept alive only for the integration" in alive.detail
    assert "144 days" in alive.detail  # 2026-06-12 to the window's end, 2026-11-03
    assert alive.detail in f.reasons
    assert "client credentials" in next(e for e in f.evidence if e.key == "login_types").detail


def test_kept_alive_needs_the_dormant_period_from_settings() -> None:
    base = classify(leaver(), DEFAULTS)
    patient = classify(leaver(), DetectionSettings(dormant_ui_days=200))
    assert patient.evidence_dict()["kept_alive"] is False
    assert patient.score < base.score


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"logins": {"Remote Access 2.0|OAuth Web Server": 1}}, "at a browser"),
        ({"user": GREG.model_copy(update={"is_active": False})}, "deactivated"),
        (
            {"user_ui_logins": 3, "user_last_ui_login": datetime(2026, 10, 30, tzinfo=UTC)},
            "Last UI login on 2026-10-30, 4 days before the window ended: within the 30 days",
        ),
        (
            {"user_ui_logins": 0, "user_last_ui_login": datetime(2026, 10, 20, tzinfo=UTC)},
            "14 days",
        ),
    ],
)
def test_kept_alive_only_when_nobody_is_left_at_the_keyboard(
    change: dict[str, Any], says: str
) -> None:
    alive = next(
        e
        for e in classify(leaver().model_copy(update=change), DEFAULTS).evidence
        if e.key == "kept_alive"
    )
    assert alive.value is False and alive.weight == 0
    assert says in alive.detail


def test_never_seen_in_the_ui_counts_the_login_history_as_a_lower_bound() -> None:
    # LoginHistory reaches back months: a first run already holds 180 days of it.
    p = leaver().model_copy(
        update={
            "user_last_ui_login": None,
            "login_days_covered": 180,
            "login_history_since": date(2026, 5, 8),
        }
    )
    alive = next(e for e in classify(p, DEFAULTS).evidence if e.key == "kept_alive")
    assert alive.value is True
    assert alive.detail.startswith(
        "No UI login in the 180 days of login history the store holds (since 2026-05-08)"
    )


def test_a_short_history_without_ui_logins_states_no_date_and_no_idle_account() -> None:
    # 20 days of history and no UI login at all: no last-login date is invented, and 20 days
    # without logs of one are no proof of an idle account.
    p = leaver(days=20).model_copy(update={"user_last_ui_login": None})
    alive = next(e for e in classify(p, DEFAULTS).evidence if e.key == "kept_alive")
    assert alive.value is False and alive.weight == 0
    assert "Last UI login" not in alive.detail and "before the window ended" not in alive.detail
    assert "No UI login in the 20 days of login history the store holds" in alive.detail
    assert "too short a history" in alive.detail
    # Without any login history, nothing is said about UI logins but that it cannot be told.
    none = p.model_copy(update={"login_days_covered": 0, "login_history_since": None})
    alive = next(e for e in classify(none, DEFAULTS).evidence if e.key == "kept_alive")
    assert alive.value is False and "cannot be told" in alive.detail


def test_dedicated_integration_user_is_left_alone_whatever_the_traffic() -> None:
    f = classify(dedicated(), DEFAULTS)
    assert f.verdict == "dedicated_integration"
    assert f.reasons[0].startswith("Runs as a dedicated Integration User")
    assert f.evidence_dict()["kept_alive"] is False  # integration users never use the UI
    # Even with a person-shaped trickle of traffic, the licence decides.
    trickle = mobile().model_copy(update={"user": dedicated().user})
    assert classify(trickle, DEFAULTS).verdict == "dedicated_integration"


def test_person_on_the_mobile_app_is_human() -> None:
    p = mobile()
    assert 20 <= p.total_calls / p.days_active <= 80  # ~40 calls a day
    f = classify(p, DEFAULTS)
    assert f.verdict == "human_interactive"
    assert f.score <= DEFAULTS.human_score
    ev = f.evidence_dict()
    assert ev["weekend_ratio"] == 0.0 and ev["distinct_ips"] == 6
    assert all(e.weight < 0 for e in f.evidence if e.detail in f.reasons)


def test_mobile_app_with_its_consent_login_is_human() -> None:
    p = mobile(logins={"Remote Access 2.0|OAuth Web Server": 1})
    f = classify(p, DEFAULTS)
    assert f.verdict == "human_interactive"
    assert f.evidence_dict()["non_interactive_logins"] == 0.0


def test_mobile_app_in_us_business_hours_is_human_even_with_utc_defaults() -> None:
    # Loomis works 14:00-22:00 UTC: under the 08-18 default half the calls look off-hours.
    p = mobile(first_hour=14, last_hour=21)
    f = classify(p, DEFAULTS)
    assert f.evidence_dict()["off_hours_share"] > DEFAULTS.off_hours_share
    assert f.verdict == "human_interactive"
    # Telling detection the org's hours removes the off-hours signal altogether.
    us = DetectionSettings(business_hours_start=14, business_hours_end=22)
    assert classify(p, us).evidence_dict()["off_hours_share"] == 0.0
    assert classify(p, us).score < f.score


def test_steady_phone_user_in_another_time_zone_is_human_with_utc_defaults() -> None:
    # Acme's Carla: the same few calls every hour of her US working day, from three networks.
    # The off-hours share looks automated under 08-18 UTC, but the calls fit one working day.
    carla = profile(
        user("Carla Mendes", title="Account Executive"),
        AppRef.for_app("0H45g000000KzYjCAK", "Salesforce for Android"),
        lambda d, h, r: jitter(r, 6, 0.6) if d.weekday() < 5 and 14 <= h <= 21 else 0,
        ips={"192.0.2.77": 0.34, "198.51.100.140": 0.33, "203.0.113.61": 0.33},
        token_use_count=88,
        user_ui_logins=60,
    )
    f = classify(carla, DEFAULTS)
    ev = {e.key: e for e in f.evidence}
    assert ev["off_hours_share"].weight > 0
    assert ev["working_day"].weight < 0 and "(14:00–22:00 UTC)" in ev["working_day"].detail
    assert f.verdict == "human_interactive"
    # Without the working-day reading the same traffic would not be called human.
    loose = DetectionSettings(working_day_share=1.01)
    assert classify(carla, loose).verdict != "human_interactive"


def test_mobile_only_person_who_never_opens_the_browser_is_not_an_integration() -> None:
    p = mobile(user_ui_logins=0, user_last_ui_login=None)
    f = classify(p, DEFAULTS)
    assert f.evidence_dict()["kept_alive"] is True  # the rule fires ...
    assert f.verdict != "integration_under_human"  # ... but the traffic is a person's


@pytest.mark.parametrize("login", ["Remote Access 2.0|OAuth Web Server", "Partner Product|"])
def test_occasional_workbench_or_data_loader_session_is_not_an_integration(login: str) -> None:
    p = workbench(login)
    assert p.days_active == 2 and 200 <= p.total_calls <= 400
    f = classify(p, DEFAULTS)
    assert f.verdict in ("human_interactive", "unclear")
    assert f.score < DEFAULTS.integration_score
    # Two sessions in the busiest hours are not a schedule.
    peak = next(e for e in f.evidence if e.key == "peak_hours_share")
    assert peak.value == 1.0 and peak.weight < 0.2


# ---------------------------------------------------------------------- thin evidence


def test_two_days_of_a_moderate_job_is_never_a_confident_integration() -> None:
    f = classify(bi_extract(days=2), DEFAULTS)
    assert f.verdict == "unclear"
    coverage = next(e for e in f.evidence if e.key == "coverage")
    assert coverage.detail.startswith("Only 2 days of API logs")
    assert coverage.detail in f.reasons
    assert f.evidence_dict()["daily_cv"] is None  # too few days to measure a spread
    assert f.score < classify(bi_extract(), DEFAULTS).score


def test_two_days_of_an_overwhelming_sync_still_counts() -> None:
    full, thin = classify(mulesoft(), DEFAULTS), classify(mulesoft(days=2), DEFAULTS)
    assert thin.verdict == "integration_under_human"
    assert DEFAULTS.thin_evidence_score <= thin.score < full.score
    assert any("Only 2 days" in r for r in thin.reasons)


def test_gap_days_make_evidence_thin_too() -> None:
    p = bi_extract(gaps=tuple(range(2, DAYS)))
    assert p.days_observed == 2 and len(p.gap_days) == 28
    # ... and a login history as short: nothing is clear yet.
    thin = p.model_copy(
        update={"login_days_covered": 2, "login_days": {k: v[:2] for k, v in p.login_days.items()}}
    )
    f = classify(thin, DEFAULTS)
    assert f.verdict != "integration_under_human"
    assert "28 missed" in next(e for e in f.evidence if e.key == "coverage").detail


def test_a_first_run_judges_by_the_months_of_logins_it_already_holds() -> None:
    # A free-logs org: one day of API logs, six months of LoginHistory showing a JWT login
    # every two hours from one server, every day. Clear from the first run.
    start = date(2026, 5, 6)
    days = [start + timedelta(days=i) for i in range(180)]
    first = mulesoft(days=1).model_copy(
        update={
            "logins": {"Remote Access 2.0|": 12 * 180},
            "login_days": {"Remote Access 2.0|": days},
            "login_hours": {"Remote Access 2.0|": [1 if h % 2 == 0 else 0 for h in range(24)]},
            "login_days_covered": 180,
            "login_history_since": start,
        }
    )
    f = classify(first, DEFAULTS)
    assert f.verdict == "integration_under_human" and f.score >= DEFAULTS.thin_evidence_score
    rows = {e.key: e for e in f.evidence}
    assert rows["login_cadence"].weight == 1.0 and rows["non_interactive_logins"].weight == 1.5
    assert "on 180 of the 180 days of login history (every day)" in rows["login_cadence"].detail
    # The one day of calls is held back to a seventh; the reasons say what is thin and what
    # the next runs add.
    assert rows["calls_per_day"].weight == pytest.approx(2.0 / 7, abs=0.01)
    coverage = rows["coverage"].detail
    assert coverage.startswith("Only 1 day of API logs")
    assert "each daily discovery run adds a day, 7 by the run of 2026-10-12" in coverage
    assert "180 days of login history (since 2026-05-06)" in coverage
    assert coverage in f.reasons
    # The same day without that history stays short of a verdict.
    bare = mulesoft(days=1).model_copy(update={"login_days_covered": 1})
    assert classify(bare, DEFAULTS).score < f.score


def test_a_refresh_tokens_rate_comes_from_its_own_dates_not_the_days_of_logs() -> None:
    # The phone app on a first run: one day of API logs, a token granted in May and used
    # 500 times since: about three a day, not "500 a day".
    p = mobile(days=1, token_use_count=500, token_created=datetime(2026, 5, 6, 15, tzinfo=UTC),
               token_last_used=datetime(2026, 10, 5, 20, tzinfo=UTC))  # fmt: skip
    token = next(e for e in classify(p, DEFAULTS).evidence if e.key == "token_uses")
    assert token.weight == 0
    assert "used 500 times since 2026-05-06, last used 2026-10-05: about 3 a day." in token.detail
    # HubSpot's hourly refresh over the same months is a machine's, on the first run too.
    hub = hubspot(days=1, token_use_count=24 * 152,
                  token_created=datetime(2026, 5, 6, tzinfo=UTC),
                  token_last_used=datetime(2026, 10, 5, 23, tzinfo=UTC))  # fmt: skip
    token = next(e for e in classify(hub, DEFAULTS).evidence if e.key == "token_uses")
    assert token.weight == 1.0 and "about 24 a day, more often than" in token.detail


def test_no_logs_at_all_is_unclear_not_human() -> None:
    p = UsageProfile(
        org_id=ORG, user=DANA, app=MULESOFT, window_start=START, window_end=START, days_observed=0
    )
    f = classify(p, DEFAULTS)
    assert f.verdict == "unclear" and f.score == 0.5
    assert "nothing to judge" in f.reasons[0]


# ---------------------------------------------------------------------- settings and monotonicity


def borderline() -> UsageProfile:
    """A weekday job of ~420 calls a day from 07:00 to 19:00 UTC with a stored password:
    steady and programmatic, but only on working days and mostly in business hours."""
    return profile(
        user("Ben Carter", title="Director of Operations"),
        AppRef.for_app("0H45g000000KzYiCAK", "Ops Dashboard Feed"),
        lambda d, h, r: jitter(r, 35, 0.1) if d.weekday() < 5 and 7 <= h < 19 else 0,
        ips={"198.51.100.60": 0.5, "198.51.100.61": 0.3, "198.51.100.62": 0.2},
        logins={"Remote Access 2.0|OAuth Username-Password": 22},
        user_ui_logins=40,
    )


def test_raising_min_calls_per_day_flips_a_borderline_case() -> None:
    assert classify(borderline(), DEFAULTS).verdict == "integration_under_human"
    stricter = DetectionSettings(min_calls_per_day=5_000)
    assert classify(borderline(), stricter).verdict != "integration_under_human"


def test_verdict_thresholds_come_from_settings() -> None:
    score = classify(borderline(), DEFAULTS).score
    assert (
        classify(borderline(), DetectionSettings(integration_score=score + 0.001)).verdict
        == "unclear"
    )
    human = DetectionSettings(integration_score=0.999, human_score=score)
    assert classify(borderline(), human).verdict == "human_interactive"


def test_signal_thresholds_come_from_settings() -> None:
    # Inside a working day that wraps midnight, only the nightly job's weekend runs are off hours
    # (8 of the window's 30 days).
    night = DetectionSettings(business_hours_start=22, business_hours_end=6)  # wraps midnight
    assert classify(nightly_data_loader(), night).evidence_dict()[
        "off_hours_share"
    ] == pytest.approx(8 / 30, abs=0.01)
    # Two IPs of three are not "a server" at 0.9, they are at 0.6.
    hub = hubspot()
    assert next(e for e in classify(hub, DEFAULTS).evidence if e.key == "top_ip_share").weight == 0
    loose = DetectionSettings(ip_concentration=0.6)
    assert next(e for e in classify(hub, loose).evidence if e.key == "top_ip_share").weight > 0


def _score(p: UsageProfile) -> float:
    return classify(p, DEFAULTS).score


def test_score_grows_with_volume() -> None:
    def daily(n: int) -> UsageProfile:
        return profile(JESSICA, IOS, lambda d, h, r: n if h == 9 else 0)

    scores = [_score(daily(n)) for n in (1, 10, 50, 200, 5_000, 50_000)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_score_grows_with_days_active() -> None:
    def on_days(k: int) -> UsageProfile:
        return profile(JESSICA, IOS, lambda d, h, r: 300 if h == 9 and (d - START).days < k else 0)

    scores = [_score(on_days(k)) for k in (1, 5, 10, 15, 20, 30)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_score_grows_with_off_hours_share() -> None:
    def starting_at(first: int) -> UsageProfile:  # the same 8-hour day, later and later in UTC
        hours = {(first + i) % 24 for i in range(8)}
        return profile(JESSICA, IOS, lambda d, h, r: 50 if h in hours else 0, user_ui_logins=40)

    shares, scores = [], []
    for first in (8, 10, 12, 14, 16, 18):
        f = classify(starting_at(first), DEFAULTS)
        shares.append(f.evidence_dict()["off_hours_share"])
        scores.append(f.score)
    assert shares == sorted(shares) and scores == sorted(scores) and scores[-1] > scores[0]


def test_score_grows_with_non_interactive_logins() -> None:
    def logins(machine: int) -> UsageProfile:
        return mobile(
            logins={
                "Remote Access 2.0|": machine,
                "Remote Access 2.0|OAuth Web Server": 10 - machine,
            }
        )

    scores = [_score(logins(m)) for m in range(11)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_score_falls_as_days_get_less_alike() -> None:
    def spread(s: float) -> UsageProfile:
        return profile(JESSICA, IOS, lambda d, h, r: jitter(r, 100, s) if h == 9 else 0, seed=3)

    scores = [_score(spread(s)) for s in (0.0, 0.3, 0.6, 0.9, 1.0)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def test_score_grows_with_refresh_token_use() -> None:
    scores = [_score(hubspot(token_use_count=n)) for n in (0, 100, 359, 360, 5_000)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


def test_score_grows_with_ip_concentration() -> None:
    def top_two(share: float) -> UsageProfile:
        rest = (1 - share) / 4
        ips = {"203.0.113.21": share / 2, "203.0.113.22": share / 2} | {
            f"192.0.2.{i}": rest for i in range(4)
        }
        return profile(JESSICA, IOS, lambda d, h, r: 300 if h == 9 else 0, ips=ips)

    scores = [_score(top_two(s)) for s in (0.3, 0.6, 0.89, 0.9, 1.0)]
    assert scores == sorted(scores) and scores[-1] > scores[0]


# ---------------------------------------------------------------------- the finding itself


@pytest.mark.parametrize(
    "build",
    [mulesoft, hubspot, nightly_data_loader, bi_extract, leaver, dedicated, mobile, borderline],
)
def test_every_finding_explains_itself(build: Callable[[], UsageProfile]) -> None:
    p = build()
    f = classify(p, DEFAULTS)
    assert {e.key for e in f.evidence} >= ALL_KEYS
    assert len({e.key for e in f.evidence}) == len(f.evidence)
    assert 0.0 <= f.score <= 1.0
    # The rows add up to the score (additive log-odds).
    assert f.score == pytest.approx(
        1 / (1 + math.exp(-sum(e.weight for e in f.evidence))), abs=1e-3
    )
    for e in f.evidence:
        assert e.label and e.detail.endswith(".") and "\n" not in e.detail
        assert e.detail.count(". ") == 0, e.detail  # one sentence
    assert 2 <= len(f.reasons) <= 4 and len(set(f.reasons)) == len(f.reasons)
    assert classify(p, DEFAULTS) == f  # deterministic
    assert f.is_new is False  # only classify_all knows what earlier runs reported
    assert (f.total_calls, f.window_start, f.license) == (
        p.total_calls,
        p.window_start,
        p.user.license,
    )


def test_classify_all_orders_the_work_and_marks_what_is_new() -> None:
    profiles = [mobile(), dedicated(), bi_extract(), mulesoft(), bi_extract(days=2), leaver()]
    known = finding_id(ORG, GREG.user_id, FREIGHT.key)
    findings = classify_all(profiles, DEFAULTS, previous_ids={known})
    verdicts = [f.verdict for f in findings]
    assert verdicts == [
        "integration_under_human",
        "integration_under_human",
        "integration_under_human",
        "unclear",
        "dedicated_integration",
        "human_interactive",
    ]
    top = findings[:3]
    assert [f.score for f in top] == sorted((f.score for f in top), reverse=True)
    assert top[0].app_name == "MuleSoft NetSuite Connector"
    assert {f.finding_id: f.is_new for f in findings}[known] is False
    assert sum(f.is_new for f in findings) == 5
    assert classify_all(reversed(profiles), DEFAULTS, previous_ids={known}) == findings
    assert classify_all([], DEFAULTS) == []


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("Remote Access 2.0|", "server"),
        ("Remote Access 2.0", "server"),
        ("Remote Access 2.0|OAuth Client Credentials", "server"),
        ("Remote Access 2.0|OauthClientCredentials", "server"),
        ("Remote Access 2.0|OAuth Username-Password", "program"),
        ("Other Apex API|", "program"),
        ("Partner Product|", "program"),
        ("Application|", "interactive"),
        ("SAML Sfdc Initiated SSO|", "interactive"),
        ("Remote Access 2.0|OAuth Web Server", "interactive"),
        ("Remote Access 2.0|OauthUserAgent", "interactive"),
        ("Remote Access 2.0|OAuth Refresh Token", "neutral"),
        ("Chatter Communities External User|", "neutral"),
    ],
)
def test_login_kinds(key: str, kind: str) -> None:
    assert login_kind(key) == kind


def test_off_hours_share_is_exact_for_round_the_clock_traffic() -> None:
    # 10 business hours x 5 weekdays of 24 x 7: 50/168 inside, the rest off hours.
    sig = measure(profile(DANA, MULESOFT, lambda d, h, r: 100, days=28), DEFAULTS)
    assert sig.off_hours_share == pytest.approx(1 - 50 / 168)
    assert sig.peak_share == pytest.approx(3 / 24)
    assert sig.daily_cv == 0.0 and sig.weekend_ratio == 1.0
