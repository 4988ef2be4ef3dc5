"""Metadata API components of type ConnectedApp: what ``readMetadata`` returns and what
``updateMetadata`` / ``upsertMetadata`` change. These settings (consumer key, callback URL,
certificate, the client-credentials Run-As user, the pre-authorized profiles and permission
sets) are not in the ConnectedApplication sObject; the Metadata API is the only way to see
or change them (reference 1.3, 4.3). No XML here: components are plain dicts keyed by the
WSDL's element names, in WSDL order; ``http/soap.py`` renders and parses them.

``consumerSecret`` is write-only: it is never part of a read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .exceptions import SoapFault
from .org import AppConfig, CallContext, Org

_METADATA_ACCESS = (
    "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions"
)


@dataclass
class SaveError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)


@dataclass
class SaveResult:
    full_name: str
    success: bool
    errors: list[SaveError] = field(default_factory=list)
    created: bool = False  # upsertMetadata's UpsertResult only


class _Invalid(Exception):
    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.error = SaveError(status_code, message, fields or [])


def require_metadata_access(ctx: CallContext) -> None:
    """Changing connected apps needs Customize Application (Modify All Data implies it).
    The fault text is the Metadata API's usual one. (unverified for this permission)"""
    if not (ctx.access.has("CustomizeApplication") or ctx.access.modify_all_data):
        raise SoapFault("INSUFFICIENT_ACCESS", _METADATA_ACCESS)


def full_name(app: AppConfig) -> str:
    """The component's API name: the app name with spaces as underscores (as AppMenuItem.Name)."""
    return app.name.replace(" ", "_")


def find_app(org: Org, name: str) -> AppConfig | None:
    wanted = name.lower()
    for app in org.apps.values():
        if wanted in (full_name(app).lower(), app.name.lower()):
            return app
    return None


def read_connected_app(org: Org, name: str) -> dict[str, Any] | None:
    """A ConnectedApp component, or None when there is none of that name (xsi:nil)."""
    app = find_app(org, name)
    if app is None:
        return None
    oauth: dict[str, Any] = {"callbackUrl": app.callback_url}
    if app.certificate_pem:
        oauth["certificate"] = app.certificate_pem
    oauth["consumerKey"] = app.consumer_key
    oauth["isAdminApproved"] = app.admin_approved
    oauth["isClientCredentialEnabled"] = app.client_credentials_user is not None
    oauth["isCodeCredentialEnabled"] = False
    oauth["isConsumerSecretOptional"] = False
    oauth["isIntrospectAllTokens"] = False
    oauth["isSecretRequiredForRefreshToken"] = False
    if app.client_credentials_user:
        oauth["oauthClientCredentialUser"] = app.client_credentials_user
    oauth["scopes"] = list(app.scopes)
    profiles, permission_sets = _preauthorized_names(org, app)
    component: dict[str, Any] = {
        "fullName": full_name(app),
        "contactEmail": app.contact_email or _default_contact(org),
    }
    if app.description:
        component["description"] = app.description
    component["label"] = app.label
    component["oauthConfig"] = oauth
    component["oauthPolicy"] = {"ipRelaxation": "ENFORCE", "refreshTokenPolicy": "infinite"}
    component["permissionSetName"] = permission_sets
    component["profileName"] = profiles
    return component


def update_connected_app(org: Org, ctx: CallContext, component: dict[str, Any]) -> SaveResult:
    """Replace the app's settings with ``component`` (updateMetadata replaces the whole
    component: omitted profileName/permissionSetName entries lose their pre-authorization)."""
    name = str(component.get("fullName") or "")
    with org.lock:
        app = find_app(org, name)
        if app is None:
            return SaveResult(
                name,
                False,
                [
                    SaveError(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"In field: fullName - no ConnectedApp named {name} found",
                        ["fullName"],
                    )
                ],
            )
        try:
            change = _validate(org, app, component)
        except _Invalid as e:
            return SaveResult(name, False, [e.error])
        _apply(org, ctx, app, change)
        return SaveResult(name, True)


def upsert_connected_app(org: Org, ctx: CallContext, component: dict[str, Any]) -> SaveResult:
    name = str(component.get("fullName") or "")
    if find_app(org, name) is None:
        # New connected apps can't be created since Spring '26 (reference 4.5). (wording unverified)
        return SaveResult(
            name,
            False,
            [
                SaveError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Connected apps can no longer be created. Create an external client app instead.",
                )
            ],
            created=False,
        )
    result = update_connected_app(org, ctx, component)
    result.created = False
    return result


# ---------------------------------------------------------------------- internals


@dataclass
class _Change:
    label: str
    contact_email: str
    description: str | None
    callback_url: str
    certificate_pem: str | None
    consumer_secret: str | None
    admin_approved: bool
    scopes: list[str]
    run_as: str | None
    parent_ids: set[str]


