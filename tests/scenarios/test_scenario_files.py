"""The bundled scenario files: valid, honouring the workload contract, and self-consistent
(every workload's running user really may do every call of its mix in the built org)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulators.salesforce.loader import LoadedOrg, build_org
from emulators.salesforce.rules import INTEGRATION_LICENSE, INTEGRATION_PSL, OBJECT_DEPENDENCIES
from emulators.salesforce.scenario import Call, Scenario, Workload, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios"
LOOMIS = SCENARIOS / "loomis.yaml"
ACME = SCENARIOS / "acme-enterprise.yaml"
FILES = [LOOMIS, ACME]

GROUND_TRUTHS = {"integration_under_human", "dedicated_integration", "human_interactive"}
OPERATIONS = {"query", "create", "update", "upsert", "delete"}


@cache
def _scenario(path: Path) -> Scenario:
    return load_scenario(path)


@cache
def _built(path: Path) -> LoadedOrg:
    return build_org(_scenario(path))


def _workloads() -> list[Any]:
    return [
        pytest.param(path, w.name, id=f"{path.stem}:{w.name}")
        for path in FILES
        for w in _scenario(path).workloads
    ]


def _workload(path: Path, name: str) -> Workload:
    return next(w for w in _scenario(path).workloads if w.name == name)


def _user_count(s: Scenario) -> int:
    return len(s.users) + sum(g.count for g in s.user_groups)


# ---------------------------------------------------------------------- the contract


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_file_validates_and_builds(path: Path) -> None:
    scenario = _scenario(path)
    loaded = _built(path)
    assert len(loaded.org.table("User")) == _user_count(scenario)
    assert set(loaded.credentials) == {w.name for w in scenario.workloads}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_workloads_carry_the_contract_keys(path: Path) -> None:
    """Read the raw YAML: the contract is about the file's keys, not the model's defaults."""
    raw = yaml.safe_load(path.read_text())
    assert raw["workloads"], "a scenario without workloads tests nothing"
    names = [w["name"] for w in raw["workloads"]]
    assert len(names) == len(set(names)), (
        "workload names must be unique (they name credential files)"
    )
    for w in raw["workloads"]:
        for key in ("name", "app", "username", "ground_truth", "calls"):
            assert w.get(key), f"{w.get('name')}: missing {key}"
        assert w["ground_truth"] in GROUND_TRUTHS, w["name"]
        for call in w["calls"]:
            assert call["object"], w["name"]
            assert call["operation"] in OPERATIONS, (w["name"], call)
            if call["operation"] == "query":
                assert call.get("fields"), (
                    f"{w['name']}: a query on {call['object']} must list fields"
                )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_licences_fit_the_users(path: Path) -> None:
    org = _built(path).org
    for lic in org.table("UserLicense").values():
        assert lic["UsedLicenses"] <= lic["TotalLicenses"], lic["Name"]
    for psl in org.table("PermissionSetLicense").values():
        assert psl["UsedLicenses"] <= psl["TotalLicenses"], psl["DeveloperName"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_object_permission_dependencies_hold(path: Path) -> None:
    """The loader writes permission rows without the platform's checks, so the files must
    already obey them: Create/Edit need Read, Delete needs Read+Edit, detail needs master."""
    org = _built(path).org
    for row in org.table("ObjectPermissions").values():
        for flag, needs in OBJECT_DEPENDENCIES.items():
            if row.get(f"Permissions{flag}"):
                for need in needs:
                    assert row.get(f"Permissions{need}"), (
                        f"{row['SobjectType']}: {flag} needs {need}"
                    )
        obj = org.schema.get(row["SobjectType"])
        assert obj is not None
        if row.get("PermissionsRead"):
            for fdef in obj.fields.values():
                if fdef.cascade_delete:
                    master = org.find_one(
                        "ObjectPermissions",
                        ParentId=row["ParentId"],
                        SobjectType=fdef.reference_to[0],
                    )
                    assert master and master["PermissionsRead"], (
                        f"Read {obj.name} needs Read {fdef.reference_to[0]}"
                    )


# ---------------------------------------------------------------------- Loomis: the demo org


def test_loomis_is_an_event_monitoring_org_of_about_200_people() -> None:
    s = _scenario(LOOMIS)
    assert s.org.event_monitoring
    assert s.org.my_domain == "loomis-logistics.my.salesforce.com"
    assert 180 <= _user_count(s) <= 220
    assert _built(LOOMIS).org.event_monitoring


EXPECTED_LOOMIS = {
    "MuleSoft NetSuite Sync": "integration_under_human",
    "HubSpot Marketing Sync": "integration_under_human",
    "Nightly Data Loader Batch": "integration_under_human",
    "Tableau Pipeline Extract": "integration_under_human",
    "Freight Rates Sync": "integration_under_human",
    "WMS Order Fulfilment": "integration_under_human",
    "Shipping Label Service": "dedicated_integration",
    "Jessica Mobile App": "human_interactive",
}


def test_loomis_true_positives_and_negatives_exist() -> None:
    s = _scenario(LOOMIS)
    assert {w.name: w.ground_truth for w in s.workloads} == EXPECTED_LOOMIS
    users = {u.username: u for u in s.users}

    mule = _workload(LOOMIS, "MuleSoft NetSuite Sync")
    assert (mule.auth, mule.schedule.calls_per_hour, len(mule.schedule.hours)) == (
        "jwt_bearer",
        5000,
        24,
    )
    dana = users[mule.username]
    assert dana.profile == "System Administrator" and dana.ui_logins_per_day > 0
    assert {c.object for c in mule.calls if c.operation != "query"} >= {"Order", "OrderItem"}

    assert _workload(LOOMIS, "HubSpot Marketing Sync").auth == "refresh_token"
    loader = _workload(LOOMIS, "Nightly Data Loader Batch")
    assert (loader.auth, loader.api_family, loader.schedule.hours) == ("soap_login", "SOAP", [1])
    assert _workload(LOOMIS, "Tableau Pipeline Extract").schedule.hours == [6]

    freight = _workload(LOOMIS, "Freight Rates Sync")
    greg = users[freight.username]
    assert greg.leaver and greg.active and greg.ui_logins_per_day == 0
    assert not [
        w for w in s.workloads if w.username != freight.username and w.username == greg.username
    ]

    ios = _workload(LOOMIS, "Jessica Mobile App")
    assert ios.auth == "refresh_token" and ios.schedule.calls_per_hour < 20
    assert set(ios.schedule.hours) <= set(range(13, 23)), "a person works business hours"

    # UI-only humans: the user groups have no workloads at all.
    domain = s.org.admin_username.split("@")[1]
    for w in s.workloads:
        assert not any(
            w.username.startswith(g.prefix) and w.username.endswith(domain) for g in s.user_groups
        )


def test_acme_is_a_small_org_with_free_logs_only() -> None:
    s = _scenario(ACME)
    assert not s.org.event_monitoring
    assert s.retention_days == 1
    assert 10 <= _user_count(s) <= 20
    assert {w.ground_truth for w in s.workloads} == GROUND_TRUTHS
    assert any(
        w.auth == "password" and w.ground_truth == "integration_under_human" for w in s.workloads
    )


# ---------------------------------------------------------------------- self-consistency


def _id_sources(org: Any, w: Workload) -> set[str]:
    """Objects whose ids the runner learns from the workload's own query results: the
    queried objects, and the targets of reference fields those queries select."""
    out = set()
    for c in w.calls:
        if c.operation != "query":
            continue
        out.add(c.object.lower())
        obj = org.schema.get(c.object)
        for fname in c.fields:
            fdef = obj.get_field(fname) if obj else None
            if fdef is not None and fdef.type == "reference":
                out.add(fdef.reference_to[0].lower())
    return out


def _needs(call: Call) -> set[str]:
    """Object permission flags a call needs (upsert may create or update)."""
    return {
        "query": {"read"},
        "create": {"read", "create"},
        "update": {"read", "edit"},
        "upsert": {"read", "create", "edit"},
        "delete": {"read", "edit", "delete"},
    }[call.operation]


@pytest.mark.parametrize(("path", "name"), _workloads())
def test_running_user_may_do_every_call(path: Path, name: str) -> None:
    loaded = _built(path)
    org = loaded.org
    w = _workload(path, name)
    user = org.user_by_username(w.username)
    assert user is not None and user["IsActive"], f"{name}: {w.username} must exist and be active"
    access = org.access_of(user["Id"])
    assert access.has("ApiEnabled"), f"{name}: {w.username} lacks API Enabled"
    queried = {c.object.lower() for c in w.calls if c.operation == "query"}
    id_sources = _id_sources(org, w)
    created = {c.object.lower() for c in w.calls if c.operation in ("create", "upsert")}
    for call in w.calls:
        obj = org.schema.get(call.object)
        assert obj is not None, f"{name}: unknown object {call.object}"
        acc = access.object(obj.name)
        for flag in _needs(call):
            assert getattr(acc, flag), f"{name}: {w.username} lacks {flag} on {obj.name}"
        for fname in call.fields:
            fdef = obj.get_field(fname)
            assert fdef is not None, f"{name}: {obj.name} has no field {fname}"
            assert org.field_visible(access, obj, fdef), (
                f"{name}: {w.username} can't read {obj.name}.{fname}"
            )
            if call.operation == "query":
                continue
            assert fdef.createable if call.operation == "create" else fdef.updateable, (
                f"{name}: {obj.name}.{fname} is read-only"
            )
            if fdef.permissionable:
                assert access.field(obj.name, fdef.name)[1], (
                    f"{name}: {w.username} can't edit {obj.name}.{fname}"
                )
            if fdef.type == "reference":
                # The runner finds parent ids in the workload's own query results.
                target = fdef.reference_to[0]
                assert access.object(target).read, (
                    f"{name}: {obj.name}.{fname} points at unreadable {target}"
                )
                assert target.lower() in id_sources, (
                    f"{name}: no source of {target} ids for {obj.name}.{fname}"
                )
        if call.external_id_field:
            ext = obj.get_field(call.external_id_field)
            assert ext is not None and ext.external_id, (
                f"{name}: {call.external_id_field} is no external id"
            )
            assert org.field_visible(access, obj, ext)
        for fdef in obj.fields.values():
            # Required references of a create (OrderItem.OrderId) need a readable parent too.
            if (
                call.operation in ("create", "upsert")
                and fdef.required_on_create
                and fdef.type == "reference"
            ):
                assert fdef.reference_to[0].lower() in id_sources | created, (
                    f"{name}: no source of {obj.name}.{fdef.name} ids"
                )
        if call.operation == "update":
            assert obj.name.lower() in queried, (
                f"{name}: updates {obj.name} without ever querying it"
            )
        if call.operation == "delete":
            assert obj.name.lower() in created, f"{name}: deletes {obj.name} it never creates"


@pytest.mark.parametrize(("path", "name"), _workloads())
def test_the_app_lets_the_running_user_in(path: Path, name: str) -> None:
    loaded = _built(path)
    org = loaded.org
    w = _workload(path, name)
    user = org.user_by_username(w.username)
    assert user is not None
    app = org.app_by_name(w.app)
    if w.auth == "soap_login":
        assert app is None, "SOAP login() goes through no connected app"
        assert (
            org.access_of(user["Id"]).has("UseAnyApiClient")
            or org.access_of(user["Id"]).modify_all_data
        )
        return
    assert app is not None, f"{name}: no connected app named {w.app}"
    if app.admin_approved:
        ps_ids = org.access_of(user["Id"]).permission_set_ids
        grants = org.find("SetupEntityAccess", SetupEntityId=app.app_id)
        assert any(g["ParentId"] in ps_ids for g in grants), (
            f"{name}: {w.username} is not pre-authorized for {w.app}"
        )
    if w.auth == "jwt_bearer":
        assert app.certificate_pem, f"{name}: JWT needs 'Use digital signatures'"
        assert app.admin_approved, (
            "JWT without a prior interactive approval needs pre-authorization"
        )
    if w.auth == "client_credentials":
        assert app.client_credentials_user == w.username.lower()
        assert org.access_of(user["Id"]).has("ApiUserOnly"), "the Run-As user must be API Only"
    if w.auth in ("client_credentials", "password"):
        assert app.consumer_secret
    creds = loaded.credentials[name]
    if w.auth == "refresh_token":
        assert creds.refresh_token


@pytest.mark.parametrize(
    ("path", "name"),
    [p for p in _workloads() if "Shipping" in p.values[1] or "Portal" in p.values[1]],
)
def test_dedicated_integration_user_holds_exactly_what_it_uses(path: Path, name: str) -> None:
    org = _built(path).org
    w = _workload(path, name)
    assert w.ground_truth == "dedicated_integration"
    user = org.user_by_username(w.username)
    assert user is not None
    assert org.license_of(user) == INTEGRATION_LICENSE
    assert org.get(user["ProfileId"])["Name"] == "Minimum Access - API Only Integrations"
    access = org.access_of(user["Id"])
    assert INTEGRATION_PSL in access.psl_names
    psl = org.find_one("PermissionSetLicense", DeveloperName=INTEGRATION_PSL)
    assert psl is not None
    custom_sets = [
        org.get(i) for i in access.permission_set_ids if not org.get(i)["IsOwnedByProfile"]
    ]
    assert custom_sets and all(ps["LicenseId"] == psl["Id"] for ps in custom_sets)

    needed: dict[str, set[str]] = {}
    for call in w.calls:
        needed.setdefault(call.object.lower(), set()).update(_needs(call))
        obj = org.schema.get(call.object)
        for fname in call.fields:
            fdef = obj.get_field(fname)
            if call.operation != "query" and fdef.type == "reference":
                # Pointing a lookup at a record needs reading that record's object.
                needed.setdefault(fdef.reference_to[0].lower(), set()).add("read")
    for obj_name, acc in access.objects.items():
        granted = {f for f in ("read", "create", "edit", "delete") if getattr(acc, f)}
        assert granted == needed.get(obj_name, set()), f"{obj_name}: granted {granted}"
        assert not (acc.view_all or acc.modify_all)
    assert set(needed) == set(access.objects)
    used = {f"{c.object}.{f}".lower() for c in w.calls for f in c.fields}
    for field_name, (read, _edit) in access.fields.items():
        assert read and field_name in used, f"{field_name} is granted but never used"


@pytest.mark.parametrize(("path", "name"), _workloads())
def test_humans_hold_full_licences(path: Path, name: str) -> None:
    org = _built(path).org
    w = _workload(path, name)
    user = org.user_by_username(w.username)
    assert user is not None
    if w.ground_truth == "dedicated_integration":
        return
    assert org.license_of(user) != INTEGRATION_LICENSE
    spec = next(u for u in _scenario(path).users if u.username == w.username)
    if w.ground_truth == "human_interactive":
        assert spec.ui_logins_per_day > 0 and not spec.leaver
