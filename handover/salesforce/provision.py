"""Record writes through the gateway's session: find a record by its unique key, create,
update and delete it (one record, or up to 200 through sObject Collections, all or none),
set a password; the lookups a plan's names resolve through; and the read-back of a
user's effective access (folded by access.py, the one way effective access is computed).

Every call is counted on the gateway and its errors are translated in one place
(translate.py): the messages say what to do, and never carry a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from .. import ids
from ..errors import SalesforceGatewayError
from ..models import AccessPlan, HumanAccess
from ..models.migration import ProvisionFacts
from .access import OBJECT_PERMISSION_FIELDS, fold_human_access
from .gateway import SalesforceGateway
from .translate import translated, write_error

COLLECTION_LIMIT = 200
INTEGRATION_LICENSE = "Salesforce Integration"
# The profile the Integration licence was sold with before Minimum Access - API Only
# Integrations replaced it (reference §3.1): accepted when the plan's is missing.
DEPRECATED_PROFILE = "Salesforce API Only System Integrations"


class AccessReadback(NamedTuple):
    user: HumanAccess  # everything the user holds: profile + permission sets
    profile: HumanAccess  # what the profile alone gives (every user of it has this)


def soql_literal(value: Any) -> str:
    """A value as a SOQL literal (strings quoted, quotes and backslashes escaped)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _field_name(name: str) -> str:
    if not name.replace("_", "").replace(".", "").isalnum():
        raise SalesforceGatewayError(f"{name!r} is not a field name")
    return name


