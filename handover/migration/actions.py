"""An approved plan as the ordered org writes of each step, each with its idempotency key.

Provisioning follows the order the platform requires (reference §3.2): the user, its
permission set licence, the permission set (its LicenseId is the licence's id, and can't
be changed later), object permissions (masters before details: "Read detail needs Read
master" is checked at insert), field permissions, the assignment, then the app access.
Object and field permissions go as sObject Collections of at most 200 records, all or
none: the first chunk has the bare key, later ones ``:<n>``; then ``:prune`` removes what
an earlier plan of the same permission set granted and this one does not.
"""

from __future__ import annotations

from typing import Any

from ..errors import MigrationError
from ..models import AccessPlan, FieldPermission, ObjectPermission
from ..models.migration import (
    SECRET_PLACEHOLDER,
    CutoverSpec,
    DecommissionPlan,
    OauthTokenInfo,
    ProvisionFacts,
    WriteAction,
    ref,
)
from ..models.plan import OBJECT_FLAG_COLUMNS

COLLECTION_LIMIT = 200  # records per sObject Collections call

USER = "provision:user"
PSL_ASSIGNMENT = "provision:psl-assignment"
PERMISSION_SET = "provision:permission-set"
OBJECT_PERMISSIONS = "provision:object-permissions"
FIELD_PERMISSIONS = "provision:field-permissions"
ASSIGNMENT = "provision:assignment"
APP_ACCESS = "provision:app-access"


def provision_actions(plan: AccessPlan, org: ProvisionFacts) -> list[WriteAction]:
    """The writes that make ``plan`` true in the org, in the order the platform needs."""
    if not plan.approvable:
        raise MigrationError(
            f"plan {plan.hash[:12]} is {plan.status}: a blocked plan is shown, never applied. "
            "Resolve its blockers and plan again."
        )
    user, ps = plan.user, plan.permission_set
    actions = [
        WriteAction(
            step="provision",
            key=USER,
            action="create",
            object="User",
            target=user.username,
            match={"Username": user.username},
            after={
                "Username": user.username,
                "Email": user.email,
                "Alias": user.alias,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "TimeZoneSidKey": user.time_zone,
                "LocaleSidKey": user.locale,
                "LanguageLocaleKey": user.language,
                "EmailEncodingKey": user.email_encoding,
                "ProfileId": org.profile_id,
                "IsActive": True,
            },
            # A username is never created twice: a deactivated user of an earlier run is
            # reactivated, but only one on the integration profile (never a person's).
            adopt_if={"ProfileId": org.profile_id},
        ),
        WriteAction(
            step="provision",
            key=PSL_ASSIGNMENT,
            action="create",
            object="PermissionSetLicenseAssign",
            target=f"{user.permission_set_license} to {user.username}",
            match={
                "AssigneeId": ref(USER),
                "PermissionSetLicenseId": org.permission_set_license_id,
            },
            after={
                "AssigneeId": ref(USER),
                "PermissionSetLicenseId": org.permission_set_license_id,
            },
        ),
        WriteAction(
            step="provision",
            key=PERMISSION_SET,
            action="create",
            object="PermissionSet",
            target=ps.name,
            match={"Name": ps.name},
            after={
                "Name": ps.name,
                "Label": ps.label,
                "Description": ps.description,
                "LicenseId": org.permission_set_license_id,
                **{f"Permissions{p}": True for p in ps.system_permissions},
            },
            # The name is tied to the finding (planning/naming.py): a set of that name is
            # handover's, from an earlier plan of this integration, and is brought up to this
            # plan (its children pruned below). Its licence can't change once created.
            adopt_if={"LicenseId": org.permission_set_license_id},
        ),
    ]
    objects = [_object_record(p) for p in ps.object_permissions]
    fields = [_field_record(p) for p in ps.field_permissions]
    actions += _chunks(OBJECT_PERMISSIONS, "ObjectPermissions", "SobjectType", objects, ps.name)
    actions.append(_prune(OBJECT_PERMISSIONS, "ObjectPermissions", "SobjectType", objects, ps.name))
    actions += _chunks(FIELD_PERMISSIONS, "FieldPermissions", "Field", fields, ps.name)
    actions.append(_prune(FIELD_PERMISSIONS, "FieldPermissions", "Field", fields, ps.name))
    actions.append(
        WriteAction(
            step="provision",
            key=ASSIGNMENT,
            action="create",
            object="PermissionSetAssignment",
            target=f"{ps.name} to {user.username}",
            match={"AssigneeId": ref(USER), "PermissionSetId": ref(PERMISSION_SET)},
            after={"AssigneeId": ref(USER), "PermissionSetId": ref(PERMISSION_SET)},
        )
    )
    for app in ps.connected_app_access:
        actions.append(
            WriteAction(
                step="provision",
                key=f"{APP_ACCESS}:{app.app_id}",
                action="create",
                object="SetupEntityAccess",
                target=f"{app.app_name} through {ps.name}",
                match={"ParentId": ref(PERMISSION_SET), "SetupEntityId": app.app_id},
                after={"ParentId": ref(PERMISSION_SET), "SetupEntityId": app.app_id},
            )
        )
    return actions


def _object_record(p: ObjectPermission) -> dict[str, Any]:
    return {
        "SobjectType": p.object,
        **{col: getattr(p, f) for f, col in OBJECT_FLAG_COLUMNS.items()},
    }


