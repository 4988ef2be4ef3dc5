"""What a migration may change in an org, read back through the real client: the snapshot
a rollback must return the org to."""

from __future__ import annotations

from typing import Any

from simple_salesforce import Salesforce

# object -> (fields, WHERE): every record of the kinds the migration writes.
SNAPSHOT = {
    "User": ("Username, IsActive, ProfileId", ""),
    "PermissionSet": ("Name, Label, LicenseId", "WHERE IsOwnedByProfile = false"),
    "PermissionSetLicenseAssign": ("AssigneeId, PermissionSetLicenseId", ""),
    "PermissionSetAssignment": (
        "AssigneeId, PermissionSetId",
        "WHERE PermissionSet.IsOwnedByProfile = false",
    ),
    "ObjectPermissions": (
        "ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, "
        "PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords",
        "",
    ),
    "FieldPermissions": ("ParentId, Field, PermissionsRead, PermissionsEdit", ""),
    "SetupEntityAccess": ("ParentId, SetupEntityId", ""),
    "PermissionSetLicense": ("DeveloperName, UsedLicenses", ""),
    "UserLicense": ("Name, UsedLicenses", ""),
}


def snapshot(sf: Salesforce) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for obj, (fields, where) in SNAPSHOT.items():
        names = [f.strip() for f in fields.split(",")]
        rows = sf.query_all(f"SELECT {fields} FROM {obj} {where}".strip())["records"]
        out[obj] = sorted(tuple(str(r[n]) for n in names) for r in rows)
    return out