class Records:
    """Find-or-create and its companions on any sObject the migration writes."""

    def __init__(self, gateway: SalesforceGateway) -> None:
        self.gateway = gateway
        self._sf = gateway.raw()

    # ------------------------------------------------------------------ reads

    def find(
        self, sobject: str, match: Mapping[str, Any], fields: Iterable[str]
    ) -> list[dict[str, Any]]:
        """Rows of ``sobject`` holding every value of ``match`` (the record's unique key)."""
        cols = sorted({"Id", *(_field_name(f) for f in fields), *match}, key=str.casefold)
        where = " AND ".join(f"{_field_name(k)} = {soql_literal(v)}" for k, v in match.items())
        soql = f"SELECT {', '.join(cols)} FROM {_field_name(sobject)}"
        rows = self.gateway.query_all(
            soql + (f" WHERE {where}" if where else ""), what=f"looking up {sobject}"
        )
        return [{k: v for k, v in r.items() if k != "attributes"} for r in rows]

    def one_id(self, soql: str, *, what: str, missing: str) -> str:
        rows = self.gateway.query_all(soql, what=what)
        if not rows:
            raise SalesforceGatewayError(f"{what}: {missing}")
        return str(rows[0]["Id"])

    def provision_facts(self, plan: AccessPlan) -> ProvisionFacts:
        """The ids behind the plan's profile and permission set licence."""
        user, ps = plan.user, plan.permission_set
        profiles = self.gateway.query_all(
            "SELECT Id, Name FROM Profile WHERE UserLicense.Name = "
            f"{soql_literal(INTEGRATION_LICENSE)} AND Name IN "
            f"({soql_literal(user.profile)}, {soql_literal(DEPRECATED_PROFILE)})",
            what="looking up the integration profile",
        )
        by_name = {p["Name"]: p["Id"] for p in profiles}
        profile_id = by_name.get(user.profile) or by_name.get(DEPRECATED_PROFILE)
        if profile_id is None:
            raise SalesforceGatewayError(
                f"looking up the integration profile: the org has no profile {user.profile!r} "
                f"on the {INTEGRATION_LICENSE} licence. Check Setup > Company Information for "
                "Salesforce Integration licences (Enterprise edition and up include some)."
            )
        psl_id = self.one_id(
            f"SELECT Id FROM PermissionSetLicense WHERE DeveloperName = {soql_literal(ps.license)}",
            what="looking up the permission set licence",
            missing=f"the org has no permission set licence {ps.license!r} "
            f"({user.permission_set_license}); it comes with the Salesforce Integration licence.",
        )
        return ProvisionFacts(profile_id=profile_id, permission_set_license_id=psl_id)

    # ------------------------------------------------------------------ single records

    def create(self, sobject: str, record: Mapping[str, Any], *, what: str) -> str:
        with translated(what):
            self.gateway.api_calls += 1
            result = getattr(self._sf, sobject).create(dict(record))
        return str(result["id"])

    def update(self, sobject: str, record_id: str, data: Mapping[str, Any], *, what: str) -> None:
        with translated(what):
            self.gateway.api_calls += 1
            getattr(self._sf, sobject).update(_id(record_id), dict(data))

    def delete(self, sobject: str, record_id: str, *, what: str) -> None:
        with translated(what):
            self.gateway.api_calls += 1
            getattr(self._sf, sobject).delete(_id(record_id))

    def set_password(self, user_id: str, password: str, *, what: str) -> None:
        """POST /sobjects/User/{id}/password; the password is in the body only."""
        with translated(what):
            self.gateway.api_calls += 1
            self._sf.restful(
                f"sobjects/User/{_id(user_id)}/password",
                method="POST",
                json={"NewPassword": password},
            )

    # ------------------------------------------------------------------ sObject Collections

    def create_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, what: str
    ) -> list[str]:
        return self._collection("POST", sobject, records, what=what)

    def update_many(
        self, sobject: str, records: Sequence[Mapping[str, Any]], *, what: str
    ) -> list[str]:
        """``records`` carry their ``Id``."""
        return self._collection("PATCH", sobject, records, what=what)

    def delete_many(self, record_ids: Sequence[str], *, what: str) -> None:
        for start in range(0, len(record_ids), COLLECTION_LIMIT):
            chunk = ",".join(_id(i) for i in record_ids[start : start + COLLECTION_LIMIT])
            with translated(what):
                self.gateway.api_calls += 1
                results = self._sf.restful(
                    "composite/sobjects",
                    params={"ids": chunk, "allOrNone": "true"},
                    method="DELETE",
                )
            _check(results or [], what)

    def _collection(
        self, method: str, sobject: str, records: Sequence[Mapping[str, Any]], *, what: str
    ) -> list[str]:
        out: list[str] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            body = {
                "allOrNone": True,
                "records": [
                    {"attributes": {"type": sobject}, **_collection_record(r)}
                    for r in records[start : start + COLLECTION_LIMIT]
                ],
            }
            with translated(what):
                self.gateway.api_calls += 1
                results = self._sf.restful("composite/sobjects", method=method, json=body)
            _check(results or [], what)
            out += [str(r["id"]) for r in results or [] if r.get("id")]
        return out

    # ------------------------------------------------------------------ read-back

    def effective_access(self, user_id: str) -> AccessReadback:
        """The user's effective access now, and what its profile alone gives."""
        user = self.gateway.human_access(user_id)
        uid = _id(user_id)
        profile_ps = self.gateway.query_all(
            "SELECT PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile "
            f"FROM PermissionSetAssignment WHERE AssigneeId = '{uid}' "
            "AND PermissionSet.IsOwnedByProfile = true",
            what="reading the new user's profile",
        )
        ps_ids = [str(a["PermissionSetId"]) for a in profile_ps]
        rows = self.gateway.query_all(
            f"SELECT Id, Username, Name, Profile.Name, Profile.UserLicense.Name FROM User "
            f"WHERE Id = '{uid}'",
            what="reading the new user",
        )
        where = ", ".join(f"'{i}'" for i in ps_ids) or "''"
        objects = self.gateway.query_all(
            f"SELECT ParentId, SobjectType, {', '.join(OBJECT_PERMISSION_FIELDS)} "
            f"FROM ObjectPermissions WHERE ParentId IN ({where})",
            what="reading the profile's object permissions",
        )
        fields = self.gateway.query_all(
            "SELECT ParentId, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
            f"WHERE ParentId IN ({where})",
            what="reading the profile's field permissions",
        )
        system = self.gateway.query_all(
            f"SELECT Id, {', '.join(_system_fields(user))} FROM PermissionSet "
            f"WHERE Id IN ({where})",
            what="reading the profile's system permissions",
        )
        profile = fold_human_access(rows[0], profile_ps, system, objects, fields, 0)
        return AccessReadback(user=user, profile=profile)


def _system_fields(user: HumanAccess) -> list[str]:
    # The profile can't hold a system permission the user lacks: asking for the user's
    # ones is enough to tell which came from the profile.
    return sorted(f"Permissions{p}" for p in user.system_permissions) or ["Name"]


def _id(value: str) -> str:
    if not ids.is_valid_id(value):
        raise SalesforceGatewayError(f"{value!r} is not a Salesforce record id")
    return ids.to18(value)


def _collection_record(record: Mapping[str, Any]) -> dict[str, Any]:
    # Collections name the record's id "id"; the rest are field values.
    return {("id" if k == "Id" else k): v for k, v in record.items()}


def _check(results: list[dict[str, Any]], what: str) -> None:
    errors = [e for r in results if not r.get("success") for e in r.get("errors") or []]
    if errors:
        raise write_error(what, errors)
