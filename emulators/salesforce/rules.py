"""The platform rules on users, licences and permissions that handover depends on.

Each hook runs inside the org lock with the row as it will be stored; raising a
SalesforceError rejects the operation with Salesforce's code and wording.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .exceptions import SalesforceError
from .objects import INTEGRATION_ALLOWED_SYSTEM_PERMISSIONS
from .schema import ObjectDef

if TYPE_CHECKING:
    from .org import CallContext, Org

INTEGRATION_LICENSE = "Salesforce Integration"
INTEGRATION_PSL = "SalesforceAPIIntegrationPsl"
_API_NAME = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")
_UNKNOWN_DUP = "duplicate value found: <unknown> duplicates value on record with id: <unknown>"

# Object permission dependencies: flag -> flags it needs on the same object.
OBJECT_DEPENDENCIES = {
    "Create": ("Read",),
    "Edit": ("Read",),
    "Delete": ("Read", "Edit"),
    "ViewAllRecords": ("Read",),
    "ModifyAllRecords": ("Read", "Edit", "Delete", "ViewAllRecords"),
}
_FLAG_LABEL = {
    "Read": "Read",
    "Create": "Create",
    "Edit": "Edit",
    "Delete": "Delete",
    "ViewAllRecords": "View All",
    "ModifyAllRecords": "Modify All",
}


def _integrity(message: str, fields: list[str] | None = None) -> SalesforceError:
    return SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def _plural(org: Org, object_name: str) -> str:
    obj = org.schema.get(object_name)
    return obj.label_plural if obj else object_name


# ---------------------------------------------------------------------- dispatch


def before_insert(org: Org, ctx: CallContext, obj: ObjectDef, row: dict) -> None:
    hook = _BEFORE_INSERT.get(obj.name)
    if hook:
        hook(org, ctx, row)


def after_insert(org: Org, ctx: CallContext, obj: ObjectDef, row: dict) -> None:
    if obj.name == "User":
        _sync_profile_assignment(org, row, None)
        # Every user has one UserLogin row (frozen / password-locked), made with the user.
        org.insert_system(
            "UserLogin",
            {
                "UserId": row["Id"],
                "IsFrozen": False,
                "IsPasswordLocked": False,
                "CreatedById": row.get("CreatedById"),
            },
        )
    if obj.name in ("User", "PermissionSetLicenseAssign"):
        recount_licenses(org)


def before_update(org: Org, ctx: CallContext, obj: ObjectDef, old: dict, new: dict) -> None:
    if obj.name == "User":
        if new["ProfileId"] != old["ProfileId"] or (
            new.get("IsActive") and not old.get("IsActive")
        ):
            _check_user_seat(org, new, exclude=old["Id"])
        new["Username"] = new["Username"].lower()
    elif obj.name == "ObjectPermissions":
        _check_object_permissions(org, new)
    elif obj.name == "FieldPermissions":
        _check_field_permissions(org, new)
    elif obj.name == "PermissionSet":
        _check_system_permissions(org, new)
    elif (
        obj.name == "UserLogin" and new.get("IsPasswordLocked") and not old.get("IsPasswordLocked")
    ):
        # "From the API, you can set this field to false, but not true" (ObjRef UserLogin).
        # The error code and text are unverified.
        raise _integrity(
            "Is Password Locked can only be set to false: the platform locks a user after too many failed logins.",
            ["IsPasswordLocked"],
        )


def after_update(org: Org, ctx: CallContext, obj: ObjectDef, old: dict, new: dict) -> None:
    if obj.name == "User":
        if new["ProfileId"] != old["ProfileId"]:
            _sync_profile_assignment(org, new, old["ProfileId"])
        recount_licenses(org)
    # A permission row with every flag false is deleted by the platform.
    if obj.name == "ObjectPermissions" and not any(
        new.get(f"Permissions{f}")
        for f in ("Read", "Create", "Edit", "Delete", "ViewAllRecords", "ModifyAllRecords")
    ):
        org.remove(obj, new)
    if obj.name == "FieldPermissions" and not new.get("PermissionsRead"):
        org.remove(obj, new)


def before_delete(org: Org, ctx: CallContext, obj: ObjectDef, row: dict) -> None:
    if obj.name == "PermissionSet":
        if row.get("IsOwnedByProfile"):
            raise SalesforceError(
                400, "DELETE_FAILED", "You can't delete a permission set that's owned by a profile."
            )
        if org.find("PermissionSetAssignment", PermissionSetId=row["Id"]):
            raise SalesforceError(
                400,
                "DELETE_FAILED",
                "You can't delete this permission set because it's assigned to one or more users.",
            )
        for child in ("ObjectPermissions", "FieldPermissions", "SetupEntityAccess"):
            for r in org.find(child, ParentId=row["Id"]):
                org.remove(org.schema.get(child), r)  # type: ignore[arg-type]
    elif obj.name == "PermissionSetAssignment":
        ps = org.get(row["PermissionSetId"]) if row.get("PermissionSetId") else None
        if ps and ps.get("IsOwnedByProfile"):
            raise _integrity(
                "You can't assign or unassign this permission set because it's associated with a profile."
            )
    elif obj.name == "PermissionSetLicenseAssign":
        needing = [
            a
            for a in org.find("PermissionSetAssignment", AssigneeId=row["AssigneeId"])
            if (ps := org.get(a["PermissionSetId"] or ""))
            and ps.get("LicenseId") == row["PermissionSetLicenseId"]
        ]
        if needing:
            raise _integrity(
                "Can't remove the permission set license from the user because permission sets that require it are assigned."
            )
    elif obj.name == "User":
        raise SalesforceError(
            400, "DELETE_FAILED", "Users can't be deleted. Deactivate the user instead."
        )


def after_delete(org: Org) -> None:
    recount_licenses(org)


# ---------------------------------------------------------------------- users and licences


def _before_insert_user(org: Org, ctx: CallContext, row: dict) -> None:
    row["Username"] = row["Username"].lower()
    if row.get("IsActive") is None:
        row["IsActive"] = True
    profile = org.get(row["ProfileId"])
    if profile is None:
        raise SalesforceError(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ProfileId"]
        )
    row["UserType"] = profile.get("UserType") or "Standard"
    _check_user_seat(org, row, exclude=None)


def _check_user_seat(org: Org, user: dict, exclude: str | None) -> None:
    if not user.get("IsActive"):
        return
    lic_name = org.license_of(user)
    lic = org.find_one("UserLicense", Name=lic_name)
    if lic is None:
        return
    used = sum(
        1
        for u in org.table("User").values()
        if u["Id"] != exclude and u.get("IsActive") and org.license_of(u) == lic_name
    )
    if used >= (lic.get("TotalLicenses") or 0):
        raise SalesforceError(
            400,
            "LICENSE_LIMIT_EXCEEDED",
            f"License Limit Exceeded: no more {lic_name} licenses are available. Deactivate a user or buy more licenses.",
        )


def recount_licenses(org: Org) -> None:
    """UsedLicenses follows the active users and PSL assignments, as in Setup."""
    counts: dict[str, int] = {}
    for u in org.table("User").values():
        if u.get("IsActive"):
            name = org.license_of(u)
            counts[name] = counts.get(name, 0) + 1
    for lic in org.table("UserLicense").values():
        lic["UsedLicenses"] = counts.get(lic["Name"], 0)
    psl_counts: dict[str, int] = {}
    for a in org.table("PermissionSetLicenseAssign").values():
        psl_counts[a["PermissionSetLicenseId"]] = psl_counts.get(a["PermissionSetLicenseId"], 0) + 1
    for psl in org.table("PermissionSetLicense").values():
        psl["UsedLicenses"] = psl_counts.get(psl["Id"], 0)


def _sync_profile_assignment(org: Org, user: dict, old_profile_id: str | None) -> None:
    """The profile's own permission set appears as an assignment, as in a real org."""
    if old_profile_id:
        old_ps = org.find_one("PermissionSet", ProfileId=old_profile_id, IsOwnedByProfile=True)
        if old_ps:
            for a in org.find(
                "PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=old_ps["Id"]
            ):
                org.remove(org.schema.get("PermissionSetAssignment"), a)  # type: ignore[arg-type]
    ps = org.find_one("PermissionSet", ProfileId=user["ProfileId"], IsOwnedByProfile=True)
    if ps:
        org.insert_system(
            "PermissionSetAssignment",
            {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"], "IsActive": True},
        )
    org.access_changed()


def check_password(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise SalesforceError(
            400,
            "INVALID_NEW_PASSWORD",
            "Your password must be at least 8 characters long and have a mix of letters and numbers.",
        )


def _before_insert_psla(org: Org, ctx: CallContext, row: dict) -> None:
    if org.find(
        "PermissionSetLicenseAssign",
        AssigneeId=row["AssigneeId"],
        PermissionSetLicenseId=row["PermissionSetLicenseId"],
    ):
        raise SalesforceError(400, "DUPLICATE_VALUE", _UNKNOWN_DUP)
    psl = org.get(row["PermissionSetLicenseId"])
    user = org.get(row["AssigneeId"])
    if psl is None or user is None:
        raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if psl["DeveloperName"] == INTEGRATION_PSL and org.license_of(user) != INTEGRATION_LICENSE:
        raise _integrity(
            f"Can't assign permission set license {psl['MasterLabel']} to user {user['Name']}. The user license doesn't allow this permission set license."
        )
    if (psl.get("UsedLicenses") or 0) >= (psl.get("TotalLicenses") or 0):
        raise SalesforceError(
            400,
            "LICENSE_LIMIT_EXCEEDED",
            f"License Limit Exceeded: no more {psl['MasterLabel']} licenses are available.",
        )
    row["IsRevoked"] = False


# ---------------------------------------------------------------------- permission sets


def _license_key(org: Org, license_id: str | None) -> str | None:
    """'integration' when a licence id is the Integration user licence or its PSL."""
    if not license_id:
        return None
    lic = org.get(license_id)
    if lic is None:
        return None
    if lic.get("Name") == INTEGRATION_LICENSE or lic.get("DeveloperName") == INTEGRATION_PSL:
        return "integration"
    return lic.get("Name") or lic.get("DeveloperName")


def _before_insert_permission_set(org: Org, ctx: CallContext, row: dict) -> None:
    if not row.get("IsOwnedByProfile"):
        if not _API_NAME.match(row["Name"] or ""):
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                "The API Name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.",
                ["Name"],
            )
        if org.find("PermissionSet", Name=row["Name"]):
            raise SalesforceError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                "This API Name is already in use. Enter a unique name.",
                ["Name"],
            )
        row.update(
            {"IsOwnedByProfile": False, "IsCustom": True, "Type": "Regular", "ProfileId": None}
        )
    if row.get("LicenseId") and org.get(row["LicenseId"]) is None:
        raise SalesforceError(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["LicenseId"]
        )
    _check_system_permissions(org, row)