def _field_record(p: FieldPermission) -> dict[str, Any]:
    return {
        "SobjectType": p.field.partition(".")[0],
        "Field": p.field,
        "PermissionsRead": p.read,
        "PermissionsEdit": p.edit,
    }


def _chunks(
    key: str, sobject: str, record_key: str, records: list[dict[str, Any]], ps_name: str
) -> list[WriteAction]:
    out = []
    for n, start in enumerate(range(0, len(records), COLLECTION_LIMIT), start=1):
        chunk = records[start : start + COLLECTION_LIMIT]
        out.append(
            WriteAction(
                step="provision",
                key=key if n == 1 else f"{key}:{n}",
                action="create",
                object=sobject,
                target=f"{len(chunk)} {sobject} of {ps_name}",
                match={"ParentId": ref(PERMISSION_SET)},
                after={"records": chunk},
                record_key=record_key,
            )
        )
    return out


def _prune(
    key: str, sobject: str, record_key: str, records: list[dict[str, Any]], ps_name: str
) -> WriteAction:
    """Remove what an earlier plan of the same set granted and this one does not (a set
    created now has nothing to prune: the action is found in place and writes nothing)."""
    return WriteAction(
        step="provision",
        key=f"{key}:prune",
        action="delete",
        object=sobject,
        target=f"{sobject} of {ps_name} outside the plan",
        match={"ParentId": ref(PERMISSION_SET)},
        after={"keep": sorted({str(r[record_key]) for r in records}, key=str.casefold)},
        record_key=record_key,
    )


# ---------------------------------------------------------------------- cutover


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "app"


def cutover_actions(plan: AccessPlan, cutover: CutoverSpec) -> list[WriteAction]:
    """The writes that switch the integration to the plan's new user (reference §4)."""
    if cutover.blocked:
        raise MigrationError(
            f"no cutover route for {cutover.app_name}: {cutover.blocker or 'blocked'}"
        )
    new_user = plan.user.username
    if cutover.route == "run_as":
        return [
            WriteAction(
                step="cutover",
                key=f"cutover:run-as:{_slug(cutover.app_name)}",
                action="update",
                object="ConnectedApp",
                target=cutover.app_name,
                match={"name": cutover.app_name},
                after={"oauthClientCredentialUser": new_user},
            )
        ]
    sink = cutover.sink or "prefect-secret"
    actions = []
    after: dict[str, Any] = {"username": new_user}
    if cutover.route == "password":
        actions.append(set_password_action("cutover", "cutover:password", new_user))
        after["password"] = SECRET_PLACEHOLDER
    actions.append(
        WriteAction(
            step="cutover",
            key="cutover:credentials",
            action="update",
            object="Credentials",
            target=f"{cutover.app_name} credentials ({sink})",
            match={"sink": sink, "app": cutover.app_name},
            after=after,
        )
    )
    return actions


# ---------------------------------------------------------------------- shared writes
# The same write made by several runbooks (migration, revoke, rotation): one shape each, so
# the writer's probe (what the match keys mean) is the same wherever it is made.


def revoke_token_action(
    step: str, key: str, token: OauthTokenInfo, user_id: str, owner: str
) -> WriteAction:
    return WriteAction(
        step=step,
        key=key,
        action="revoke",
        object="OauthToken",
        target=f"{token.app_name} token of {owner}",
        match={"UserId": user_id, "token_hash": token.token_hash, "app": token.app_name},
    )


def freeze_action(step: str, key: str, user_id: str, username: str) -> WriteAction:
    return WriteAction(
        step=step,
        key=key,
        action="update",
        object="UserLogin",
        target=username,
        match={"UserId": user_id},
        after={"IsFrozen": True},
    )


def set_password_action(step: str, key: str, username: str) -> WriteAction:
    """A new password for ``username``: write-only, never read back or compared."""
    return WriteAction(
        step=step,
        key=key,
        action="set_password",
        object="User",
        target=username,
        match={"Username": username},
        after={"NewPassword": SECRET_PLACEHOLDER},
    )


# ---------------------------------------------------------------------- decommission


def decommission_actions(plan: DecommissionPlan) -> list[WriteAction]:
    """Revoke the human's tokens for the app, end their sessions of it, and remove the
    app access granted for the integration alone: only what the plan found eligible."""
    actions = [
        revoke_token_action(
            "decommission",
            f"decommission:revoke-token:{t.token_hash}",
            t,
            plan.human_user_id,
            plan.human_username,
        )
        for t in plan.revocations
    ]
    actions.append(
        WriteAction(
            step="decommission",
            key="decommission:end-sessions",
            action="delete",
            object="AuthSession",
            target=f"{plan.human_username}'s sessions of {plan.app_name}",
            match={"UsersId": plan.human_user_id, "Application": plan.app_name},
        )
    )
    actions += [
        WriteAction(
            step="decommission",
            key=f"decommission:app-access:{g.sea_id}",
            action="delete",
            object="SetupEntityAccess",
            target=f"{plan.app_name} through {g.permission_set}",
            match={"ParentId": g.parent_id, "SetupEntityId": g.setup_entity_id},
        )
        for g in plan.access_removals
    ]
    return actions


def freeze_actions(plan: DecommissionPlan) -> list[WriteAction]:
    """Freeze the human's account; refused unless the plan found it eligible."""
    if not plan.freeze.ok:
        raise MigrationError(f"{plan.human_username} may not be frozen: {plan.freeze.reason}")
    return [freeze_action("freeze", "decommission:freeze", plan.human_user_id, plan.human_username)]
