"""Least-privilege plans: the inputs of ``handover.plan.build_plan`` (filled by the usage
store and the gateway) and the plan it returns. A plan is data, like a saved ``terraform
plan``: every list is kept in a canonical order so that the same inputs give the same JSON
and the same hash."""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator

from .base import FrozenModel
from .cutover import CutoverSpec, RouteChoice
from .discovery import Finding

PlanOperation = Literal["query", "retrieve", "create", "update", "upsert", "delete"]
FieldAccessKind = Literal["read", "edit"]
Cadence = Literal["daily", "weekly", "month_end", "irregular", "unknown", "none"]
# Where a plan's field permissions on one object come from, for reads and for writes:
# "observed" (field lists in the logs), "object_level" (no field list: every field the human
# had on the object, see PlanSettings.field_fallback), "not_planned" (no field permission:
# the fallback is off or the object was not described), "not_needed" (no such calls).
FieldSource = Literal["observed", "object_level", "not_planned", "not_needed"]


class OperationEvidence(FrozenModel):
    """Successful calls of one operation on one object by the finding's (user, app) pair
    in the evidence window. Failed calls justify nothing: leave them out."""

    object: str
    operation: PlanOperation
    count: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime
    example: str = ""  # a request as logged (query text with literals blanked, URI, ...)
    # The calls reached records outside the user's sharing (owned by others under a private
    # sharing model), which only View All (reads) / Modify All (writes) grant. Set it only
    # when the store can tell; it is the one way a plan asks for those permissions.
    all_records: bool = False


class FieldEvidence(FrozenModel):
    """Calls that read or wrote one field. ``field`` is "Object.Field"; a relationship
    path ("Contact.Account.Name") is reported, not granted; "Object.FIELDS(ALL)" (also
    STANDARD / CUSTOM) means the query asked for every field. The store keeps fields per
    day: pass midnight UTC of the first and last day when that is all there is."""

    field: str
    access: FieldAccessKind
    count: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime
    example: str = ""
    # The logs the query texts came from ("API": the SOAP API file; "ApiEvent": Real-Time
    # Event Monitoring). Left out of the JSON when unknown, so plans saved before it hash
    # as they did.
    sources: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)


class ObjectFlags(FrozenModel):
    """The six object permissions (ObjectPermissions' Permissions* fields): what a human
    holds on an object, or what a plan grants on it."""

    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False


class ObjectAccess(ObjectFlags):
    view_all_fields: bool = False


# The ObjectPermissions column behind each flag, for whoever reads or writes them.
OBJECT_FLAG_COLUMNS: dict[str, str] = {
    "read": "PermissionsRead",
    "create": "PermissionsCreate",
    "edit": "PermissionsEdit",
    "delete": "PermissionsDelete",
    "view_all": "PermissionsViewAllRecords",
    "modify_all": "PermissionsModifyAllRecords",
}


class FieldAccess(FrozenModel):
    read: bool = False
    edit: bool = False


_NO_OBJECT_ACCESS = ObjectAccess()
_ALL_OBJECT_ACCESS = ObjectAccess(**dict.fromkeys(ObjectAccess.model_fields, True))


class HumanAccess(FrozenModel):
    """The human's effective access today: profile + permission sets + permission set groups,
    folded. Names are matched case-insensitively, as Salesforce does. A permissionable field
    missing from ``fields`` is a field the human cannot see."""

    user_id: str
    username: str
    name: str = ""
    profile: str = ""
    license: str = ""
    permission_sets: list[str] = Field(default_factory=list)
    permission_set_groups: list[str] = Field(default_factory=list)
    system_permissions: frozenset[str] = frozenset()  # {"ApiEnabled", "ModifyAllData", ...}
    objects: dict[str, ObjectAccess] = Field(default_factory=dict)  # "Account" -> access
    fields: dict[str, FieldAccess] = Field(default_factory=dict)  # "Account.Industry" -> access
    reachable_objects: int = 0  # objects the human can read, for the headline
    # What could not be read of the human's access (a permission set group whose
    # permissions were not expanded, ...): shown in the plan, so a refusal for "new access"
    # can be traced to it rather than silently blamed on the evidence.
    notes: list[str] = Field(default_factory=list)

    @property
    def modify_all_data(self) -> bool:
        return "ModifyAllData" in self.system_permissions

    @property
    def view_all_data(self) -> bool:
        return "ViewAllData" in self.system_permissions or self.modify_all_data

    @cached_property
    def _objects_lower(self) -> dict[str, ObjectAccess]:
        return {k.lower(): v for k, v in self.objects.items()}

    @cached_property
    def _fields_lower(self) -> dict[str, FieldAccess]:
        return {k.lower(): v for k, v in self.fields.items()}

    def object_access(self, name: str) -> ObjectAccess:
        """What the human can do on ``name``; Modify All Data / View All Data included."""
        if self.modify_all_data:
            return _ALL_OBJECT_ACCESS
        acc = self._objects_lower.get(name.lower(), _NO_OBJECT_ACCESS)
        if self.view_all_data:
            acc = acc.model_copy(update={"read": True, "view_all": True, "view_all_fields": True})
        return acc

    def field_access(self, object_name: str, field_name: str) -> FieldAccess:
        """What the human can do on a permissionable field."""
        if self.modify_all_data:
            return FieldAccess(read=True, edit=True)
        acc = self._fields_lower.get(f"{object_name}.{field_name}".lower(), FieldAccess())
        if self.view_all_data or self.object_access(object_name).view_all_fields:
            acc = FieldAccess(read=True, edit=acc.edit)
        return acc