def _check_system_permissions(org: Org, row: dict) -> None:
    if _license_key(org, row.get("LicenseId")) != "integration":
        return
    for key, value in row.items():
        if (
            key.startswith("Permissions")
            and value is True
            and key[len("Permissions") :] not in INTEGRATION_ALLOWED_SYSTEM_PERMISSIONS
        ):
            raise _integrity(f"The user license doesn't allow the permission: {_perm_label(key)}")


def _perm_label(field_name: str) -> str:
    name = field_name[len("Permissions") :]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _before_insert_psa(org: Org, ctx: CallContext, row: dict) -> None:
    ps = org.get(row["PermissionSetId"]) if row.get("PermissionSetId") else None
    user = org.get(row["AssigneeId"])
    if ps is None or user is None:
        raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if org.find(
        "PermissionSetAssignment",
        AssigneeId=row["AssigneeId"],
        PermissionSetId=row["PermissionSetId"],
    ):
        raise SalesforceError(400, "DUPLICATE_VALUE", _UNKNOWN_DUP)
    if ps.get("IsOwnedByProfile") and ctx is not None:
        raise _integrity(
            "You can't assign or unassign this permission set because it's associated with a profile."
        )
    row["IsActive"] = True
    reason = license_denial(org, ps, user)
    if reason:
        raise _integrity(
            f'Can\'t assign permission set "{ps["Label"]}" to user "{user["Name"]}". {reason}'
        )


