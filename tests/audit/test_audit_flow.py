"""The audit flow end to end on the audit test org: discovery's history (a week), the
planted unused grant (Case on the label printer's permission set) and denied call (its
Contact create), a Slack gate clicked in the Slack emulator through the real approval
service. A rejected proposal changes nothing; an approved one is applied, read back and
verified, and the printer's next runs succeed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.salesforce.client import connect
from emulators.salesforce.server import RunningEmulator
from tests.audit.orgs import PRINTER, SCENARIO, SVC, advance, scenario
from tests.flows.migration_stage import Clock, eventually
from tests.flows.orgs import start_org

KEY = "audit-tests-approval-token-key"
ADA, SOL = "U0AUDIT001", "U0AUDIT002"
DAYS = 7


@dataclass
class AuditStage:
    org: RunningEmulator
    info: Path
    store_url: str
    slack: Any
    ledger: Any

    def click(self, ts: str, action_id: str, user_id: str, **more: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.slack.url}/__emulator/click",
            json={"ts": ts, "action_id": action_id, "user_id": user_id, **more},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def permission_rows(self) -> list[tuple[str, bool, bool, bool]]:
        sf = connect(self.org.info())
        rows = sf.query_all(
            "SELECT SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit "
            "FROM ObjectPermissions WHERE Parent.Name = 'Label_Printer_Access'"
        )["records"]
        return sorted(
            (r["SobjectType"], r["PermissionsRead"], r["PermissionsCreate"], r["PermissionsEdit"])
            for r in rows
        )


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[AuditStage]:
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

    root = tmp_path_factory.mktemp("audit")
    running, info = start_org(scenario(), root / "org", DAYS)
    # Backfilled history records every call as it was meant; live days record what the org
    # answers: two of them put the printer's denied Contact creates in the logs.
    live = advance(running, 48)[PRINTER]
    assert live["calls_failed"] and set(live["error_codes"]) == {"NOT_FOUND"}, live
    store_url = f"sqlite:///{root / 'store.db'}"
    workspace = workspace_from_scenario(SCENARIO)
    slack = start_slack(workspace)
    ledger = Ledger(store_url)
    api_url = str(PREFECT_API_URL.value())
    runs, clock = PrefectRuns(api_url), Clock()
    desk = ApprovalDesk(
        SqlGateBook(ledger.engine),
        SlackGateway(WebClient(token=slack.bot_token, base_url=slack.base_url)),
        runs,
        ApprovalsSettings(approvers=[ADA, SOL], prefect_api_url=api_url, poll_seconds=0.2),
        token_key=KEY.encode(),
        clock=clock,
    )
    service = start_service(
        create_app(
            desk, signing_secret=slack.signing_secret, clock=clock,
            reaper=Reaper(desk, SqlGateBook(ledger.engine), runs, clock), reaper_interval=0.5,
        )
    )  # fmt: skip
    workspace.actions_url = service.actions_url
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDOVER_STORE__URL", store_url)
        from flows.discovery import discover

        found = discover(emulator_info=str(info), window_days=DAYS)
    verdicts = {(f["username"], f["app_name"]): f["verdict"] for f in found}
    assert verdicts[(SVC, PRINTER)] == "dedicated_integration", verdicts
    yield AuditStage(running, info, store_url, slack, ledger)
    service.stop()
    slack.stop()
    runs.close()
    ledger.close()
    running.stop()


@pytest.fixture
def env(stage: AuditStage, monkeypatch: pytest.MonkeyPatch) -> AuditStage:
    for key, value in {
        "HANDOVER_STORE__URL": stage.store_url,
        "HANDOVER_SLACK__TOKEN": stage.slack.bot_token,
        "HANDOVER_SLACK__BASE_URL": stage.slack.base_url,
        "HANDOVER_SLACK__CHANNEL": "#handover",
        "HANDOVER_APPROVALS__TOKEN_KEY": KEY,
        "HANDOVER_APPROVALS__APPROVERS": f"{ADA},{SOL}",
        "HANDOVER_APPROVALS__POLL_SECONDS": "0.2",
        "HANDOVER_PLAN__MIN_DAYS_OBSERVED": "5",
    }.items():
        monkeypatch.setenv(key, value)
    return stage


def run_audit(stage: AuditStage) -> tuple[threading.Thread, list[Any]]:
    from flows.audit import audit

    out: list[Any] = []

    def target() -> None:
        try:
            out.append(audit(emulator_info=str(stage.info)))
        except BaseException as exc:  # surfaced by the test
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def gate_of(stage: AuditStage, thread: threading.Thread) -> Any:
    from handover.store.gates import SqlGateBook

    book = SqlGateBook(stage.ledger.engine)

    def waiting() -> Any:
        assert thread.is_alive(), "the audit ended before its gate"
        for m in stage.ledger.migrations():
            if m.migration_id.startswith("a-") and m.waiting_at == "audit":
                return book.get(m.migration_id, "audit")
        return None

    return eventually(waiting, timeout=90, what="the audit gate")


def finished(thread: threading.Thread, out: list[Any]) -> dict[str, Any]:
    thread.join(120)
    assert not thread.is_alive() and out, "the audit flow did not finish"
    assert not isinstance(out[0], BaseException), out[0]
    return out[0]  # type: ignore[no-any-return]


@pytest.mark.slow  # ~45 s: a week of history, discovery, two audit runs through Slack
def test_audit_proposes_removing_the_unused_grant_and_adding_the_denied_call(
    env: AuditStage,
) -> None:
    stage = env
    before = stage.permission_rows()
    assert ("Case", True, True, True) in before and "Contact" not in [r[0] for r in before]

    # A rejected proposal changes nothing.
    thread, out = run_audit(stage)
    gate = gate_of(stage, thread)
    assert any("Remove Read, Create, Edit on Case" in c for c in gate.message.changes), gate.message
    assert any(c.startswith("Add Read, Create on Contact") and "NOT_FOUND" in c
               for c in gate.message.changes), gate.message  # fmt: skip
    answer = stage.click(gate.ts, "gate_reject", SOL, reason="not this week")
    assert answer["status"] == 200, answer
    result = finished(thread, out)
    (outcome,) = result["outcomes"].values()
    assert outcome.startswith("rejected"), outcome
    assert stage.permission_rows() == before
    change = stage.ledger.migration(next(iter(result["changes"].values())))
    assert change is not None and change.outcome == "rejected"
    assert stage.ledger.steps(change.migration_id) == []  # no write was even claimed

    # Approved: applied, read back, verified; the printer's Contact create now succeeds.
    thread, out = run_audit(stage)
    gate = gate_of(stage, thread)
    stage.click(gate.ts, "gate_approve", ADA)
    result = finished(thread, out)
    (outcome,) = result["outcomes"].values()
    assert outcome.startswith("successful"), outcome
    after = stage.permission_rows()
    assert "Case" not in [r[0] for r in after]
    assert ("Contact", True, True, False) in after
    assert ("Order", True, False, True) in after and ("Account", True, False, False) in after
    change_id = next(iter(result["changes"].values()))
    steps = {s.key: s.status for s in stage.ledger.steps(change_id)}
    assert set(steps.values()) == {"done"}, steps
    span = advance(stage.org, 24)[PRINTER]
    assert span["runs"] and span["calls_failed"] == 0, span
    (user,) = result["users"]
    assert (
        user["username"] == SVC
        and {"object": "Contact", "operation": "create"}.items() <= {**user["denied"][0]}.items()
    )


@pytest.mark.slow  # the module's stage: a week of history and a discovery run (~30 s)
def test_a_user_handover_made_before_discovery_saw_it_is_audited_without_removals(
    env: AuditStage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration made svc-campaigns and no discovery has classified its traffic yet: the
    audit lists it as handover's, reads what it holds, and proposes no removal (no evidence
    of use is not evidence of no use), saying what to run so the next audit can judge."""
    from handover.planning.canonical import plan_hash
    from handover.store.ledger import Ledger, Opening
    from handover.store.plans import PlanStore
    from tests.migration.plans import make_plan

    username = "svc-campaigns@audit.test"
    sf: Any = connect(env.org.info())  # simple-salesforce names sobjects dynamically

    def one_id(soql: str) -> str:
        return str(sf.query(soql)["records"][0]["Id"])

    psl = one_id("SELECT Id FROM PermissionSetLicense "
                 "WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")  # fmt: skip
    user = sf.User.create({
        "Username": username, "LastName": "Campaign Sync", "Alias": "campsync",
        "Email": "integrations@audit.test", "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
        "ProfileId": one_id("SELECT Id FROM Profile "
                            "WHERE Name = 'Minimum Access - API Only Integrations'"),
    })["id"]  # fmt: skip
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user, "PermissionSetLicenseId": psl})
    ps = sf.PermissionSet.create(
        {"Name": "HO_Campaign_Sync_0a1b2c3d", "Label": "HO Campaign Sync", "LicenseId": psl}
    )["id"]
    sf.ObjectPermissions.create({
        "ParentId": ps, "SobjectType": "Order", "PermissionsRead": True,
        "PermissionsCreate": True, "PermissionsEdit": True,
    })  # fmt: skip
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})

    # A store of its own: a finished migration of handover's made the user, no discovery
    # run is in it.
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("HANDOVER_STORE__URL", store_url)
    with PlanStore(store_url) as plans, Ledger(store_url) as ledger:
        plan = make_plan(username=username, app_name="Campaign Sync")
        saved = plans.save(plan.model_copy(update={"hash": plan_hash(plan)}))
        migration = "m-0a1b2c3d4e5f"
        ledger.open(
            Opening(
                migration_id=migration, finding_id="f-0a1b2c3d4e5f",
                org_id=str(env.org.org.org_id), app_key="client:campaigns",
                app_name="Campaign Sync", human_user_id="005000000000001AAA",
                human_username="mia@audit.test", plan_hash=saved.plan_hash,
            )
        )  # fmt: skip
        ledger.finish(migration, "successful", f"Campaign Sync runs as {username}")

    from flows.audit import audit

    result = audit(emulator_info=str(env.info), ask_approval=False)
    (user,) = result["users"]
    assert (user["username"], user["source"], user["apps"]) == (username, "handover", [])
    assert [(h["object"], h["permission_set"]) for h in user["held"]] == [
        ("Order", "HO_Campaign_Sync_0a1b2c3d")
    ]
    assert user["used"] == [] and user["changes"] == [] and result["outcomes"] == {}
    (why,) = user["not_judged"]
    assert "no discovery run has classified this user's traffic yet" in why
    assert "handover discover" in why