class PlanInputs(FrozenModel):
    """Everything ``build_plan`` looks at for one finding (it does no I/O)."""

    finding: Finding
    operations: list[OperationEvidence]
    fields: list[FieldEvidence] = Field(default_factory=list)
    # Whether the org's logs can carry field lists at all (Event Monitoring API / RestApi
    # files, ApiEvent were ingested). False: every field permission is object-level.
    field_evidence_available: bool = False
    human: HumanAccess
    # Objects the Integration licence + PSL can grant (None: unknown, not checked).
    grantable_objects: frozenset[str] | None = None
    # Objects every user can read without an object permission (User, ...): reading them
    # needs nothing in the permission set.
    public_objects: frozenset[str] = frozenset()
    # object -> its permissionable fields (describe: fields[i].permissionable). An object
    # missing here was not described: no field permission can be planned for it.
    permissionable_fields: dict[str, list[str]] = Field(default_factory=dict)
    # object -> permissionable fields that take only Read (formula, auto-number, roll-up).
    readonly_fields: dict[str, list[str]] = Field(default_factory=dict)
    # detail object -> its master object(s): "Read detail needs Read master".
    master_detail: dict[str, list[str]] = Field(default_factory=dict)
    window_start: date
    window_end: date
    days_observed: int = Field(ge=0)  # days of the window whose logs were ingested
    gap_days: list[date] = Field(default_factory=list)  # days known lost (reported gaps)
    unrecorded_days: list[date] = Field(default_factory=list)  # no ingestion record at all
    calls_by_day: dict[date, int] = Field(default_factory=dict)
    # Successful calls no object permission is derived from ("search", "Account.undelete",
    # "apex" -> calls): the plan names them, so nobody assumes they are covered.
    other_operations: dict[str, int] = Field(default_factory=dict)
    # What the caller knows about how these inputs were judged (how grantability was told,
    # ...): shown in the plan's notes.
    notes: list[str] = Field(default_factory=list)
    org_domain: str | None = None  # for the username template; default: the human's
    connected_app_id: str | None = None  # default: the finding's
    connected_app_name: str | None = None
    # How the pair logs in (planning/cutover.py), and the route an operator named for it.
    cutover: CutoverSpec | None = None
    route: RouteChoice | None = None

    @field_validator("master_detail", mode="before")
    @classmethod
    def _masters_as_lists(cls, value: Any) -> Any:
        # A detail usually has one master; junction objects have two.
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class ObjectPermission(ObjectFlags):
    object: str


class FieldPermission(FrozenModel):
    field: str  # "Object.Field"
    read: bool = False
    edit: bool = False


class ConnectedAppAccess(FrozenModel):
    """A SetupEntityAccess row: the permission set pre-authorizes its users for the app."""

    app_id: str
    app_name: str


class IntegrationUserSpec(FrozenModel):
    username: str
    alias: str
    email: str
    first_name: str
    last_name: str
    profile: str
    license: str
    permission_set_license: str  # MasterLabel of the PSL
    time_zone: str
    locale: str
    language: str
    email_encoding: str