def license_denial(org: Org, ps: dict, user: dict) -> str | None:
    """Why ``user``'s licences cannot carry ``ps`` (None when they can)."""
    user_license = org.license_of(user)
    ps_license = ps.get("LicenseId")
    held_psls = {
        a["PermissionSetLicenseId"]
        for a in org.find("PermissionSetLicenseAssign", AssigneeId=user["Id"])
    }
    if ps_license:
        lic = org.get(ps_license)
        if (
            lic is not None
            and lic.get("__type") == "PermissionSetLicense"
            and ps_license not in held_psls
        ):
            return f"The user doesn't have the permission set license {lic['MasterLabel']} that this permission set requires."
        if lic is not None and lic.get("__type") == "UserLicense" and lic["Name"] != user_license:
            return f"The user license doesn't match the permission set license: {lic['Name']}."
    if user_license != INTEGRATION_LICENSE:
        return None
    has_psl = any((p := org.get(i)) and p["DeveloperName"] == INTEGRATION_PSL for i in held_psls)
    for op in org.find("ObjectPermissions", ParentId=ps["Id"]):
        obj = org.schema.get(op["SobjectType"])
        if not has_psl or obj is None or not obj.integration_grantable:
            flag = next(
                (f for f in ("Read", "Create", "Edit", "Delete") if op.get(f"Permissions{f}")),
                "Read",
            )
            return f"The user license doesn't allow the permission: {flag} {_plural(org, op['SobjectType'])}"
    for key, value in ps.items():
        if (
            key.startswith("Permissions")
            and value is True
            and key[len("Permissions") :] not in INTEGRATION_ALLOWED_SYSTEM_PERMISSIONS
        ):
            return f"The user license doesn't allow the permission: {_perm_label(key)}"
    return None