def _validate(org: Org, app: AppConfig, c: dict[str, Any]) -> _Change:
    for required in ("label", "contactEmail"):
        if not c.get(required):
            raise _Invalid(
                "REQUIRED_FIELD_MISSING", f"Required field is missing: {required}", [required]
            )
    oauth = c.get("oauthConfig")
    if not isinstance(oauth, dict):
        # Dropping OAuth from an app that authenticates integrations is not modelled.
        raise _Invalid(
            "FIELD_INTEGRITY_EXCEPTION",
            "The emulator can't remove the OAuth settings of a connected app",
            ["oauthConfig"],
        )
    if not oauth.get("callbackUrl"):
        raise _Invalid(
            "REQUIRED_FIELD_MISSING", "Required field is missing: callbackUrl", ["callbackUrl"]
        )
    key = oauth.get("consumerKey")
    if key and key != app.consumer_key:
        raise _Invalid(
            "FIELD_INTEGRITY_EXCEPTION",
            "The consumer key of a connected app can't be changed",
            ["consumerKey"],
        )  # (unverified)
    run_as = None
    if _bool(oauth.get("isClientCredentialEnabled")):
        username = str(oauth.get("oauthClientCredentialUser") or "").lower()
        if not username:
            raise _Invalid(
                "FIELD_INTEGRITY_EXCEPTION",
                "Select a Run As user to enable the client credentials flow",
                ["oauthClientCredentialUser"],
            )  # (unverified)
        _check_run_as(org, username)
        run_as = username
    parent_ids = set()
    for profile_name in _list(c.get("profileName")):
        profile = org.find_one("Profile", Name=profile_name)
        ps = (
            org.find_one("PermissionSet", ProfileId=profile["Id"], IsOwnedByProfile=True)
            if profile
            else None
        )
        if ps is None:
            raise _Invalid(
                "INVALID_CROSS_REFERENCE_KEY",
                f"In field: profileName - no Profile named {profile_name} found",
                ["profileName"],
            )
        parent_ids.add(ps["Id"])
    for ps_name in _list(c.get("permissionSetName")):
        ps = org.find_one("PermissionSet", Name=ps_name, IsOwnedByProfile=False)
        if ps is None:
            raise _Invalid(
                "INVALID_CROSS_REFERENCE_KEY",
                f"In field: permissionSetName - no PermissionSet named {ps_name} found",
                ["permissionSetName"],
            )
        parent_ids.add(ps["Id"])
    return _Change(
        label=str(c["label"]),
        contact_email=str(c["contactEmail"]),
        description=c.get("description") or None,
        callback_url=str(oauth["callbackUrl"]),
        certificate_pem=oauth.get("certificate") or None,
        consumer_secret=oauth.get("consumerSecret") or None,
        admin_approved=_bool(oauth.get("isAdminApproved")),
        scopes=[str(s) for s in _list(oauth.get("scopes"))],
        run_as=run_as,
        parent_ids=parent_ids,
    )


def _check_run_as(org: Org, username: str) -> None:
    """The Run-As user must exist, be active and hold API Only (reference 4.3). (texts unverified)"""
    user = org.user_by_username(username)
    if user is None:
        raise _Invalid(
            "INVALID_CROSS_REFERENCE_KEY",
            f"In field: oauthClientCredentialUser - no User named {username} found",
            ["oauthClientCredentialUser"],
        )
    if not user.get("IsActive"):
        raise _Invalid(
            "FIELD_INTEGRITY_EXCEPTION",
            "The client credentials Run As user must be an active user",
            ["oauthClientCredentialUser"],
        )
    if not org.access_of(user["Id"]).has("ApiUserOnly"):
        raise _Invalid(
            "FIELD_INTEGRITY_EXCEPTION",
            "The client credentials Run As user must have the API Only permission",
            ["oauthClientCredentialUser"],
        )


def _apply(org: Org, ctx: CallContext, app: AppConfig, ch: _Change) -> None:
    app.label = ch.label
    app.contact_email = ch.contact_email
    app.description = ch.description
    app.callback_url = ch.callback_url
    app.certificate_pem = ch.certificate_pem
    if ch.consumer_secret:
        app.consumer_secret = ch.consumer_secret
    app.admin_approved = ch.admin_approved
    app.scopes = ch.scopes
    app.client_credentials_user = ch.run_as
    now = org.clock.now()
    row = org.table("ConnectedApplication").get(app.app_id)
    if row is not None:
        row.update(
            {
                "OptionsAllowAdminApprovedUsersOnly": ch.admin_approved,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "LastModifiedById": ctx.user["Id"],
            }
        )
    menu = org.table("AppMenuItem").get(app.menu_item_id or "")
    if menu is not None:
        menu.update({"Label": ch.label, "IsUsingAdminAuthorization": ch.admin_approved})
    # Pre-authorization lives in SetupEntityAccess rows: make them match the component.
    sea = org.schema.get("SetupEntityAccess")
    assert sea is not None
    existing = org.find("SetupEntityAccess", SetupEntityId=app.app_id)
    for r in existing:
        if r["ParentId"] not in ch.parent_ids:
            org.remove(sea, r)
    have = {r["ParentId"] for r in existing}
    for parent_id in sorted(ch.parent_ids - have):
        org.insert_system(
            "SetupEntityAccess",
            {
                "ParentId": parent_id,
                "SetupEntityId": app.app_id,
                "SetupEntityType": "ConnectedApplication",
                "CreatedById": ctx.user["Id"],
            },
        )


def _preauthorized_names(org: Org, app: AppConfig) -> tuple[list[str], list[str]]:
    profiles: list[str] = []
    permission_sets: list[str] = []
    for row in org.find("SetupEntityAccess", SetupEntityId=app.app_id):
        ps = org.get(row["ParentId"])
        if ps is None:
            continue
        if ps.get("IsOwnedByProfile"):
            profile = org.get(ps["ProfileId"]) if ps.get("ProfileId") else None
            if profile is not None:
                profiles.append(profile["Name"])
        else:
            permission_sets.append(ps["Name"])
    return sorted(profiles), sorted(permission_sets)


def _default_contact(org: Org) -> str:
    """Apps seeded without a contact show the first administrator's email."""
    for user in org.table("User").values():
        if user.get("IsActive") and org.access_of(user["Id"]).modify_all_data:
            return str(user.get("Email") or user["Username"])
    return f"admin@{org.my_domain}"


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]
