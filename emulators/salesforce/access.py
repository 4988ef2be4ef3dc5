"""Effective access of a user: the union of the permission sets assigned to them.

The profile is represented by the permission set it owns (IsOwnedByProfile), and that set
appears as an assignment like any other, as in a real org. Modify All Data / View All Data
grant every data object; Customize Application, Manage Users and View Setup gate setup data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OBJECT_FLAGS = (
    "Read",
    "Create",
    "Edit",
    "Delete",
    "ViewAllRecords",
    "ModifyAllRecords",
    "ViewAllFields",
)


@dataclass
class ObjectAccess:
    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False
    view_all_fields: bool = False

    def merge(self, row: dict) -> None:
        self.read |= bool(row.get("PermissionsRead"))
        self.create |= bool(row.get("PermissionsCreate"))
        self.edit |= bool(row.get("PermissionsEdit"))
        self.delete |= bool(row.get("PermissionsDelete"))
        self.view_all |= bool(row.get("PermissionsViewAllRecords"))
        self.modify_all |= bool(row.get("PermissionsModifyAllRecords"))
        self.view_all_fields |= bool(row.get("PermissionsViewAllFields"))


@dataclass
class EffectiveAccess:
    user_id: str
    license_name: str
    system: set[str] = field(default_factory=set)  # e.g. {"ApiEnabled", "ModifyAllData"}
    objects: dict[str, ObjectAccess] = field(default_factory=dict)  # lower object name
    fields: dict[str, tuple[bool, bool]] = field(
        default_factory=dict
    )  # "account.industry" -> (read, edit)
    permission_set_ids: set[str] = field(default_factory=set)
    psl_names: set[str] = field(default_factory=set)  # developer names of assigned PSLs

    def has(self, perm: str) -> bool:
        return perm in self.system

    @property
    def modify_all_data(self) -> bool:
        return "ModifyAllData" in self.system

    @property
    def view_all_data(self) -> bool:
        return "ViewAllData" in self.system or self.modify_all_data

    def object(self, name: str) -> ObjectAccess:
        if self.modify_all_data:
            return ObjectAccess(True, True, True, True, True, True, True)
        acc = self.objects.get(name.lower(), ObjectAccess())
        if self.view_all_data:
            acc = ObjectAccess(True, acc.create, acc.edit, acc.delete, True, acc.modify_all, True)
        return acc

    def field(self, object_name: str, field_name: str) -> tuple[bool, bool]:
        """(readable, editable) for a permissionable field."""
        if self.modify_all_data:
            return True, True
        obj = self.object(object_name)
        read, edit = self.fields.get(f"{object_name}.{field_name}".lower(), (False, False))
        if obj.view_all_fields or self.view_all_data:
            read = True
        return read, edit


def compute(
    user: dict,
    license_name: str,
    permission_sets: list[dict],
    object_rows: list[dict],
    field_rows: list[dict],
    psl_names: set[str],
) -> EffectiveAccess:
    """Fold the rows of the user's permission sets into one EffectiveAccess (pure)."""
    eff = EffectiveAccess(user_id=user["Id"], license_name=license_name, psl_names=set(psl_names))
    ps_ids = {ps["Id"] for ps in permission_sets}
    eff.permission_set_ids = ps_ids
    for ps in permission_sets:
        for key, value in ps.items():
            if key.startswith("Permissions") and value is True:
                eff.system.add(key[len("Permissions") :])
    for row in object_rows:
        if row["ParentId"] in ps_ids:
            eff.objects.setdefault(row["SobjectType"].lower(), ObjectAccess()).merge(row)
    for row in field_rows:
        if row["ParentId"] in ps_ids:
            key = row["Field"].lower()
            r0, e0 = eff.fields.get(key, (False, False))
            eff.fields[key] = (
                r0 or bool(row.get("PermissionsRead")),
                e0 or bool(row.get("PermissionsEdit")),
            )
    return eff