def _check_object_permissions(org: Org, row: dict) -> None:
    obj = org.schema.get(row["SobjectType"] or "")
    if obj is None or not obj.permissionable:
        raise SalesforceError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Sobject Type Name: bad value for restricted picklist field: {row['SobjectType']}",
            ["SobjectType"],
        )
    row["SobjectType"] = obj.name
    plural = obj.label_plural
    for flag, needs in OBJECT_DEPENDENCIES.items():
        if row.get(f"Permissions{flag}"):
            missing = [n for n in needs if not row.get(f"Permissions{n}")]
            if missing:
                raise _integrity(
                    f"Permission {_FLAG_LABEL[flag]} {plural} depends on permission(s): "
                    + ", ".join(f"{_FLAG_LABEL[m]} {plural}" for m in missing)
                )
    # Reading a detail object needs reading its master (master-detail cascade).
    if row.get("PermissionsRead"):
        for fdef in obj.fields.values():
            if fdef.cascade_delete and fdef.reference_to:
                master = fdef.reference_to[0]
                master_perm = org.find_one(
                    "ObjectPermissions", ParentId=row["ParentId"], SobjectType=master
                )
                if not (master_perm and master_perm.get("PermissionsRead")):
                    raise _integrity(
                        f"Permission Read {plural} depends on permission(s): Read {_plural(org, master)}"
                    )
    ps = org.get(row["ParentId"])
    if (
        ps is not None
        and _license_key(org, ps.get("LicenseId")) == "integration"
        and not obj.integration_grantable
    ):
        flag = next(
            (f for f in ("Read", "Create", "Edit", "Delete") if row.get(f"Permissions{f}")), "Read"
        )
        raise _integrity(f"The user license doesn't allow the permission: {flag} {plural}")


def _before_insert_object_permissions(org: Org, ctx: CallContext, row: dict) -> None:
    _check_object_permissions(org, row)
    if org.find("ObjectPermissions", ParentId=row["ParentId"], SobjectType=row["SobjectType"]):
        raise SalesforceError(400, "DUPLICATE_VALUE", _UNKNOWN_DUP)


def _check_field_permissions(org: Org, row: dict) -> None:
    name = row.get("Field") or ""
    obj_name, _, field_name = name.partition(".")
    obj = org.schema.get(obj_name)
    fdef = obj.get_field(field_name) if obj else None
    if (
        obj is None
        or fdef is None
        or not fdef.permissionable
        or obj.name.lower() != (row.get("SobjectType") or "").lower()
    ):
        raise SalesforceError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Field Name: bad value for restricted picklist field: {name}",
            ["Field"],
        )
    row["Field"] = f"{obj.name}.{fdef.name}"
    row["SobjectType"] = obj.name
    if row.get("PermissionsEdit") and not row.get("PermissionsRead"):
        raise _integrity(
            f"Permission Edit {row['Field']} depends on permission(s): Read {row['Field']}"
        )
    if row.get("PermissionsEdit") and (
        fdef.calculated or fdef.auto_number or (not fdef.updateable and not fdef.createable)
    ):
        raise _integrity(f"Field {row['Field']} is not editable: only read access can be granted")


def _before_insert_field_permissions(org: Org, ctx: CallContext, row: dict) -> None:
    _check_field_permissions(org, row)
    if org.find("FieldPermissions", ParentId=row["ParentId"], Field=row["Field"]):
        raise SalesforceError(400, "DUPLICATE_VALUE", _UNKNOWN_DUP)


def _before_insert_setup_entity_access(org: Org, ctx: CallContext, row: dict) -> None:
    target = org.schema.object_of_id(row["SetupEntityId"])
    if target is None or org.get(row["SetupEntityId"]) is None:
        raise SalesforceError(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["SetupEntityId"]
        )
    row["SetupEntityType"] = target.name
    if org.find("SetupEntityAccess", ParentId=row["ParentId"], SetupEntityId=row["SetupEntityId"]):
        raise SalesforceError(400, "DUPLICATE_VALUE", _UNKNOWN_DUP)


def _skip_reference_check(row: dict) -> dict[str, Any]:
    return row


_BEFORE_INSERT = {
    "User": _before_insert_user,
    "PermissionSetLicenseAssign": _before_insert_psla,
    "PermissionSet": _before_insert_permission_set,
    "PermissionSetAssignment": _before_insert_psa,
    "ObjectPermissions": _before_insert_object_permissions,
    "FieldPermissions": _before_insert_field_permissions,
    "SetupEntityAccess": _before_insert_setup_entity_access,
}
