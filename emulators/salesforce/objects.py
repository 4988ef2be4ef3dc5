"""The standard objects of an emulated org, as describe reports them.

Data objects (Account, Order, ...) are CRUD-controlled and their optional fields are
permissionable; setup objects (User, PermissionSet, ...) follow the access rules of the
object reference (View Setup, Manage Users, Customize Application, own rows).
"""

from __future__ import annotations

from typing import Any

from .schema import AUDIT_FIELDS, FieldDef, ObjectDef, Schema


def _label(name: str) -> str:
    out = []
    for i, ch in enumerate(name.replace("__c", "").replace("_", " ")):
        if ch.isupper() and i and name[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return "".join(out).strip()


def f(name: str, ftype: str = "string", **kw: Any) -> FieldDef:
    """A field; data-object fields default to permissionable unless required."""
    kw.setdefault("label", _label(name))
    if ftype == "string" and "length" not in kw:
        kw["length"] = 255
    if ftype in ("reference", "id") and "length" not in kw:
        kw["length"] = 18
    if ftype == "boolean":
        kw.setdefault("nillable", False)
        kw.setdefault("defaulted_on_create", True)
        kw.setdefault("default", False)
    if ftype in ("textarea", "base64"):
        kw.setdefault("filterable", False)
        kw.setdefault("groupable", False)
        kw.setdefault("sortable", False)
    if isinstance(kw.get("reference_to"), str):
        kw["reference_to"] = (kw["reference_to"],)
    if isinstance(kw.get("picklist_values"), list):
        kw["picklist_values"] = tuple(kw["picklist_values"])
    return FieldDef(name=name, type=ftype, **kw)


def ro(name: str, ftype: str = "string", **kw: Any) -> FieldDef:
    """A read-only field (system-calculated)."""
    return f(name, ftype, createable=False, updateable=False, **kw)


def req(name: str, ftype: str = "string", **kw: Any) -> FieldDef:
    """A required field: not nillable, so not permissionable."""
    return f(name, ftype, nillable=False, **kw)


def ref(name: str, to: str | tuple[str, ...], rel: str | None = None, **kw: Any) -> FieldDef:
    targets = (to,) if isinstance(to, str) else to
    rel = rel if rel is not None else (name[:-2] if name.endswith("Id") else None)
    return f(name, "reference", reference_to=targets, relationship_name=rel, **kw)


def _system_fields(obj_name: str) -> list[FieldDef]:
    out = [
        f("Id", "id", nillable=False, createable=False, updateable=False, defaulted_on_create=True),
        ro("IsDeleted", "boolean"),
    ]
    for name in AUDIT_FIELDS:
        if name.endswith("ById"):
            out.append(
                ro(
                    name,
                    "reference",
                    reference_to=("User",),
                    relationship_name=name[:-2],
                    nillable=False,
                    defaulted_on_create=True,
                )
            )
        else:
            out.append(ro(name, "datetime", nillable=False, defaulted_on_create=True))
    return out


# Standard objects whose labels are not their API names (describe; permission messages such
# as "Permission Read Order Products depends on permission(s): Read Orders" use them).
_LABELS = {
    "Product2": ("Product", "Products"),
    "OrderItem": ("Order Product", "Order Products"),
    "Opportunity": ("Opportunity", "Opportunities"),
}


def data_object(
    name: str, prefix: str, fields: list[FieldDef], *, owner: bool = True, **kw: Any
) -> ObjectDef:
    """A business object: CRUD-controlled; optional, editable fields are permissionable."""
    label, plural = _LABELS.get(name, (_label(name), _label(name) + "s"))
    obj = ObjectDef(
        name=name,
        key_prefix=prefix,
        label=label,
        label_plural=plural,
        permissionable=True,
        **kw,
    )
    obj.add(*_system_fields(name))
    if owner:
        obj.add(ref("OwnerId", ("User",), "Owner", nillable=False, defaulted_on_create=True))
    for fd in fields:
        # Parts of a compound name (FirstName, Name) carry no field-level security.
        compound = fd.name in ("FirstName", "Name") and obj.name in ("Contact", "Lead")
        if (
            fd.nillable
            and not fd.calculated
            and fd.type not in ("id",)
            and not fd.cascade_delete
            and not compound
        ):
            fd = FieldDef(**{**fd.__dict__, "permissionable": True})
        obj.add(fd)
    return obj


def setup_object(name: str, prefix: str | None, fields: list[FieldDef], **kw: Any) -> ObjectDef:
    kw.setdefault("access", "setup")
    obj = ObjectDef(
        name=name,
        key_prefix=prefix,
        label=_label(name),
        label_plural=_label(name) + "s",
        setup=True,
        integration_grantable=False,
        **kw,
    )
    obj.add(*_system_fields(name))
    obj.add(*fields)
    return obj


# System permissions carried by PermissionSet (and shown on PermissionSetLicense as
# MaximumPermissions<Name>). The subset handover and the rules need.
SYSTEM_PERMISSIONS = (
    "ApiEnabled",
    "ApiUserOnly",
    "ModifyAllData",
    "ViewAllData",
    "ViewSetup",
    "ManageUsers",
    "CustomizeApplication",
    "AssignPermissionSets",
    "ViewEventLogFiles",
    "ViewAllUsers",
    "ManageInternalUsers",
    "UseAnyApiClient",
    "ManageConnectedApps",
    "ViewRoles",
    "AuthorApex",
    "ManageDataIntegrations",
    "ViewPlatformEvents",
    "ManageEventLogFiles",
    "ExportReport",
    "RunReports",
    "LightningExperienceUser",
    "EditTask",
    "EditEvent",
    "ConvertLeads",
    "ManageCases",
)

# The permissions an Integration-licence user with the API Integration PSL may hold.
INTEGRATION_ALLOWED_SYSTEM_PERMISSIONS = frozenset(
    {
        "ApiEnabled",
        "ApiUserOnly",
        "ViewSetup",
        "ViewEventLogFiles",
        "ViewAllUsers",
        "ManageDataIntegrations",
        "ViewRoles",
    }
)

LOGIN_TYPES = (
    "Application",
    "Remote Access 2.0",
    "Other Apex API",
    "Partner Product",
    "Remote Access Client",
    "SAML Sfdc Initiated SSO",
    "SAML Idp Initiated SSO",
    "Certificate-based login",
)
LOGIN_SUB_TYPES = (
    "OAuth Client Credentials",
    "OAuth Refresh Token",
    "OAuth Username-Password",
    "OAuth Web Server",
    "OAuth User-Agent",
    "OAuth JWT Bearer",
    "UsernamePasswordUiLogin",
)


def _business_objects() -> list[ObjectDef]:
    return [
        data_object(
            "Account",
            "001",
            [
                req("Name", length=255),
                f("AccountNumber", length=40),
                f("Type", "picklist", picklist_values=["Customer", "Partner", "Prospect", "Other"]),
                f(
                    "Industry",
                    "picklist",
                    picklist_values=["Logistics", "Retail", "Manufacturing", "Technology", "Other"],
                ),
                f("Phone", "phone", length=40),
                f("Website", "url"),
                f("BillingStreet", "textarea"),
                f("BillingCity", length=40),
                f("BillingPostalCode", length=20),
                f("BillingCountry", length=80),
                f("AnnualRevenue", "currency"),
                f("NumberOfEmployees", "int"),
                f("Rating", "picklist", picklist_values=["Hot", "Warm", "Cold"]),
                f("Description", "textarea"),
                ref("ParentId", "Account", "Parent"),
                f("ERP_Id__c", length=40, external_id=True, unique=True, label="ERP Id"),
            ],
        ),
        data_object(
            "Contact",
            "003",
            [
                req("LastName", length=80),
                f("FirstName", length=40),
                ro("Name", length=121, nillable=False),
                f("Email", "email", length=80),
                f("Phone", "phone", length=40),
                f("Title", length=128),
                f("Department", length=80),
                f("MailingCity", length=40),
                f("MailingCountry", length=80),
                f("HasOptedOutOfEmail", "boolean"),
                ref("AccountId", "Account"),
                f(
                    "Marketing_Id__c",
                    length=40,
                    external_id=True,
                    unique=True,
                    label="Marketing Id",
                ),
            ],
        ),
        data_object(
            "Lead",
            "00Q",
            [
                req("LastName", length=80),
                f("FirstName", length=40),
                ro("Name", length=121),
                req("Company", length=255),
                f("Email", "email", length=80),
                f("Phone", "phone", length=40),
                f("Title", length=128),
                req(
                    "Status",
                    "picklist",
                    picklist_values=[
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Closed - Converted",
                        "Closed - Not Converted",
                    ],
                    defaulted_on_create=True,
                    default="Open - Not Contacted",
                ),
                f(
                    "LeadSource",
                    "picklist",
                    picklist_values=[
                        "Web",
                        "Phone Inquiry",
                        "Partner Referral",
                        "Trade Show",
                        "Other",
                    ],
                ),
                f("Rating", "picklist", picklist_values=["Hot", "Warm", "Cold"]),
                f("HasOptedOutOfEmail", "boolean"),
                f(
                    "Marketing_Id__c",
                    length=40,
                    external_id=True,
                    unique=True,
                    label="Marketing Id",
                ),
            ],
        ),
        data_object(
            "Product2",
            "01t",
            [
                req("Name", length=255),
                f("ProductCode", length=255),
                f(
                    "Family",
                    "picklist",
                    picklist_values=["Freight", "Warehousing", "Last Mile", "Customs"],
                ),
                f("IsActive", "boolean"),
                f("Description", "textarea"),
                f("StockKeepingUnit", length=180),
                f("ERP_Id__c", length=40, external_id=True, unique=True, label="ERP Id"),
            ],
            owner=False,
        ),
        data_object(
            "Order",
            "801",
            [
                ref("AccountId", "Account", nillable=False),
                req("EffectiveDate", "date"),
                req(
                    "Status",
                    "picklist",
                    picklist_values=["Draft", "Activated"],
                    defaulted_on_create=True,
                    default="Draft",
                ),
                ro(
                    "OrderNumber",
                    auto_number=True,
                    nillable=False,
                    defaulted_on_create=True,
                    length=30,
                ),
                f("Description", "textarea"),
                f("PoNumber", length=80),
                f("EndDate", "date"),
                ro("TotalAmount", "currency", calculated=True),
                f("ShippingCity", length=40),
                f("ShippingCountry", length=80),
                f(
                    "ERP_Order_Id__c",
                    length=40,
                    external_id=True,
                    unique=True,
                    label="ERP Order Id",
                ),
            ],
        ),
        data_object(
            "OrderItem",
            "802",
            [
                ref("OrderId", "Order", nillable=False, cascade_delete=True, updateable=False),
                ref("Product2Id", "Product2"),
                req("Quantity", "double"),
                req("UnitPrice", "currency"),
                ro("TotalPrice", "currency", calculated=True),
                f("Description", length=255),
                f("ServiceDate", "date"),
                f("ERP_Line_Id__c", length=40, external_id=True, unique=True, label="ERP Line Id"),
            ],
            owner=False,
        ),
        data_object(
            "Opportunity",
            "006",
            [
                req("Name", length=120),
                req(
                    "StageName",
                    "picklist",
                    picklist_values=[
                        "Prospecting",
                        "Qualification",
                        "Proposal",
                        "Negotiation",
                        "Closed Won",
                        "Closed Lost",
                    ],
                ),
                req("CloseDate", "date"),
                f("Amount", "currency"),
                f("Probability", "percent"),
                f("Type", "picklist", picklist_values=["New Business", "Existing Business"]),
                f(
                    "LeadSource",
                    "picklist",
                    picklist_values=[
                        "Web",
                        "Phone Inquiry",
                        "Partner Referral",
                        "Trade Show",
                        "Other",
                    ],
                ),
                f(
                    "ForecastCategoryName",
                    "picklist",
                    picklist_values=["Pipeline", "Best Case", "Commit", "Closed", "Omitted"],
                ),
                ro("IsClosed", "boolean"),
                ro("IsWon", "boolean"),
                f("Description", "textarea"),
                ref("AccountId", "Account"),
            ],
        ),
        data_object(
            "Case",
            "500",
            [
                ro(
                    "CaseNumber",
                    auto_number=True,
                    nillable=False,
                    defaulted_on_create=True,
                    length=30,
                ),
                f("Subject", length=255),
                req(
                    "Status",
                    "picklist",
                    picklist_values=["New", "Working", "Escalated", "Closed"],
                    defaulted_on_create=True,
                    default="New",
                ),
                f("Priority", "picklist", picklist_values=["High", "Medium", "Low"]),
                f("Origin", "picklist", picklist_values=["Phone", "Email", "Web"]),
                f("Description", "textarea"),
                ref("AccountId", "Account"),
                ref("ContactId", "Contact"),
            ],
        ),
    ]


def _setup_objects() -> list[ObjectDef]:
    perm_fields = [f(f"Permissions{p}", "boolean") for p in SYSTEM_PERMISSIONS]
    max_perm_fields = [ro(f"MaximumPermissions{p}", "boolean") for p in SYSTEM_PERMISSIONS]
    return [
        setup_object(
            "Organization",
            "00D",
            [
                ro("Name"),
                ro("OrganizationType"),
                ro("IsSandbox", "boolean"),
                ro("InstanceName"),
                ro("NamespacePrefix"),
                ro("Country"),
                ro("DefaultLocaleSidKey"),
                ro("TimeZoneSidKey"),
                ro("LanguageLocaleKey"),
                ro("TrialExpirationDate", "datetime"),
            ],
            createable=False,
            updateable=False,
            deletable=False,
            access="public",
        ),
        setup_object(
            "UserLicense",
            "100",
            [
                ro("Name"),
                ro("MasterLabel"),
                ro("LicenseDefinitionKey"),
                ro("Status", "picklist", picklist_values=("Active", "Disabled")),
                ro("TotalLicenses", "int"),
                ro("UsedLicenses", "int"),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        setup_object(
            "Profile",
            "00e",
            [
                req("Name"),
                ref(
                    "UserLicenseId", "UserLicense", "UserLicense", nillable=False, updateable=False
                ),
                ro("UserType"),
                f("Description"),
                *perm_fields,
            ],
            write_permissions=("ManageUsers",),
            access="public",
        ),
        setup_object(
            "User",
            "005",
            [
                req("Username", "email", length=80, unique=True),
                req("LastName", length=80),
                f("FirstName", length=40),
                ro("Name", length=121),
                req("Email", "email", length=128),
                req("Alias", length=8),
                f("CommunityNickname", length=40),
                req(
                    "TimeZoneSidKey",
                    "picklist",
                    picklist_values=[
                        "America/Los_Angeles",
                        "America/New_York",
                        "Europe/London",
                        "Europe/Berlin",
                        "GMT",
                        "Australia/Sydney",
                    ],
                ),
                req(
                    "LocaleSidKey", "picklist", picklist_values=["en_US", "en_GB", "de_DE", "en_AU"]
                ),
                req("EmailEncodingKey", "picklist", picklist_values=["UTF-8", "ISO-8859-1"]),
                req("LanguageLocaleKey", "picklist", picklist_values=["en_US", "de", "en_GB"]),
                ref("ProfileId", "Profile", "Profile", nillable=False),
                f("IsActive", "boolean", default=True),
                ro(
                    "UserType",
                    "picklist",
                    picklist_values=(
                        "Standard",
                        "PowerPartner",
                        "CsnOnly",
                        "Guest",
                        "CloudIntegrationUser",
                        "AutomatedProcess",
                    ),
                ),
                ro("LastLoginDate", "datetime"),
                ro("LastPasswordChangeDate", "datetime"),
                f("Title", length=80),
                f("Department", length=80),
                f("CompanyName", length=80),
                f("EmployeeNumber", length=20),
                ref("ManagerId", "User", "Manager"),
                f("FederationIdentifier", length=512),
                f("UserPermissionsMarketingUser", "boolean"),
            ],
            write_permissions=("ManageUsers",),
            access="public",
        ),
        setup_object(
            "PermissionSetLicense",
            "0PL",
            [
                ro("DeveloperName"),
                ro("MasterLabel"),
                ro("PermissionSetLicenseKey"),
                ro("Status", "picklist", picklist_values=("Active", "Disabled")),
                ro("TotalLicenses", "int"),
                ro("UsedLicenses", "int"),
                ro("ExpirationDate", "date"),
                ro("IsAvailableForIntegrations", "boolean"),
                ro("Language"),
                *max_perm_fields,
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        setup_object(
            "PermissionSet",
            "0PS",
            [
                req("Name", length=80),
                req("Label", length=80),
                f("Description", length=255),
                f(
                    "LicenseId",
                    "reference",
                    reference_to=("PermissionSetLicense", "UserLicense"),
                    relationship_name="License",
                    updateable=False,
                ),
                ro("IsOwnedByProfile", "boolean"),
                ro(
                    "ProfileId", "reference", reference_to=("Profile",), relationship_name="Profile"
                ),
                ro("IsCustom", "boolean"),
                ro(
                    "Type",
                    "picklist",
                    picklist_values=("Regular", "Profile", "Group", "Session", "Standard"),
                ),
                ro("NamespacePrefix"),
                ro("PermissionSetGroupId", "reference", reference_to=("PermissionSetGroup",)),
                f("HasActivationRequired", "boolean"),
                *perm_fields,
            ],
            write_permissions=("ManageUsers", "AssignPermissionSets"),
        ),
        setup_object(
            "PermissionSetLicenseAssign",
            "2LA",
            [
                ref("AssigneeId", "User", "Assignee", nillable=False, updateable=False),
                ref(
                    "PermissionSetLicenseId",
                    "PermissionSetLicense",
                    "PermissionSetLicense",
                    nillable=False,
                    updateable=False,
                ),
                ro("IsRevoked", "boolean"),
            ],
            updateable=False,
            write_permissions=("ManageUsers",),
        ),
        setup_object(
            "PermissionSetAssignment",
            "0Pa",
            [
                ref("AssigneeId", "User", "Assignee", nillable=False, updateable=False),
                ref("PermissionSetId", "PermissionSet", "PermissionSet", updateable=False),
                f(
                    "PermissionSetGroupId",
                    "reference",
                    reference_to=("PermissionSetGroup",),
                    updateable=False,
                ),
                f("ExpirationDate", "datetime"),
                ro("IsActive", "boolean"),
                ro("IsRevoked", "boolean"),
            ],
            write_permissions=("ManageUsers", "AssignPermissionSets"),
        ),
        setup_object(
            "ObjectPermissions",
            "110",
            [
                ref("ParentId", "PermissionSet", "Parent", nillable=False, updateable=False),
                req("SobjectType", "picklist", updateable=False, length=40),
                f("PermissionsRead", "boolean"),
                f("PermissionsCreate", "boolean"),
                f("PermissionsEdit", "boolean"),
                f("PermissionsDelete", "boolean"),
                f("PermissionsViewAllRecords", "boolean"),
                f("PermissionsModifyAllRecords", "boolean"),
                f("PermissionsViewAllFields", "boolean"),
            ],
            write_permissions=("ManageUsers",),
        ),
        setup_object(
            "FieldPermissions",
            "01k",
            [
                ref("ParentId", "PermissionSet", "Parent", nillable=False, updateable=False),
                req("SobjectType", "picklist", updateable=False, length=40),
                req("Field", "picklist", updateable=False, restricted_picklist=True, length=255),
                f("PermissionsRead", "boolean"),
                f("PermissionsEdit", "boolean"),
            ],
            write_permissions=("ManageUsers",),
        ),
        setup_object(
            "SetupEntityAccess",
            "0J0",
            [
                ref("ParentId", "PermissionSet", "Parent", nillable=False, updateable=False),
                f(
                    "SetupEntityId",
                    "reference",
                    reference_to=(
                        "ConnectedApplication",
                        "ApexClass",
                        "ApexPage",
                        "CustomPermission",
                    ),
                    nillable=False,
                    updateable=False,
                ),
                ro(
                    "SetupEntityType",
                    "picklist",
                    picklist_values=(
                        "ConnectedApplication",
                        "ApexClass",
                        "ApexPage",
                        "CustomPermission",
                        "ExternalClientApplication",
                        "TabSet",
                    ),
                ),
            ],
            updateable=False,
            write_permissions=("ManageUsers",),
        ),
        setup_object(
            "ConnectedApplication",
            "0H4",
            [
                ro("Name"),
                ro("OptionsAllowAdminApprovedUsersOnly", "boolean"),
                ro("OptionsAppIssueJwtTokenEnabled", "boolean"),
                ro("OptionsIsInternal", "boolean"),
                ro("OptionsRefreshTokenValidityMetric", "boolean"),
                ro("OptionsHasSessionLevelPolicy", "boolean"),
                ro("RefreshTokenValidityPeriod", "int"),
                ro("StartUrl"),
                ro("MobileStartUrl"),
                ro("MobileSessionTimeout"),
                ro("PinLength"),
                ro("UvidTimeout"),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        setup_object(
            "AppMenuItem",
            "0DS",
            [
                ro("ApplicationId", "reference", reference_to=("ConnectedApplication",)),
                ro("Label"),
                ro("Name"),
                ro("NamespacePrefix"),
                ro(
                    "Type",
                    "picklist",
                    picklist_values=(
                        "ConnectedApplication",
                        "Network",
                        "ServiceProvider",
                        "TabSet",
                    ),
                ),
                ro("StartUrl"),
                ro("IsAccessible", "boolean"),
                ro("IsVisible", "boolean"),
                ro("IsUsingAdminAuthorization", "boolean"),
                ro("Description"),
            ],
            createable=False,
            access="public",
        ),
        setup_object(
            "OauthToken",
            None,
            [
                ro("AccessToken"),
                ro(
                    "AppMenuItemId",
                    "reference",
                    reference_to=("AppMenuItem",),
                    relationship_name="AppMenuItem",
                ),
                ro("AppName"),
                ro("DeleteToken"),
                ro("LastUsedDate", "datetime"),
                ro("RequestToken"),
                ro("UseCount", "int"),
                ro("UserId", "reference", reference_to=("User",), relationship_name="User"),
            ],
            createable=False,
            updateable=False,
            deletable=False,
            retrieveable=False,
            access="own_or_perm",
            view_all_permissions=("CustomizeApplication",),
            max_batch_size=500,
            max_total_rows=2500,
        ),
        setup_object(
            "LoginHistory",
            "0Ya",
            [
                ro("UserId", "reference", reference_to=("User",), filterable=True),
                ro("LoginTime", "datetime"),
                ro("LoginType", "picklist", picklist_values=LOGIN_TYPES, restricted_picklist=True),
                ro("LoginSubType", "picklist", picklist_values=LOGIN_SUB_TYPES, filterable=False),
                ro("LoginUrl"),
                ro("SourceIp", filterable=False),
                ro("Status", filterable=False),
                ro("Application", filterable=False),
                ro("ApiType", filterable=False),
                ro("ApiVersion", filterable=False),
                ro("Browser", filterable=False),
                ro("Platform", filterable=False),
                ro("ClientVersion", filterable=False),
                ro("CountryIso", length=2),
                ro(
                    "TlsProtocol",
                    "picklist",
                    picklist_values=("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3", "Unknown"),
                ),
                ro("CipherSuite", "picklist"),
                ro("AuthenticationServiceId", "reference", reference_to=("AuthProvider",)),
                ro("NetworkId", "reference", reference_to=("Network",)),
                ro("OptionsIsGet", "boolean"),
                ro("OptionsIsPost", "boolean"),
                ro("LoginGeoId", "reference", reference_to=("LoginGeo",), filterable=False),
                ro("AuthMethodReference", filterable=False),
                ro("ForwardedForIp", filterable=False),
            ],
            createable=False,
            updateable=False,
            deletable=False,
            access="own_or_perm",
            view_all_permissions=("ManageUsers", "ViewAllData"),
        ),
        setup_object(
            "AuthSession",
            "0Ak",
            [
                ref("UsersId", "User", "Users", createable=False, updateable=False),
                ro("LoginType"),
                ro(
                    "SessionType",
                    "picklist",
                    picklist_values=("UI", "API", "Content", "Visualforce", "Oauth2"),
                ),
                ro("SourceIp"),
                ro("IsCurrent", "boolean"),
                ro("NumSecondsValid", "int"),
                ro("SessionSecurityLevel"),
                ro("UserType"),
                ro(
                    "LoginHistoryId",
                    "reference",
                    reference_to=("LoginHistory",),
                    relationship_name="LoginHistory",
                ),
                ro("ParentId", "reference", reference_to=("AuthSession",)),
                ro("LogoutUrl"),
                ro("LoginGeoId", "reference", reference_to=("LoginGeo",)),
                ro("IsAssociatedWithJwtAccessToken", "boolean"),
            ],
            createable=False,
            updateable=False,
            access="own_or_perm",
            view_all_permissions=("ManageUsers",),
            write_permissions=("ManageUsers",),
        ),
        # Login settings of a user, one row each, created with the user (ObjRef UserLogin):
        # query and update only, Manage Users to see or change it.
        setup_object(
            "UserLogin",
            "060",
            [
                ref("UserId", "User", "User", createable=False, updateable=False),
                f("IsFrozen", "boolean"),
                f("IsPasswordLocked", "boolean"),
            ],
            createable=False,
            deletable=False,
            access="perm",
            view_all_permissions=("ManageUsers",),
            write_permissions=("ManageUsers",),
        ),
        setup_object(
            "EventLogFile",
            "0AT",
            [
                ro(
                    "EventType",
                    "picklist",
                    picklist_values=(
                        "API",
                        "RestApi",
                        "BulkApi",
                        "BulkApi2",
                        "Login",
                        "Logout",
                        "ApiTotalUsage",
                        "URI",
                    ),
                ),
                ro("LogDate", "datetime"),
                ro("LogFile", "base64"),
                ro("LogFileLength", "double"),
                ro("LogFileContentType"),
                ro("LogFileFieldNames", length=1333),
                ro("LogFileFieldTypes", length=1333),
                ro("ApiVersion", "double"),
                ro("Interval", "picklist", picklist_values=("Daily", "Hourly")),
                ro("Sequence", "int"),
            ],
            createable=False,
            updateable=False,
            deletable=False,
            view_all_permissions=("ViewEventLogFiles", "ViewAllData"),
            access="perm",
        ),
    ]


def api_event_object() -> ObjectDef:
    """ApiEvent: the big object storing Real-Time Event Monitoring's ApiEventStream, one
    row per query a user made through the API, with its text (reference 2.6). Only orgs
    with Real-Time Event Monitoring have it. Access: the real View Real-Time Event
    Monitoring Data permission is not modelled; View All Data or View Event Log Files
    stand in (unverified)."""
    return setup_object(
        "ApiEvent",
        None,
        [
            ro("EventDate", "datetime"),
            ro("EventIdentifier"),
            ro("UserId", "reference", reference_to=("User",)),
            ro("Username"),
            ro("Query", "textarea", filterable=False),
            ro("QueriedEntities", filterable=False),
            ro("Operation", "picklist", picklist_values=("Query", "QueryMore", "Count")),
            ro("ApiType", "picklist"),
            ro("ApiVersion", "double"),
            ro("Application", filterable=False),
            ro("Client", filterable=False),
            ro("ConnectedAppId", filterable=False),
            ro("SourceIp", filterable=False),
            ro("RowsProcessed", "double"),
            ro("SessionKey", filterable=False),
            ro("LoginKey", filterable=False),
        ],
        createable=False,
        updateable=False,
        deletable=False,
        retrieveable=False,
        view_all_permissions=("ViewAllData", "ViewEventLogFiles"),
        access="perm",
    )


def standard_schema() -> Schema:
    schema = Schema(_business_objects() + _setup_objects())
    schema.alias("OAuthToken", "OauthToken")
    return schema


def custom_object(name: str, prefix: str, fields: list[dict[str, Any]]) -> ObjectDef:
    """A scenario-declared object (``Shipment__c``) with its fields (``{name, type, ...}``)."""
    defs = []
    for spec in fields:
        spec = dict(spec)
        fname = spec.pop("name")
        ftype = spec.pop("type", "string")
        required = spec.pop("required", False)
        if ftype == "reference":
            defs.append(
                ref(
                    fname,
                    spec.pop("to"),
                    spec.pop("relationship", None),
                    nillable=not required,
                    **spec,
                )
            )
        else:
            defs.append(f(fname, ftype, nillable=not required, **spec))
    return data_object(name, prefix, defs, custom=True)
