"""Build an org from a scenario: licences, profiles, permission sets, users, apps, data,
and the credentials each workload's external system holds."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .clock import SimClock
from .objects import SYSTEM_PERMISSIONS, custom_object
from .org import AppConfig, Org
from .rules import INTEGRATION_LICENSE, INTEGRATION_PSL, recount_licenses
from .scenario import ObjectPermissionSpec, PermissionSetSpec, ProfileSpec, Scenario, UserSpec
from .sessions import RefreshGrant, new_key, new_refresh_token

_BUSINESS = ("Account", "Contact", "Lead", "Opportunity", "Case", "Product2", "Order", "OrderItem")

# Standard profiles every org has (the scenario can add more or override these by name).
_ADMIN_PERMS = [p for p in SYSTEM_PERMISSIONS if p not in ("ApiUserOnly",)]
STANDARD_PROFILES = [
    ProfileSpec(
        name="System Administrator", user_license="Salesforce", system_permissions=_ADMIN_PERMS
    ),
    ProfileSpec(
        name="Standard User",
        user_license="Salesforce",
        system_permissions=[
            "ApiEnabled",
            "RunReports",
            "EditTask",
            "EditEvent",
            "ConvertLeads",
            "LightningExperienceUser",
        ],
        objects=[
            ObjectPermissionSpec(object=o, read=True, create=True, edit=True, delete=True)
            for o in ("Account", "Contact", "Lead", "Opportunity", "Case")
        ]
        + [
            ObjectPermissionSpec(object="Product2", read=True),
            ObjectPermissionSpec(object="Order", read=True, create=True, edit=True),
            ObjectPermissionSpec(object="OrderItem", read=True, create=True, edit=True),
        ],
    ),
    ProfileSpec(
        name="Minimum Access - Salesforce",
        user_license="Salesforce",
        system_permissions=["LightningExperienceUser"],
    ),
    ProfileSpec(
        name="Minimum Access - API Only Integrations",
        user_license=INTEGRATION_LICENSE,
        system_permissions=["ApiEnabled", "ApiUserOnly"],
    ),
]
_LICENSE_KEYS = {
    "Salesforce": "SFDC",
    "Salesforce Platform": "AUL",
    INTEGRATION_LICENSE: "PID_Integration",
}


@dataclass
class WorkloadCredentials:
    """What the external system of one workload holds (the credential source's content)."""

    workload: str
    auth: str
    username: str
    instance_host: str
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    private_key_pem: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class LoadedOrg:
    org: Org
    scenario: Scenario
    credentials: dict[str, WorkloadCredentials] = field(default_factory=dict)
    admin_password: str = ""


def build_org(scenario: Scenario, *, seed: int = 0, follow_wall_clock: bool = False) -> LoadedOrg:
    spec = scenario.org
    org = Org(
        name=spec.name,
        my_domain=spec.my_domain,
        clock=SimClock(spec.start, follow_wall_clock=follow_wall_clock),
        edition=spec.edition,
        event_monitoring=spec.event_monitoring,
        real_time_events=spec.real_time_event_monitoring,
        retention_days=scenario.retention_days,
        daily_api_limit=spec.daily_api_limit,
        seed=seed,
    )
    for obj_spec in scenario.custom_objects:
        org.schema.add(custom_object(obj_spec.name, obj_spec.key_prefix, obj_spec.fields))
        org.tables[obj_spec.name.lower()] = {}
    _licenses(org, scenario)
    profiles = {p.name: p for p in STANDARD_PROFILES}
    profiles.update({p.name: p for p in scenario.profiles})
    for p in profiles.values():
        _profile(org, p)
    for ps in scenario.permission_sets:
        _permission_set(org, ps, profile_id=None)
    loaded = LoadedOrg(org=org, scenario=scenario)
    users = list(scenario.users)
    domain = spec.admin_username.split("@", 1)[1]
    for group in scenario.user_groups:
        for n in range(1, group.count + 1):
            users.append(
                UserSpec(
                    username=f"{group.prefix}{n:03d}@{domain}",
                    first_name=group.prefix.rstrip(".").title(),
                    last_name=f"User{n:03d}",
                    profile=group.profile,
                    department=group.department,
                    ui_logins_per_day=group.ui_logins_per_day,
                    permission_sets=group.permission_sets,
                )
            )
    admin_id = None
    for u in users:
        uid = _user(org, u)
        if u.username.lower() == spec.admin_username.lower():
            admin_id = uid
    if admin_id is None:
        raise ValueError(
            f"the scenario's admin_username {spec.admin_username} is not among its users"
        )
    loaded.admin_password = org.passwords[admin_id]
    for u in users:
        _assignments(org, u)
        _manager(org, u)
    recount_licenses(org)
    app_keys = {}
    for app in scenario.connected_apps:
        app_keys[app.name] = _connected_app(org, app)
    _seed_data(org, scenario, admin_id)
    for w in scenario.workloads:
        loaded.credentials[w.name] = _workload_credentials(org, scenario, w.name, app_keys)
    return loaded


def _licenses(org: Org, scenario: Scenario) -> None:
    totals = {"Salesforce": 250, "Salesforce Platform": 50, INTEGRATION_LICENSE: 5}
    totals.update({lic.name: lic.total for lic in scenario.org.user_licenses})
    for name, total in totals.items():
        org.insert_system(
            "UserLicense",
            {
                "Name": name,
                "MasterLabel": name,
                "LicenseDefinitionKey": _LICENSE_KEYS.get(name, name.upper().replace(" ", "_")),
                "Status": "Active",
                "TotalLicenses": total,
                "UsedLicenses": 0,
            },
        )
    psl_totals = {INTEGRATION_PSL: totals[INTEGRATION_LICENSE]}
    psl_totals.update({lic.name: lic.total for lic in scenario.org.permission_set_licenses})
    for dev_name, total in psl_totals.items():
        label = "Salesforce API Integration" if dev_name == INTEGRATION_PSL else dev_name
        values: dict[str, Any] = {
            "DeveloperName": dev_name,
            "MasterLabel": label,
            "PermissionSetLicenseKey": dev_name,
            "Status": "Active",
            "TotalLicenses": total,
            "UsedLicenses": 0,
            "IsAvailableForIntegrations": dev_name == INTEGRATION_PSL,
            "Language": "en_US",
        }
        for p in SYSTEM_PERMISSIONS:
            values[f"MaximumPermissions{p}"] = dev_name == INTEGRATION_PSL and p in (
                "ApiEnabled",
                "ApiUserOnly",
                "ViewSetup",
                "ViewAllUsers",
                "ViewRoles",
            )
        org.insert_system("PermissionSetLicense", values)


def _profile(org: Org, spec: ProfileSpec) -> None:
    lic = org.find_one("UserLicense", Name=spec.user_license)
    if lic is None:
        raise ValueError(f"profile {spec.name}: unknown user licence {spec.user_license}")
    perms = {f"Permissions{p}": p in spec.system_permissions for p in SYSTEM_PERMISSIONS}
    profile_id = org.insert_system(
        "Profile", {"Name": spec.name, "UserLicenseId": lic["Id"], "UserType": "Standard", **perms}
    )
    _permission_set(org, spec, profile_id=profile_id)


def _permission_set(org: Org, spec: PermissionSetSpec, profile_id: str | None) -> str:
    perms = {f"Permissions{p}": p in spec.system_permissions for p in SYSTEM_PERMISSIONS}
    unknown = set(spec.system_permissions) - set(SYSTEM_PERMISSIONS)
    if unknown:
        raise ValueError(f"{spec.name}: unknown system permissions {sorted(unknown)}")
    license_id = None
    if spec.license:
        lic = org.find_one("PermissionSetLicense", DeveloperName=spec.license) or org.find_one(
            "UserLicense", Name=spec.license
        )
        if lic is None:
            raise ValueError(f"permission set {spec.name}: unknown licence {spec.license}")
        license_id = lic["Id"]
    if profile_id:
        # Profile-owned sets carry an opaque generated name, as in real orgs (X00e...).
        name, label = f"X{profile_id[:15]}", spec.name
    else:
        name, label = spec.name, spec.label or spec.name.replace("_", " ")
    ps_id = org.insert_system(
        "PermissionSet",
        {
            "Name": name,
            "Label": label,
            "LicenseId": license_id,
            "IsOwnedByProfile": profile_id is not None,
            "ProfileId": profile_id,
            "IsCustom": profile_id is None,
            "Type": "Profile" if profile_id else "Regular",
            **perms,
        },
    )
    for op in spec.objects:
        org.insert_system(
            "ObjectPermissions",
            {
                "ParentId": ps_id,
                "SobjectType": op.object,
                "PermissionsRead": op.read,
                "PermissionsCreate": op.create,
                "PermissionsEdit": op.edit,
                "PermissionsDelete": op.delete,
                "PermissionsViewAllRecords": op.view_all,
                "PermissionsModifyAllRecords": op.modify_all,
            },
        )
        obj = org.schema.get(op.object)
        if obj is None:
            raise ValueError(f"permission set {spec.name}: unknown object {op.object}")
        if not spec.fields:
            # No explicit field list: the usual admin habit of granting every field.
            for fdef in obj.fields.values():
                if fdef.permissionable:
                    editable = op.edit and fdef.updateable and not fdef.calculated
                    org.insert_system(
                        "FieldPermissions",
                        {
                            "ParentId": ps_id,
                            "SobjectType": obj.name,
                            "Field": f"{obj.name}.{fdef.name}",
                            "PermissionsRead": True,
                            "PermissionsEdit": editable,
                        },
                    )
    for fname, level in spec.fields.items():
        obj_name = fname.split(".", 1)[0]
        org.insert_system(
            "FieldPermissions",
            {
                "ParentId": ps_id,
                "SobjectType": obj_name,
                "Field": fname,
                "PermissionsRead": True,
                "PermissionsEdit": level == "edit",
            },
        )
    return ps_id


def _user(org: Org, u: UserSpec) -> str:
    profile = org.find_one("Profile", Name=u.profile)
    if profile is None:
        raise ValueError(f"user {u.username}: unknown profile {u.profile}")
    alias = u.alias or ((u.first_name or "")[:1] + u.last_name)[:8].lower()
    uid = org.seed_user(
        {
            "Username": u.username.lower(),
            "FirstName": u.first_name,
            "LastName": u.last_name,
            "Email": u.email or u.username,
            "Alias": alias,
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile["Id"],
            "IsActive": u.active,
            "Title": u.title,
            "Department": u.department,
            "CompanyName": org.name,
            "CreatedDate": org.clock.now() - timedelta(days=400),
        }
    )
    org.passwords[uid] = u.password or ("Pw1-" + secrets.token_urlsafe(12))
    org.security_tokens[uid] = secrets.token_urlsafe(18)[:24]
    return uid


def _assignments(org: Org, u: UserSpec) -> None:
    user = org.user_by_username(u.username)
    assert user is not None
    for psl_name in u.permission_set_licenses:
        psl = org.find_one("PermissionSetLicense", DeveloperName=psl_name)
        if psl is None:
            raise ValueError(f"user {u.username}: unknown permission set licence {psl_name}")
        org.insert_system(
            "PermissionSetLicenseAssign",
            {"AssigneeId": user["Id"], "PermissionSetLicenseId": psl["Id"], "IsRevoked": False},
        )
    for ps_name in u.permission_sets:
        ps = org.find_one("PermissionSet", Name=ps_name)
        if ps is None:
            raise ValueError(f"user {u.username}: unknown permission set {ps_name}")
        org.insert_system(
            "PermissionSetAssignment",
            {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"], "IsActive": True},
        )
    org.access_changed()


def _manager(org: Org, u: UserSpec) -> None:
    if not u.manager:
        return
    manager = org.user_by_username(u.manager)
    if manager is None:
        raise ValueError(f"user {u.username}: unknown manager {u.manager}")
    user = org.user_by_username(u.username)
    assert user is not None
    user["ManagerId"] = manager["Id"]


def _self_signed(name: str) -> tuple[str, str]:
    """An RSA key pair and certificate, as an admin uploads for 'Use digital signatures'."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def _connected_app(org: Org, spec: Any) -> str | None:
    label = spec.label or spec.name
    app_id = org.insert_system(
        "ConnectedApplication",
        {
            "Name": spec.name,
            "OptionsAllowAdminApprovedUsersOnly": spec.admin_approved,
            "OptionsAppIssueJwtTokenEnabled": False,
            "OptionsIsInternal": spec.internal,
            "OptionsRefreshTokenValidityMetric": False,
            "RefreshTokenValidityPeriod": None,
            "CreatedDate": org.clock.now() - timedelta(days=500),
        },
    )
    menu_id = org.insert_system(
        "AppMenuItem",
        {
            "ApplicationId": app_id,
            "Label": label,
            "Name": spec.name.replace(" ", "_"),
            "Type": "ConnectedApplication",
            "IsAccessible": True,
            "IsVisible": True,
            "IsUsingAdminAuthorization": spec.admin_approved,
        },
    )
    private_key = cert = None
    if spec.certificate:
        private_key, cert = _self_signed(spec.name)
    org.apps[app_id] = AppConfig(
        app_id=app_id,
        name=spec.name,
        label=label,
        consumer_key=spec.consumer_key,
        consumer_secret=spec.consumer_secret,
        admin_approved=spec.admin_approved,
        callback_url=spec.callback_url,
        scopes=list(spec.scopes),
        certificate_pem=cert,
        client_credentials_user=spec.client_credentials_user.lower()
        if spec.client_credentials_user
        else None,
        menu_item_id=menu_id,
    )
    for profile_name in spec.profiles:
        profile = org.find_one("Profile", Name=profile_name)
        ps = (
            org.find_one("PermissionSet", ProfileId=profile["Id"], IsOwnedByProfile=True)
            if profile
            else None
        )
        if ps is None:
            raise ValueError(f"connected app {spec.name}: unknown profile {profile_name}")
        org.insert_system(
            "SetupEntityAccess",
            {
                "ParentId": ps["Id"],
                "SetupEntityId": app_id,
                "SetupEntityType": "ConnectedApplication",
            },
        )
    for ps_name in spec.permission_sets:
        ps = org.find_one("PermissionSet", Name=ps_name)
        if ps is None:
            raise ValueError(f"connected app {spec.name}: unknown permission set {ps_name}")
        org.insert_system(
            "SetupEntityAccess",
            {
                "ParentId": ps["Id"],
                "SetupEntityId": app_id,
                "SetupEntityType": "ConnectedApplication",
            },
        )
    return private_key


def _seed_data(org: Org, scenario: Scenario, admin_id: str) -> None:
    for object_name, records in scenario.data.items():
        obj = org.schema.get(object_name)
        if obj is None:
            raise ValueError(f"data: unknown object {object_name}")
        for rec in records:
            values: dict[str, Any] = {}
            for k, v in rec.items():
                fdef = obj.get_field(k)
                if fdef is None:
                    raise ValueError(f"data: {object_name} has no field {k}")
                if fdef.type == "reference" and isinstance(v, str) and not v[:3].isalnum():
                    raise ValueError(f"data: {object_name}.{k} must be an id")
                values[fdef.name] = (
                    _resolve_ref(org, fdef.reference_to, v) if fdef.type == "reference" else v
                )
            if obj.get_field("OwnerId") is not None and "OwnerId" not in values:
                values["OwnerId"] = admin_id
            values.setdefault("CreatedById", admin_id)
            org.insert_system(obj.name, values)


def _resolve_ref(org: Org, targets: tuple[str, ...], value: Any) -> Any:
    """Seed data may point at a parent by its external id or name instead of an Id."""
    if not isinstance(value, str):
        return value
    for target in targets:
        obj = org.schema.get(target)
        if obj is None:
            continue
        for fdef in obj.fields.values():
            if fdef.external_id or fdef.name in ("Name", "Username"):
                row = org.find_one(obj.name, **{fdef.name: value})
                if row is not None:
                    return row["Id"]
    return value


def _workload_credentials(
    org: Org, scenario: Scenario, name: str, app_keys: dict[str, str | None]
) -> WorkloadCredentials:
    w = next(w for w in scenario.workloads if w.name == name)
    user = org.user_by_username(w.username)
    if user is None:
        raise ValueError(f"workload {w.name}: unknown user {w.username}")
    app = org.app_by_name(w.app)
    creds = WorkloadCredentials(
        workload=w.name, auth=w.auth, username=w.username.lower(), instance_host=org.my_domain
    )
    if app is not None:
        creds.consumer_key = app.consumer_key
        creds.consumer_secret = app.consumer_secret
        creds.private_key_pem = app_keys.get(app.name)
    if w.auth in ("password", "soap_login"):
        creds.password = org.passwords[user["Id"]]
        creds.security_token = org.security_tokens[user["Id"]]
    if w.auth == "refresh_token":
        if app is None:
            raise ValueError(f"workload {w.name}: a refresh-token workload needs a connected app")
        grant = RefreshGrant(
            token=new_refresh_token(),
            delete_token=new_key(40),
            user_id=user["Id"],
            app_id=app.app_id,
            app_name=app.name,
            created=org.clock.now() - timedelta(days=w.token_age_days),
            last_used=org.clock.now() - timedelta(days=w.token_age_days),  # uses move it on
        )
        org.refresh_grants[grant.token] = grant
        org.sync_oauth_token(grant)
        creds.refresh_token = grant.token
    return creds
