"""What an Integration User holds, per permission set (the audit needs to know which set
grants what, to change only the integration's own): object permission rows and the
system permissions with where each comes from."""

from __future__ import annotations

from typing import Any

from .. import ids
from ..models.audit import Flag, HeldObject
from .gateway import SalesforceGateway

_FLAGS: dict[str, Flag] = {
    "PermissionsRead": "read",
    "PermissionsCreate": "create",
    "PermissionsEdit": "edit",
    "PermissionsDelete": "delete",
    "PermissionsViewAllRecords": "view_all",
    "PermissionsModifyAllRecords": "modify_all",
}
WATCHED = ("ApiEnabled", "ModifyAllData", "ViewAllData", "ManageUsers", "CustomizeApplication",
           "AuthorApex")  # fmt: skip


def read_permission_sets(
    gateway: SalesforceGateway, user_id: str
) -> tuple[list[HeldObject], dict[str, str]]:
    """(every object permission row of the user's permission sets, profile's included;
    watched system permission -> "permission set X" / "profile Y")."""
    uid = ids.to18(user_id)
    assigned = gateway.query_all(
        "SELECT PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
        f"PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'",
        what="reading the Integration User's permission sets",
    )
    sets: dict[str, tuple[str, bool]] = {}
    for a in assigned:
        ps: dict[str, Any] = a.get("PermissionSet") or {}
        owned = bool(ps.get("IsOwnedByProfile"))
        name = str(((ps.get("Profile") or {}).get("Name")) or ps.get("Name") or "")
        sets[ids.to18(str(a["PermissionSetId"]))] = (name, owned)
    if not sets:
        return [], {}
    listed = ", ".join(f"'{p}'" for p in sorted(sets))
    rows = gateway.query_all(
        f"SELECT ParentId, SobjectType, {', '.join(_FLAGS)} FROM ObjectPermissions "
        f"WHERE ParentId IN ({listed})",
        what="reading the Integration User's object permissions",
    )
    held = []
    for r in rows:
        name, owned = sets[ids.to18(str(r["ParentId"]))]
        flags = [flag for col, flag in _FLAGS.items() if r.get(col)]
        if flags:
            held.append(
                HeldObject(
                    permission_set_id=ids.to18(str(r["ParentId"])),
                    permission_set=name,
                    owned_by_profile=owned,
                    object=str(r["SobjectType"]),
                    flags=flags,
                )
            )
    system: dict[str, str] = {}
    perms = gateway.query_all(
        f"SELECT Id, {', '.join('Permissions' + p for p in WATCHED)} FROM PermissionSet "
        f"WHERE Id IN ({listed})",
        what="reading the Integration User's system permissions",
    )
    for p in perms:
        name, owned = sets[ids.to18(str(p["Id"]))]
        for perm in WATCHED:
            if p.get(f"Permissions{perm}") and perm not in system:
                system[perm] = f"{'profile' if owned else 'permission set'} {name}"
    return sorted(held, key=lambda h: (h.owned_by_profile, h.permission_set, h.object)), system


def read_flags(gateway: SalesforceGateway, ps_ids: list[str]) -> dict[str, dict[str, list[Flag]]]:
    """Permission set id -> object -> flags, read back after a change."""
    if not ps_ids:
        return {}
    listed = ", ".join(f"'{ids.to18(p)}'" for p in sorted(set(ps_ids)))
    rows = gateway.query_all(
        f"SELECT ParentId, SobjectType, {', '.join(_FLAGS)} FROM ObjectPermissions "
        f"WHERE ParentId IN ({listed})",
        what="reading the permission sets back",
    )
    out: dict[str, dict[str, list[Flag]]] = {}
    for r in rows:
        flags = [flag for col, flag in _FLAGS.items() if r.get(col)]
        out.setdefault(ids.to18(str(r["ParentId"])), {})[str(r["SobjectType"])] = flags
    return out
