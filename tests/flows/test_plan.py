"""The plan flow end to end: discovery on the scaled Loomis org, then a plan for every
integration under a human account, checked against what each workload does; the CLI's
contract and exit codes; and the plan applied in the emulator, after which the workload
runs as the new Integration User."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from emulators.salesforce import client
from emulators.salesforce.scenario import Scenario, Workload
from emulators.salesforce.server import RunningEmulator
from emulators.salesforce.workloads import credential_file, run_workload
from handover.usage.decode import client_identity
from tasks.plan import permissions_artifact_key, plan_artifact_key
from tests.flows.loomis import DAYS

Loomis = tuple[Scenario, RunningEmulator, Path]

# What each call of a workload needs (issue 4, "Done when"), and what the platform adds
# (reference §3.2): Create / Edit need Read, Delete needs Read and Edit, Read on a
# master-detail child needs Read on its master. Written out here, not imported from the
# planner, so the test does not grade the planner with its own table.
NEEDS = {
    "query": {"read"},
    "create": {"create"},
    "update": {"edit"},
    "upsert": {"create", "edit"},
    "delete": {"delete"},
}
DEPENDS = {"create": {"read"}, "edit": {"read"}, "delete": {"read", "edit"}}
MASTERS = {"OrderItem": "Order"}  # Loomis's master-detail pairs (OrderItem.OrderId)
FLAGS = ("read", "create", "edit", "delete", "view_all", "modify_all")


def expected_objects(w: Workload) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for call in w.calls:
        out.setdefault(call.object, set()).update(NEEDS[call.operation])
    for flags in out.values():
        for flag in list(flags):
            flags |= DEPENDS.get(flag, set())
    for obj in [o for o, flags in out.items() if "read" in flags]:
        if obj in MASTERS:
            out.setdefault(MASTERS[obj], set()).add("read")
    return out


def app_of(scenario: Scenario, w: Workload) -> str:
    apps = {a.name for a in scenario.connected_apps}
    return w.app if w.app in apps else client_identity(w.client_name or w.app)


@pytest.fixture(scope="module")
def planned(
    loomis: Loomis, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]]:
    """(store URL, findings by workload name, plans by workload name)."""
    scenario, _running, info_path = loomis
    store_url = f"sqlite:///{tmp_path_factory.mktemp('plan-store') / 'store.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDOVER_STORE__URL", store_url)
        from flows.discovery import discover
        from flows.plan import plan

        findings = discover(emulator_info=str(info_path), window_days=DAYS)
        by_pair = {(f["username"], f["app_name"]): f for f in findings}
        found = {w.name: by_pair[(w.username, app_of(scenario, w))] for w in scenario.workloads}
        plans = {
            w.name: plan(found[w.name]["finding_id"], emulator_info=str(info_path))
            for w in scenario.workloads
            if w.ground_truth == "integration_under_human"
        }
    yield store_url, found, plans


def test_every_plan_grants_exactly_what_its_workload_does(
    loomis: Loomis, planned: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    scenario, running, _ = loomis
    _, _, plans = planned
    workloads = {w.name: w for w in scenario.workloads}
    assert set(plans) == {
        w.name for w in scenario.workloads if w.ground_truth == "integration_under_human"
    }
    for name, p in plans.items():
        w = workloads[name]
        # DAYS covers two weeks of daily runs: no workload lacks evidence.
        assert p["status"] == "ready", f"{name}: {p.get('reasons') or p.get('blockers')}"
        got = {
            op["object"]: {f for f in FLAGS if op[f]}
            for op in p["permission_set"]["object_permissions"]
        }
        assert got == expected_objects(w), name
        assert p["evidence_window"]["days_observed"] == DAYS
        assert p["evidence_window"]["cadence"] == "daily"
        assert p["evidence_window"]["cycles"] >= 2
        assert p["permission_set"]["system_permissions"] == ["ApiEnabled"]
        assert p["user"]["profile"] == "Minimum Access - API Only Integrations"
        assert p["user"]["username"].endswith("@loomis-logistics.com")
        # Every permission traces back to calls, each with an example of them.
        observed = [op for op in p["operations"] if op["count"]]
        assert observed and all(op["example"] for op in observed), name
        granted = {(o["object"], f) for o in p["permission_set"]["object_permissions"]
                   for f in FLAGS if o[f]}  # fmt: skip
        assert granted == {(x["target"], x["access"]) for x in p["provenance"]
                           if x["kind"] == "object"}  # fmt: skip

        fields = {fp["field"]: fp for fp in p["permission_set"]["field_permissions"]}
        assert all(fp["read"] for fp in fields.values())
        assert {f.partition(".")[0] for f in fields} <= set(got)
        coverage = {c["object"]: c for c in p["field_coverage"]}
        for call in w.calls:
            obj = running.org.schema.get(call.object)
            assert obj is not None
            permissionable = {
                f for f in call.fields if (d := obj.get_field(f)) and d.permissionable
            }
            if call.operation == "query":
                # SOAP queries are logged with their text (the API file's QUERY): the fields
                # they read are observed; REST ones are not, so the object's fields are planned.
                source = "observed" if w.api_family == "SOAP" else "object_level"
                assert coverage[call.object]["reads"] == source, (name, call.object)
                assert {f"{call.object}.{f}" for f in permissionable} <= set(fields), name
            elif call.operation in ("create", "update", "upsert"):
                # No event log lists the fields a write sets: object level, editable.
                assert coverage[call.object]["writes"] == "object_level", (name, call.object)
                editable = {f for f in permissionable if not (obj.get_field(f).calculated)}  # type: ignore[union-attr]
                assert all(fields[f"{call.object}.{f}"]["edit"] for f in editable), name

    mule = plans["MuleSoft NetSuite Sync"]
    assert mule["human"]["modify_all_data"] is True
    assert mule["headline"].startswith("Dana Reyes had System Administrator")
    assert mule["permission_set"]["connected_app_access"][0]["app_name"] == (
        "MuleSoft NetSuite Connector"
    )
    # Grantability is the org's data objects minus an unverified list: the plan says so.
    assert any("NON_GRANTABLE_OBJECTS (User, Campaign" in n for n in mule["notes"])
    # Data Loader logs in with a password, through no connected app: nothing to pre-authorize.
    assert plans["Nightly Data Loader Batch"]["permission_set"]["connected_app_access"] == []


def test_every_plan_made_is_saved_by_its_hash(
    planned: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    from handover.plan import plan_json
    from handover.store.plans import PlanStore

    store_url, _, plans = planned
    with PlanStore(store_url) as saved:
        for name, p in plans.items():
            # What the migration will apply: the plan read back by its hash, unchanged.
            assert plan_json(saved.load(p["hash"])) == p, name
            latest = saved.latest(p["org_id"], p["finding_id"])
            assert latest is not None and latest.hash == p["hash"], name


async def _artifacts(key: str, limit: int) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as c:
        return await c.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=limit,
        )


def test_the_json_contract_and_a_stable_hash(
    loomis: Loomis,
    planned: tuple[str, dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handover.cli.app import app

    _, _, info_path = loomis
    store_url, found, plans = planned
    monkeypatch.setenv("HANDOVER_STORE__URL", store_url)
    runner = CliRunner()
    fid = found["MuleSoft NetSuite Sync"]["finding_id"]
    result = runner.invoke(app, ["plan", "--finding", fid, "--emulator", str(info_path), "--json"])
    assert result.exit_code == 0, result.output
    p = json.loads(result.stdout)
    assert {"user", "permission_set", "blockers", "evidence_window", "hash"} <= set(p)
    assert p["permission_set"]["object_permissions"][0].keys() >= {
        "object", "read", "create", "edit", "delete",
    }  # fmt: skip
    assert p["permission_set"]["field_permissions"][0].keys() >= {"field", "read", "edit"}
    # Planning again from the same store and org gives the same plan, hash included.
    assert p == plans["MuleSoft NetSuite Sync"]

    # The finding's last plan is in the Prefect UI: Markdown for people, the permissions as a
    # table, under keys of that finding (each finding's plans have their own history).
    assert plan_artifact_key(fid) == f"access-plan-{fid}"
    (markdown,) = asyncio.run(_artifacts(plan_artifact_key(fid), 1))
    assert p["hash"][:12] in markdown.data and "Ready for approval" in markdown.data
    (table,) = asyncio.run(_artifacts(permissions_artifact_key(fid), 1))
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    objects = [r["target"] for r in rows if r["permission"] == "object"]
    assert objects == [o["object"] for o in p["permission_set"]["object_permissions"]]

    # Without --json: the plan as Markdown, for people.
    result = runner.invoke(app, ["plan", "--finding", fid, "--emulator", str(info_path)])
    assert result.exit_code == 0, result.output
    assert "Ready for approval" in result.stdout and p["hash"][:12] in result.stdout


def test_refusals_exit_3_with_their_reasons(
    loomis: Loomis,
    planned: tuple[str, dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handover.cli.app import app
    from handover.store.plans import PlanStore

    _, _, info_path = loomis
    store_url, found, plans = planned
    monkeypatch.setenv("HANDOVER_STORE__URL", store_url)
    runner = CliRunner()
    emulator = ["--emulator", str(info_path)]

    # A person working in the mobile app is not moved onto a service account.
    jessica = found["Jessica Mobile App"]["finding_id"]
    result = runner.invoke(app, ["plan", "--finding", jessica, *emulator, "--json"])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["status"] == "refused"
    assert "working interactively" in result.stderr
    with PlanStore(store_url) as saved:  # a refusal is no plan: nothing to approve or apply
        assert saved.saved(plans["MuleSoft NetSuite Sync"]["org_id"], jessica) == []

    # Not enough history for the settings: insufficient evidence, never a smaller plan.
    monkeypatch.setenv("HANDOVER_PLAN__MIN_DAYS_OBSERVED", "30")
    tableau = found["Tableau Pipeline Extract"]["finding_id"]
    result = runner.invoke(app, ["plan", "--finding", tableau, *emulator])
    assert result.exit_code == 3, result.output
    assert "Insufficient evidence" in result.stdout
    assert f"Only {DAYS} days of logs observed" in " ".join(result.stderr.split())

    # An id discovery never reported: a clear error, exit 2.
    result = runner.invoke(app, ["plan", "--finding", "f-000000000000", *emulator])
    assert result.exit_code == 2, result.output
    assert "run discovery first" in " ".join(result.stderr.split())


# ---------------------------------------------------------------------- applying a plan


def apply_plan(sf: Salesforce, p: dict[str, Any]) -> str:
    """Provision the plan as the migration does (handover.migration + OrgWriter), as the
    admin; returns the new user's id."""
    from handover.migration.actions import provision_actions
    from handover.migration.apply import apply_actions
    from handover.migration.memory import MemoryLedger
    from handover.models import AccessPlan
    from handover.salesforce.gateway import SalesforceGateway
    from handover.salesforce.provision import Records
    from handover.salesforce.writer import OrgWriter

    plan = AccessPlan.model_validate(p)
    gateway = SalesforceGateway(sf)
    actions = provision_actions(plan, Records(gateway).provision_facts(plan))
    entries = apply_actions(actions, MemoryLedger(), OrgWriter(gateway), dry_run=False)
    assert all(e.status == "done" for e in entries)
    return str(entries[0].record_id)


def test_plans_apply_and_the_workloads_run_as_the_new_user(
    loomis: Loomis, planned: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    scenario, running, _ = loomis
    _, _, plans = planned
    info = running.info()
    admin = client.connect(info)
    for p in plans.values():  # every plan is accepted by the org's rules
        apply_plan(admin, p)
    # JWT workloads read their username from the credential source: point it at the new
    # user (what cutover will do) and run the workload's whole mix.
    for w in scenario.workloads:
        if w.name not in plans or w.auth != "jwt_bearer":
            continue
        new_user = plans[w.name]["user"]["username"]
        path = credential_file(Path(info["credentials_dir"]), w.name)
        original = path.read_text()
        try:
            path.write_text(json.dumps({**json.loads(original), "username": new_user}))
            result = run_workload(info, scenario, w.name, calls=len(w.calls) + 4)
        finally:
            path.write_text(original)
        assert result.username == new_user
        assert result.login_error is None, result.summary()
        assert result.ok, result.summary()
        done = {(o.object, o.operation) for o in result.outcomes if o.ok and not o.lookup}
        assert {(c.object, c.operation) for c in w.calls} <= done, result.summary()
