"""An emulated org's records a migration writes, with every id replaced by a name (a
username, a permission set, an app), so two orgs built from one scenario compare equal
when a migration left them in the same state, and a duplicate record shows as a second
row."""

from __future__ import annotations

from typing import Any

from emulators.salesforce.metadata import read_connected_app
from emulators.salesforce.server import RunningEmulator

# object -> (fields, WHERE)
RECORDS = {
    "User": ("Username, IsActive, ProfileId", ""),
    "PermissionSet": ("Name, Label, LicenseId", "WHERE IsOwnedByProfile = false"),
    "PermissionSetLicenseAssign": ("AssigneeId, PermissionSetLicenseId", ""),
    "PermissionSetAssignment": ("AssigneeId, PermissionSetId", ""),
    "ObjectPermissions": (
        "ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, "
        "PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords",
        "",
    ),
    "FieldPermissions": ("ParentId, Field, PermissionsRead, PermissionsEdit", ""),
    "SetupEntityAccess": ("ParentId, SetupEntityId", ""),
    "UserLogin": ("UserId, IsFrozen", ""),
    "OauthToken": ("UserId, AppName", ""),
}


def org_state(running: RunningEmulator, apps: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    from emulators.salesforce.client import connect

    sf = connect(running.info())
    names: dict[str, str] = {}
    for soql, field in (
        ("SELECT Id, Username FROM User", "Username"),
        ("SELECT Id, Name FROM PermissionSet", "Name"),
        ("SELECT Id, Name FROM ConnectedApplication", "Name"),
        ("SELECT Id, DeveloperName FROM PermissionSetLicense", "DeveloperName"),
    ):
        names |= {r["Id"]: r[field] for r in sf.query_all(soql)["records"]}
    state: dict[str, list[tuple[Any, ...]]] = {}
    for obj, (fields, where) in RECORDS.items():
        columns = [f.strip() for f in fields.split(",")]
        rows = sf.query_all(f"SELECT {fields} FROM {obj} {where}".strip())["records"]
        state[obj] = sorted(tuple(names.get(str(r[c]), str(r[c])) for c in columns) for r in rows)
    state["ConnectedApp run-as"] = [
        (app, str((read_connected_app(running.org, app) or {}).get("oauthConfig", {}).get(
            "oauthClientCredentialUser")))
        for app in apps
    ]  # fmt: skip
    return state
