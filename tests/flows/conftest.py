from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator
from tests.flows.loomis import DAYS, LOOMIS, scaled
from tests.flows.migration_stage import Stage
from tests.flows.orgs import start_org


@pytest.fixture(scope="session")
def loomis(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scenario, RunningEmulator, Path]]:
    """The scaled Loomis org with DAYS days of history, served over HTTPS for the session
    (discovery and planning read it; the plan tests add users and permission sets)."""
    scenario = scaled(load_scenario(LOOMIS), 25)
    running, info_path = start_org(scenario, tmp_path_factory.mktemp("loomis"), DAYS)
    yield scenario, running, info_path
    running.stop()


# ---------------------------------------------------------------------- the migration's stage

# A week of history: seven cycles of every Loomis workload (all run daily), half the
# backfill and ingest of the discovery tests' two weeks.
MIGRATION_DAYS = 7
MIGRATED = (
    "WMS Order Fulfilment",  # client credentials
    "MuleSoft NetSuite Sync",  # JWT bearer
    "Tableau Pipeline Extract",  # OAuth username-password
    "Nightly Data Loader Batch",  # SOAP login()
    "HubSpot Marketing Sync",  # a refresh token: blocked until a route is named
    "Freight Rates Sync",  # JWT bearer (a failed verification)
)


@pytest.fixture(scope="session")
def stage(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Stage]:
    """A Loomis org of its own (migrations change it), discovered and planned by the real
    flows, with the Slack emulator and the real approval service beside it."""
    from prefect.settings import PREFECT_API_URL
    from slack_sdk import WebClient

    from emulators.slack import start_in_thread as start_slack
    from emulators.slack.scenario import workspace_from_scenario
    from handover.settings import ApprovalsSettings
    from handover.slack.approvals import create_app
    from handover.slack.approvals import start_in_thread as start_service
    from handover.slack.desk import ApprovalDesk
    from handover.slack.gateway import SlackGateway
    from handover.slack.reaper import Reaper
    from handover.slack.runs import PrefectRuns
    from handover.store.gates import SqlGateBook
    from handover.store.ledger import Ledger
    from tests.flows import migration_stage as ms

    root = tmp_path_factory.mktemp("migration")
    scenario = scaled(load_scenario(LOOMIS), 25)
    running, info_path = start_org(scenario, root / "org", MIGRATION_DAYS)
    store_url = f"sqlite:///{root / 'store.db'}"
    workspace = workspace_from_scenario(LOOMIS)
    slack = start_slack(workspace)
    ledger = Ledger(store_url)
    api_url = str(PREFECT_API_URL.value())
    approvals = ApprovalsSettings(
        approvers=[ms.SAM, ms.NADIA, ms.KENJI], prefect_api_url=api_url, poll_seconds=0.2
    )
    runs = PrefectRuns(api_url)
    clock, book = ms.Clock(), SqlGateBook(ledger.engine)
    desk = ApprovalDesk(
        book,
        SlackGateway(WebClient(token=slack.bot_token, base_url=slack.base_url)),
        runs,
        approvals,
        token_key=ms.KEY.encode(),
        clock=clock,
    )
    reaper = Reaper(desk, book, runs, clock)
    service = start_service(
        create_app(
            desk, signing_secret=slack.signing_secret, reaper=reaper, reaper_interval=0.5,
            clock=clock,
        )
    )  # fmt: skip
    workspace.actions_url = service.actions_url
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDOVER_STORE__URL", store_url)
        mp.setenv("HANDOVER_PLAN__MIN_DAYS_OBSERVED", str(MIGRATION_DAYS))
        from flows.discovery import discover
        from flows.plan import plan

        found = discover(emulator_info=str(info_path), window_days=MIGRATION_DAYS)
        by_pair = {(f["username"], f["app_name"]): f for f in found}
        apps = {a.name for a in scenario.connected_apps}
        findings = {
            w.name: by_pair[(w.username, w.app if w.app in apps else (w.client_name or w.app))]
            for w in scenario.workloads
            if w.name in MIGRATED
        }
        plans = {
            name: plan(f["finding_id"], emulator_info=str(info_path))
            for name, f in findings.items()
        }
    yield ms.Stage(
        scenario=scenario,
        org=running,
        info_path=info_path,
        store_url=store_url,
        slack=slack,
        service=service,
        desk=desk,
        reaper=reaper,
        clock=clock,
        secrets_dir=root / "secrets",
        findings=findings,
        plans=plans,
        ledger=ledger,
    )
    service.stop()
    slack.stop()
    runs.close()
    ledger.close()
    running.stop()


@pytest.fixture
def migration_env(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> Stage:
    """The settings a migration flow reads, pointing at the stage (set per test: every
    test starts with no HANDOVER_* variable)."""
    from tests.flows import migration_stage as ms

    env = {
        "HANDOVER_STORE__URL": stage.store_url,
        "HANDOVER_SLACK__TOKEN": stage.slack.bot_token,
        "HANDOVER_SLACK__BASE_URL": stage.slack.base_url,
        "HANDOVER_SLACK__CHANNEL": "#handover",
        "HANDOVER_APPROVALS__TOKEN_KEY": ms.KEY,
        "HANDOVER_APPROVALS__APPROVERS": ",".join([ms.SAM, ms.NADIA, ms.KENJI]),
        "HANDOVER_APPROVALS__POLL_SECONDS": "0.2",
        "HANDOVER_VERIFY__POLL_SECONDS": "120",
        # Half a day covers the hourly and two-hourly workloads, and keeps the window on
        # one day: its logs are due the next morning (a nightly job's test sets 24).
        "HANDOVER_VERIFY__WINDOW_HOURS": "12",
        # The live clock makes one real call of each kind per run (the rest are logged):
        # at this scale that skews the rare operations of small workloads, so only those
        # expected 30 times or more in the window are judged on volume.
        "HANDOVER_VERIFY__MIN_EXPECTED_CALLS": "30",
        "HANDOVER_CUTOVER__SECRETS_DIR": str(stage.secrets_dir),
        "HANDOVER_SALESFORCE__RETRY_BASE_DELAY_SECONDS": "0.05",
        "HANDOVER_PLAN__MIN_DAYS_OBSERVED": str(MIGRATION_DAYS),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return stage
