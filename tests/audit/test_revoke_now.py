""" "Revoke now" end to end: a handed-over migration's last message in Slack carries the
button; a click delivered by the Slack emulator (signed, as Slack does) reaches the real
approval service over HTTP, which reads the migration's org from the ledger and revokes
every token of its app in the emulated org over HTTPS. The external systems' next
refresh fails with Salesforce's real error; a non-approver's click changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from emulators.salesforce.server import RunningEmulator
from tests.audit.orgs import CAMPAIGN, PRINTER, SCENARIO, advance, scenario
from tests.flows.migration_stage import eventually
from tests.flows.orgs import start_org

ADA, SOL, MIA = "U0AUDIT001", "U0AUDIT002", "U0AUDIT003"  # two approvers, one not
MIGRATION = "m-0a1b2c3d4e5f"
APP = "Campaign Sync"


@dataclass
class Stage:
    org: RunningEmulator
    slack: Any
    ledger: Any
    store_url: str

    def messages(self) -> dict[str, Any]:
        return httpx.get(f"{self.slack.url}/__emulator/messages").json()  # type: ignore[no-any-return]

    def click(self, ts: str, user_id: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.slack.url}/__emulator/click",
            json={"ts": ts, "action_id": "revoke_now", "user_id": user_id},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def revokes(self) -> list[Any]:
        return [m for m in self.ledger.migrations() if m.migration_id.startswith("r-")]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    from slack_sdk import WebClient

    from emulators.slack import start_in_thread as start_slack
    from emulators.slack.scenario import workspace_from_scenario
    from handover.settings import ApprovalsSettings, SalesforceSettings
    from handover.slack.approvals import create_app
    from handover.slack.approvals import start_in_thread as start_service
    from handover.slack.desk import ApprovalDesk
    from handover.slack.gateway import SlackGateway
    from handover.slack.notices import post_notice, render_notice
    from handover.slack.revoke_now import OrgRevoker
    from handover.slack.runs import PrefectRuns
    from handover.store.gates import SqlGateBook
    from handover.store.ledger import Ledger, Opening

    root = tmp_path_factory.mktemp("revoke-now")
    running, info = start_org(scenario(), root / "org", 2)
    store_url = f"sqlite:///{root / 'store.db'}"
    workspace = workspace_from_scenario(SCENARIO)
    slack = start_slack(workspace)
    ledger = Ledger(store_url)
    book = SqlGateBook(ledger.engine)
    gateway = SlackGateway(WebClient(token=slack.bot_token, base_url=slack.base_url))
    runs = PrefectRuns("http://127.0.0.1:9/api")  # a revoke never reaches Prefect
    desk = ApprovalDesk(
        book, gateway, runs, ApprovalsSettings(approvers=[ADA, SOL]),
        token_key=b"revoke-now-tests", clock=lambda: datetime.now(UTC),
        revoker=OrgRevoker(store_url, SalesforceSettings()),
    )  # fmt: skip
    service = start_service(create_app(desk, signing_secret=slack.signing_secret))
    workspace.actions_url = service.actions_url
    # A migration of the app that handed it over (its steps are the migration tests'
    # business): the ledger knows where it ran, and its thread ends on the notice.
    ledger.open(
        Opening(
            migration_id=MIGRATION, finding_id="f-0a1b2c3d4e5f", org_id=str(running.org.org_id),
            app_key=APP, app_name=APP, human_user_id="005000000000001AAA",
            human_username="mia@audit.test", plan_hash="ab" * 32,
        )
    )  # fmt: skip
    ledger.remember(MIGRATION, params={"org": None, "emulator_info": str(info)})
    ledger.finish(MIGRATION, "successful", f"{APP} runs as svc-campaigns@audit.test")
    notice = render_notice(
        "finished", migration_id=MIGRATION, app_name=APP, human="mia@audit.test",
        new_user="svc-campaigns@audit.test", outcome="successful", reason=None, reasons=[],
        run_url=None,
    )  # fmt: skip
    post_notice(book, gateway, MIGRATION, "#handover", notice)
    yield Stage(running, slack, ledger, store_url)
    service.stop()
    slack.stop()
    runs.close()
    ledger.close()
    running.stop()


def test_revoke_now_in_the_thread_cuts_off_every_users_token_of_the_app(stage: Stage) -> None:
    before = advance(stage.org, 2)
    assert all(before[w]["runs"] and not before[w]["runs_failed"] for w in CAMPAIGN), before
    (notice,) = [m for m in stage.messages()["messages"] if "Revoke now" in str(m["blocks"])]

    # Not an approver: told why, nothing revoked.
    stage.click(notice["ts"], MIA)
    reply = eventually(
        lambda: [e["text"] for e in stage.messages()["ephemeral"] if e["user"] == MIA],
        what="a reply to Mia",
    )
    assert "not an approver" in reply[0]
    assert stage.revokes() == []
    assert advance(stage.org, 1)["Campaign Sync Mia"]["runs_failed"] == 0

    # An approver, alone: every token of the app revoked, the thread told the counts.
    stage.click(notice["ts"], SOL)

    def told() -> list[dict[str, Any]]:
        return [
            m for m in stage.messages()["messages"]
            if m["thread_ts"] == notice["ts"] and "Revoked now" in m["text"]
        ]  # fmt: skip

    (said,) = eventually(told, what="the revoke's message in the thread")
    assert said["text"] == f"Revoked now: 3 tokens of {APP} revoked, 0 sessions ended"
    shown = str(said["blocks"])
    for name in ("ana@audit.test", "leo@audit.test", "mia@audit.test"):
        assert f"{name}: 1 token" in shown
    (revoked,) = stage.revokes()
    assert revoked.outcome == "successful" and f"by {SOL}" in (revoked.outcome_reason or "")
    assert [s.status for s in stage.ledger.steps(revoked.migration_id)] == ["done"] * 3

    after = advance(stage.org, 2)
    for w in CAMPAIGN:  # the next refresh fails as Salesforce answers it
        assert after[w]["runs"] and after[w]["runs_failed"] == after[w]["runs"], after[w]
        assert set(after[w]["error_codes"]) == {"invalid_grant"}, after[w]
    assert after[PRINTER]["runs_failed"] == 0  # another app: untouched


def test_revoke_now_of_a_migration_the_ledger_does_not_know_says_so(stage: Stage) -> None:
    from handover.errors import ConfigError
    from handover.settings import SalesforceSettings
    from handover.slack.revoke_now import OrgRevoker

    revoker = OrgRevoker(stage.store_url, SalesforceSettings())
    with pytest.raises(ConfigError, match="handover revoke --app"):
        revoker.app_of("m-ffffffffffff")
    (revoke,) = stage.revokes() or [None]
    if revoke is not None:  # a revoke id is not a migration with an app to revoke
        with pytest.raises(ConfigError, match="knows no migration"):
            revoker.app_of(revoke.migration_id)