class PermissionSetSpec(FrozenModel):
    name: str  # API name
    label: str
    license: str  # PermissionSetLicense DeveloperName (PermissionSet.LicenseId)
    description: str
    # In creation order: a master object before its details (the platform checks
    # "Read detail needs Read master" at insert), otherwise by name.
    object_permissions: list[ObjectPermission]
    field_permissions: list[FieldPermission]
    system_permissions: list[str]  # PermissionSet.Permissions<Name> set to true
    connected_app_access: list[ConnectedAppAccess]


class Justification(FrozenModel):
    """Why a permission is in the plan: observed calls, a platform dependency on another
    permission of the plan, or (fields) the object's calls when the logs list no fields."""

    kind: Literal["observed", "dependency", "object_level"]
    operation: str = ""  # query|retrieve|create|update|upsert|delete, read|edit (fields), api
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    example: str = ""
    required_by: str = ""  # dependency: the permission that needs this one ("Delete OrderItem")
    detail: str = ""


class Provenance(FrozenModel):
    kind: Literal["object", "field", "system", "connected_app"]
    target: str  # "Order", "Order.Description", "ApiEnabled", a connected app id
    access: str  # read|create|edit|delete|view_all|modify_all (objects, fields), enabled, access
    permission: str  # as people read it: "Create Order", "Edit Order.Description"
    justifications: list[Justification]
    count: int = 0  # observed calls behind it (dependencies add none)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    example: str = ""


class Blocker(FrozenModel):
    """Access the integration uses that the new user cannot be given."""

    object: str
    permissions: list[str]  # ["Read", "Edit"]
    reason: str
    action: str  # what to do about it
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    example: str = ""


class FieldCoverage(FrozenModel):
    object: str
    reads: FieldSource
    writes: FieldSource
    # Fields seen in the evidence that carry no field-level security (Id, Name, audit
    # fields, required fields): always accessible once the object is.
    always_accessible: list[str] = Field(default_factory=list)
    # Where observed reads' fields came from (FieldEvidence.sources of the object's fields);
    # left out of the JSON when there are none, so older plans hash as they did.
    read_sources: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)


class EvidenceWindow(FrozenModel):
    start: date
    end: date
    days_in_window: int
    days_observed: int
    gap_days: list[date]
    unrecorded_days: list[date]
    cadence: Cadence
    period_days: int | None  # one cycle of the cadence, in days
    cycles: int  # full cycles observed since the integration was first seen
    cycles_needed: int
    active_days: int  # days with calls
    first_active: date | None
    last_active: date | None
    total_calls: int


class HumanSummary(FrozenModel):
    """The human's access at planning time, the left side of the diff."""

    user_id: str
    username: str
    name: str
    profile: str
    license: str
    permission_sets: list[str]
    permission_set_groups: list[str]
    system_permissions: list[str]
    modify_all_data: bool
    view_all_data: bool
    reachable_objects: int


class AccessPlan(FrozenModel):
    """A least-privilege plan for one finding: the new Integration User and one permission
    set, every permission with its provenance. ``status`` "blocked" means some access the
    integration uses cannot be granted (``blockers``): the plan is shown, never applied."""

    status: Literal["ready", "blocked"]
    plan_version: int = 1
    finding_id: str
    org_id: str
    app_name: str
    app_key: str
    human: HumanSummary
    user: IntegrationUserSpec
    permission_set: PermissionSetSpec
    provenance: list[Provenance]
    blockers: list[Blocker]
    evidence_window: EvidenceWindow
    field_level_evidence: Literal["observed", "missing"]
    field_coverage: list[FieldCoverage]
    operations: list[OperationEvidence]  # the evidence table (merged, sorted)
    field_usage: list[FieldEvidence]
    notes: list[str]
    headline: str
    hash: str  # sha256 of the canonical JSON of everything but hash and headline
    # How the integration moves to the new user (None: planned before plans carried it;
    # left out of the hash then, so those plans keep theirs).
    cutover: CutoverSpec | None = None

    @property
    def approvable(self) -> bool:
        return self.status == "ready"


class PlanRefusal(FrozenModel):
    """No plan: the evidence is not sufficient, or a plan would break an invariant. Each
    reason says what is missing or which check failed, and what to do."""

    status: Literal["insufficient_evidence", "refused"]
    finding_id: str
    org_id: str
    app_name: str
    username: str
    reasons: list[str]
    evidence_window: EvidenceWindow | None = None
    headline: str

    @property
    def approvable(self) -> bool:
        return False
