"""What the org says about access, folded for the planner (pure; the gateway does the I/O):
a human's effective access from their permission sets' rows, an object's describe as the
fields that carry field-level security, and which objects permission sets can name.

Effective access is the union of every permission set assigned to the user; the profile
is one of them (the permission set it owns, IsOwnedByProfile), as in a real org.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ..models import FieldAccess, HumanAccess, ObjectAccess
from ..models.plan import OBJECT_FLAG_COLUMNS

# Objects every user can read without an object permission (reference §3.1: the API-only
# profile "can also access objects that are accessible to all users"): reads of them need
# nothing in the permission set. Writes still do, and are planned as usual.
PUBLIC_OBJECTS = frozenset({"User", "Organization", "RecordType"})

_OBJECT_FLAGS = {
    **OBJECT_FLAG_COLUMNS,
    "view_all_fields": "PermissionsViewAllFields",  # API 63+; absent before: False
}
OBJECT_PERMISSION_FIELDS = [f for k, f in _OBJECT_FLAGS.items() if k != "view_all_fields"]


class Describes(NamedTuple):
    """What the planner needs from describeSObject, for the objects described."""

    permissionable_fields: dict[str, list[str]]  # object -> fields with FLS
    readonly_fields: dict[str, list[str]]  # object -> permissionable fields taking only Read
    master_detail: dict[str, list[str]]  # detail object -> its master object(s)


def _get(row: Mapping[str, Any], path: str) -> Any:
    """A value by dotted path in a simple-salesforce row ({"Profile": {"Name": ...}})."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def fold_describe(describe: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(permissionable fields, the read-only ones, master objects) of one describe.

    Read-only: formula and auto-number fields (the platform accepts only Read on them) and
    fields neither createable nor updateable. Masters: the targets of the references that
    cascade deletes, i.e. master-detail fields (two on a junction object)."""
    permissionable: list[str] = []
    readonly: list[str] = []
    masters: list[str] = []
    for f in describe.get("fields") or []:
        if f.get("permissionable"):
            permissionable.append(f["name"])
            fixed = not f.get("createable") and not f.get("updateable")
            if f.get("calculated") or f.get("autoNumber") or fixed:
                readonly.append(f["name"])
        if f.get("cascadeDelete") and f.get("referenceTo"):
            masters.extend(m for m in f["referenceTo"][:1] if m not in masters)
    return sorted(permissionable), sorted(readonly), masters


def data_objects(
    describe_global: Mapping[str, Any], permissionable_types: Iterable[str] = ()
) -> list[str]:
    """Objects a permission set can carry object permissions for.

    describeGlobal has no flag for it, so: queryable, layoutable objects that are not
    custom settings, custom metadata, platform events or external objects (setup objects
    such as PermissionSet are not layoutable). When the org lists the ObjectPermissions
    SobjectType picklist (real orgs do), only those."""
    allowed = {t.lower() for t in permissionable_types}
    out = []
    for o in describe_global.get("sobjects") or []:
        name = str(o.get("name") or "")
        if (
            not name
            or not o.get("queryable")
            or not o.get("layoutable")
            or o.get("customSetting")
            or o.get("deprecatedAndHidden")
            or name.endswith(("__mdt", "__e", "__x", "__b", "__Share", "__History", "__Feed"))
        ):
            continue
        if allowed and name.lower() not in allowed:
            continue
        out.append(name)
    return sorted(out)


def system_permissions(permission_sets: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """{"ApiEnabled", "ModifyAllData", ...}: every Permissions<Name> true in any set."""
    return frozenset(
        key[len("Permissions") :]
        for ps in permission_sets
        for key, value in ps.items()
        if key.startswith("Permissions") and value is True
    )


def fold_objects(rows: Iterable[Mapping[str, Any]]) -> dict[str, ObjectAccess]:
    flags: dict[str, dict[str, bool]] = {}
    for row in rows:
        acc = flags.setdefault(str(row["SobjectType"]), dict.fromkeys(_OBJECT_FLAGS, False))
        for key, column in _OBJECT_FLAGS.items():
            acc[key] = acc[key] or row.get(column) is True
    return {obj: ObjectAccess(**acc) for obj, acc in sorted(flags.items())}


def fold_fields(rows: Iterable[Mapping[str, Any]]) -> dict[str, FieldAccess]:
    flags: dict[str, tuple[bool, bool]] = {}
    for row in rows:
        read, edit = flags.get(str(row["Field"]), (False, False))
        flags[str(row["Field"])] = (
            read or row.get("PermissionsRead") is True,
            edit or row.get("PermissionsEdit") is True,
        )
    return {f: FieldAccess(read=r, edit=e) for f, (r, e) in sorted(flags.items())}


def group_notes(username: str, assignments: Iterable[Mapping[str, Any]]) -> list[str]:
    """What the plan must say about permission set groups assigned to the human."""
    notes = []
    for a in assignments:
        group = a.get("PermissionSetGroupId")
        if not group:
            continue
        if a.get("PermissionSetId"):
            notes.append(
                f"Permission set group {group} is assigned to {username}: its permissions were "
                "read from the group's own permission set (unverified against a real org)."
            )
        else:
            notes.append(
                f"Permission set group {group} is assigned to {username} but its permissions "
                "were not expanded (the org returned no permission set for it): anything only "
                "it grants is missing from the human's access, so a plan needing it is "
                "refused, never widened. Check the group in Setup before planning again."
            )
    return notes


def fold_human_access(
    user: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]],
    permission_sets: Sequence[Mapping[str, Any]],
    object_rows: Sequence[Mapping[str, Any]],
    field_rows: Sequence[Mapping[str, Any]],
    data_object_count: int,
) -> HumanAccess:
    """The human's effective access. ``data_object_count``: objects Modify All Data / View
    All Data reach, for the headline."""
    system = system_permissions(permission_sets)
    objects = fold_objects(object_rows)
    everything = "ModifyAllData" in system or "ViewAllData" in system
    readable = sum(1 for acc in objects.values() if acc.read)
    username = str(user.get("Username") or user.get("Id"))
    extra = [a for a in assignments if not _get(a, "PermissionSet.IsOwnedByProfile")]
    return HumanAccess(
        user_id=str(user["Id"]),
        username=username,
        name=str(user.get("Name") or ""),
        profile=str(_get(user, "Profile.Name") or ""),
        license=str(_get(user, "Profile.UserLicense.Name") or ""),
        permission_sets=sorted(
            {
                str(_get(a, "PermissionSet.Name") or a.get("PermissionSetId"))
                for a in extra
                if not a.get("PermissionSetGroupId")
            }
        ),
        permission_set_groups=sorted(
            {str(a["PermissionSetGroupId"]) for a in extra if a.get("PermissionSetGroupId")}
        ),
        system_permissions=system,
        objects=objects,
        fields=fold_fields(field_rows),
        reachable_objects=max(data_object_count, readable) if everything else readable,
        notes=group_notes(username, assignments),
    )
