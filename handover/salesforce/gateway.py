"""SalesforceGateway: the reads discovery needs, each counted, paged with the largest
batches Salesforce allows, and with errors translated in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound
from simple_salesforce.util import exception_handler

from .. import ids
from ..datetimes import parse_sf_datetime, soql_datetime
from ..errors import PermissionDenied, SalesforceGatewayError, TransientSalesforceError
from ..models import EventLogFileMeta, HumanAccess, UserInfo
from .access import (
    OBJECT_PERMISSION_FIELDS,
    Describes,
    data_objects,
    fold_describe,
    fold_human_access,
)
from .translate import translated

USER_FIELDS = "Id, Username, Name, Email, IsActive, LastLoginDate, Title, Department, Profile.Name, Profile.UserLicense.Name"
LOGIN_FIELDS = "Id, UserId, LoginTime, LoginType, LoginSubType, Status, Application, ApiType, SourceIp, Browser, Platform"
API_EVENT_FIELDS = "EventDate, UserId, Query, QueriedEntities, ConnectedAppId, Application, Client"
OAUTH_TOKEN_CAP = 2500  # OauthToken: queryMore stops at 2,500 rows in total
# Ids per "IN (...)" list and Permissions* fields per PermissionSet query: queries go out as
# GET URLs, and Salesforce refuses URIs over 16,384 characters (200 ids: ~4,400; a real org
# has ~400 Permissions fields, ~30 characters each).
IN_BATCH = 200
PERMISSION_FIELDS_BATCH = 150
SOBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def soql_quote(value: str) -> str:
    """``value`` escaped for a single-quoted SOQL string literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


class SalesforceGateway:
    def __init__(self, sf: Salesforce, *, org_name: str = "") -> None:
        self._sf = sf
        self.org_name = org_name
        self.api_calls = 0  # every HTTP request made to the org, for the run's API budget
        self._org_now: datetime | None = None
        self._org_id: str | None = None
        self._own_user_id: str | None = None
        self._api_events: bool | None = None
        self._describe_global: dict[str, Any] | None = None
        self._permission_fields: list[str] | None = None
        self._data_objects: list[str] | None = None

    # ------------------------------------------------------------------ plumbing

    def _count(self, n: int = 1) -> None:
        self.api_calls += n

    def iter_query(self, soql: str, *, what: str = "query") -> Iterator[dict]:
        """Rows of a query, page by page (2,000 per page, the largest Salesforce allows)."""
        with translated(what):
            result = self._sf.query(soql)
            self._count()
            while True:
                yield from result["records"]
                if result.get("done", True):
                    return
                result = self._sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
                self._count()

    def query_all(self, soql: str, *, what: str = "query") -> list[dict]:
        return list(self.iter_query(soql, what=what))

    def org_now(self, *, refresh: bool = False) -> datetime:
        """The org's current time, from the Date header of one cheap call (read once per
        gateway; ``refresh`` reads it again: a migration watches it move).

        The org's clock decides which day's logs exist; the machine running handover may
        be in another zone or (with the emulator) at another time altogether."""
        if self._org_now is None or refresh:
            with translated("reading the org's clock"):
                resp = self._sf.session.get(self._sf.base_url, headers=self._sf.headers)
                self._count()
                if resp.status_code >= 300:
                    exception_handler(resp, "resources")
                header = resp.headers.get("Date")
                self._org_now = (
                    parsedate_to_datetime(header).astimezone(UTC) if header else datetime.now(UTC)
                )
        return self._org_now

    def own_user_id(self) -> str | None:
        """The user handover connects as (OAuth userinfo), read once; None when the org
        will not say (a token without the scope): then nothing is taken for handover's own
        traffic, and its calls are judged like any other pair's."""
        if self._own_user_id is None:
            try:
                with translated("reading who handover connects as (userinfo)"):
                    info = self._sf.oauth2("userinfo")
                    self._count()
            except TransientSalesforceError:
                raise  # retried with the login (tasks/connect.py)
            except SalesforceGatewayError:
                return None
            user = str((info or {}).get("user_id") or "")
            if not ids.is_valid_id(user):
                return None
            self._own_user_id = ids.to18(user)
        return self._own_user_id

    def org_id(self) -> str:
        if self._org_id is None:
            rows = self.query_all(
                "SELECT Id, Name FROM Organization", what="reading the Organization"
            )
            self._org_id = rows[0]["Id"]
        return self._org_id

    # ------------------------------------------------------------------ discovery reads

    PREFLIGHT = (
        ("User", "SELECT Id FROM User LIMIT 1"),
        ("ConnectedApplication", "SELECT Id FROM ConnectedApplication LIMIT 1"),
        ("SetupEntityAccess", "SELECT Id FROM SetupEntityAccess LIMIT 1"),
        ("PermissionSetAssignment", "SELECT Id FROM PermissionSetAssignment LIMIT 1"),
        ("OauthToken", "SELECT AppName FROM OauthToken LIMIT 1"),
        ("LoginHistory", "SELECT Id FROM LoginHistory LIMIT 1"),
        ("EventLogFile", "SELECT Id FROM EventLogFile LIMIT 1"),
    )

    def preflight(self) -> None:
        """One cheap query per object discovery reads, so a missing permission is reported
        before any work starts, naming what to grant (PermissionDenied)."""
        for obj, soql in self.PREFLIGHT:
            self.query_all(soql, what=f"checking access to {obj}")

    def users(self) -> list[UserInfo]:
        out = []
        for r in self.iter_query(f"SELECT {USER_FIELDS} FROM User", what="reading users"):
            profile = r.get("Profile") or {}
            license_ = (profile.get("UserLicense") or {}).get("Name", "") if profile else ""
            out.append(
                UserInfo(
                    user_id=r["Id"],
                    username=r["Username"],
                    name=r.get("Name") or "",
                    email=r.get("Email") or "",
                    license=license_,
                    profile=profile.get("Name", "") if profile else "",
                    is_active=bool(r.get("IsActive")),
                    last_login=parse_sf_datetime(r.get("LastLoginDate")),
                    title=r.get("Title"),
                    department=r.get("Department"),
                )
            )
        return out

    def connected_apps(self) -> list[dict]:
        return self.query_all(
            "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication",
            what="reading connected apps",
        )

    def app_access(self) -> list[dict]:
        return self.query_all(
            "SELECT SetupEntityId, ParentId, Parent.IsOwnedByProfile, Parent.ProfileId FROM SetupEntityAccess WHERE SetupEntityType = 'ConnectedApplication'",
            what="reading connected-app access (SetupEntityAccess)",
        )

    def assignments(self) -> list[dict]:
        return self.query_all(
            "SELECT AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment",
            what="reading permission set assignments",
        )

    def oauth_tokens(self) -> list[dict]:
        """Every OauthToken row, past the 2,500-row cap, by walking CreatedDate."""
        fields = "AppName, UserId, UseCount, LastUsedDate, CreatedDate, DeleteToken, AppMenuItem.ApplicationId"
        seen: dict[str, dict] = {}
        cursor: str | None = None
        while True:
            where = f" WHERE CreatedDate >= {cursor}" if cursor else ""
            rows = self.query_all(
                f"SELECT {fields} FROM OauthToken{where} ORDER BY CreatedDate",
                what="reading OAuth tokens",
            )
            new = [r for r in rows if r["DeleteToken"] not in seen]
            for r in new:
                seen[r["DeleteToken"]] = r
            if len(rows) < OAUTH_TOKEN_CAP or not new:
                return list(seen.values())
            last = _required_datetime(rows[-1], "CreatedDate", "OauthToken")
            cursor = soql_datetime(last)

    def login_history(self, since: datetime | None) -> Iterator[dict]:
        where = f" WHERE LoginTime > {soql_datetime(since)}" if since else ""
        return self.iter_query(
            f"SELECT {LOGIN_FIELDS} FROM LoginHistory{where} ORDER BY LoginTime",
            what="reading LoginHistory",
        )

    def api_events_available(self) -> bool:
        """Whether the org answers for ApiEvent (Real-Time Event Monitoring, and handover's
        user may read it): an org without it calls the object unsupported (INVALID_TYPE)."""
        if self._api_events is None:
            try:
                self.query_all("SELECT EventDate FROM ApiEvent LIMIT 1", what="checking ApiEvent")
                self._api_events = True
            except PermissionDenied as e:
                if e.error_code != "INVALID_TYPE":
                    raise
                self._api_events = False
        return self._api_events

    def api_events(self, day: date) -> Iterator[dict]:
        """ApiEvent rows of one UTC day: every API query with its text (REST and SOAP)."""
        start = datetime.combine(day, datetime.min.time(), UTC)
        end = start + timedelta(days=1)
        return self.iter_query(
            f"SELECT {API_EVENT_FIELDS} FROM ApiEvent WHERE EventDate >= {soql_datetime(start)} "
            f"AND EventDate < {soql_datetime(end)}",
            what=f"reading ApiEvent of {day}",
        )

    def event_log_files(self, event_types: list[str]) -> list[EventLogFileMeta]:
        types = ", ".join(f"'{t}'" for t in event_types)
        rows = self.query_all(
            f"SELECT Id, EventType, LogDate, LogFileLength, Interval FROM EventLogFile WHERE Interval = 'Daily' AND EventType IN ({types}) ORDER BY LogDate",
            what="listing event log files",
        )
        out = []
        for r in rows:
            log_date = _required_datetime(r, "LogDate", "EventLogFile")
            out.append(
                EventLogFileMeta(
                    file_id=r["Id"],
                    event_type=r["EventType"],
                    log_date=log_date.date(),
                    length=int(r.get("LogFileLength") or 0),
                    interval=r.get("Interval") or "Daily",
                )
            )
        return out

    def download_log_file(self, meta: EventLogFileMeta, dest: Path) -> Path:
        """Stream one log file to ``dest`` (memory stays flat whatever its size)."""
        url = f"{self._sf.base_url}sobjects/EventLogFile/{meta.file_id}/LogFile"
        with translated(f"downloading {meta.event_type} log of {meta.log_date}"):
            resp = self._sf.session.get(url, headers=self._sf.headers, stream=True)
            self._count()
            if resp.status_code >= 300:
                exception_handler(resp, "EventLogFile")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as fh:
                for chunk in resp.iter_content(1 << 20):
                    fh.write(chunk)
        return dest

    # ------------------------------------------------------------------ planning reads
    # Read-only: planning never writes to the org.

    def describe_global(self) -> dict[str, Any]:
        """describeGlobal, read once per gateway."""
        if self._describe_global is None:
            with translated("describing the org's objects (describeGlobal)"):
                self._describe_global = dict(self._sf.describe() or {})
                self._count()
        return self._describe_global

    def describe(self, name: str) -> dict[str, Any] | None:
        """describeSObject of ``name``; None when the org has no such object."""
        if not SOBJECT_NAME.match(name):  # names come from logs: never let one shape a URL
            return None
        with translated(f"describing {name}"):
            self._count()
            try:
                return dict(getattr(self._sf, name).describe())
            except SalesforceResourceNotFound:
                return None

    def _permission_set_fields(self) -> list[str]:
        """PermissionSet's Permissions<Name> booleans, from one describe (real orgs have
        hundreds, and which ones varies by org, edition and release)."""
        if self._permission_fields is None:
            d = self.describe("PermissionSet") or {}
            self._permission_fields = sorted(
                f["name"]
                for f in d.get("fields") or []
                if f["name"].startswith("Permissions") and f.get("type") == "boolean"
            )
        return self._permission_fields

    def _rows_in(self, soql: str, ids_: Iterable[str], *, what: str) -> list[dict]:
        """``soql`` with ``{ids}`` filled by batches of quoted ids, rows of every batch."""
        wanted = sorted(set(ids_))
        rows: list[dict] = []
        for i in range(0, len(wanted), IN_BATCH):
            batch = ", ".join(f"'{x}'" for x in wanted[i : i + IN_BATCH])
            rows += self.query_all(soql.format(ids=batch), what=what)
        return rows

    def data_objects(self) -> list[str]:
        """Objects permission sets can carry object permissions for (see access.py),
        read once per gateway."""
        if self._data_objects is None:
            d = self.describe("ObjectPermissions") or {}
            sobject_type: dict[str, Any] = next(
                (f for f in d.get("fields") or [] if f["name"] == "SobjectType"), {}
            )
            listed = [
                p["value"] for p in sobject_type.get("picklistValues") or [] if p.get("active")
            ]
            self._data_objects = data_objects(self.describe_global(), listed)
        return self._data_objects

    def grantable_objects(self, exclude: Iterable[str] = ()) -> frozenset[str]:
        """What the Integration licence + PSL can carry, as far as can be told without
        writing to the org: the permissionable data objects minus ``exclude``
        (``PlanSettings.non_grantable_objects``). No API lists it (reference §3.1)."""
        skip = {e.lower() for e in exclude}
        return frozenset(o for o in self.data_objects() if o.lower() not in skip)

    def human_access(self, user_id: str) -> HumanAccess:
        """The user's effective access now: every assigned permission set (the profile's
        own included), its system permissions, object and field permissions."""
        uid = _checked_id(user_id, "user")
        users = self.query_all(
            "SELECT Id, Username, Name, Profile.Name, Profile.UserLicense.Name FROM User "
            f"WHERE Id = '{uid}'",
            what="reading the human's user record",
        )
        if not users:
            raise SalesforceGatewayError(
                f"reading the human's access: no user {uid} in the org; run discovery again "
                "(the finding may be from another org)."
            )
        assignments = self.query_all(
            "SELECT PermissionSetId, PermissionSetGroupId, PermissionSet.Name, "
            "PermissionSet.Label, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
            f"WHERE AssigneeId = '{uid}'",
            what="reading the human's permission set assignments",
        )
        ps_ids = [a["PermissionSetId"] for a in assignments if a.get("PermissionSetId")]
        permission_sets = self._permission_sets(ps_ids)
        everything = any(ps.get("PermissionsModifyAllData") is True for ps in permission_sets)
        object_rows: list[dict] = []
        field_rows: list[dict] = []
        if not everything:  # Modify All Data grants every object and field: rows add nothing
            object_rows = self._rows_in(
                f"SELECT ParentId, SobjectType, {', '.join(OBJECT_PERMISSION_FIELDS)} "
                "FROM ObjectPermissions WHERE ParentId IN ({ids})",
                ps_ids,
                what="reading the human's object permissions",
            )
            field_rows = self._rows_in(
                "SELECT ParentId, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                "WHERE ParentId IN ({ids})",
                ps_ids,
                what="reading the human's field permissions",
            )
        view_all = everything or any(
            ps.get("PermissionsViewAllData") is True for ps in permission_sets
        )
        reach = len(self.data_objects()) if view_all else 0
        return fold_human_access(
            users[0], assignments, permission_sets, object_rows, field_rows, reach
        )

    def _permission_sets(self, ps_ids: list[str]) -> list[dict]:
        """The sets' Permissions<Name> fields, by batches of fields (merged per set)."""
        fields = self._permission_set_fields()
        merged: dict[str, dict] = {i: {"Id": i} for i in ps_ids}
        for i in range(0, max(len(fields), 1), PERMISSION_FIELDS_BATCH):
            cols = ", ".join(["Id", "Name", *fields[i : i + PERMISSION_FIELDS_BATCH]])
            rows = self._rows_in(
                f"SELECT {cols} FROM PermissionSet WHERE Id IN ({{ids}})",
                ps_ids,
                what="reading the human's system permissions",
            )
            for row in rows:
                merged.setdefault(row["Id"], {}).update(
                    {k: v for k, v in row.items() if k != "attributes"}
                )
        return list(merged.values())

    def describe_objects(self, names: Iterable[str]) -> Describes:
        """Permissionable and read-only fields and master-detail masters of ``names``;
        an object the org does not have is left out (the plan says it was not described)."""
        permissionable: dict[str, list[str]] = {}
        readonly: dict[str, list[str]] = {}
        masters: dict[str, list[str]] = {}
        for name in sorted(set(names)):
            d = self.describe(name)
            if d is None:
                continue
            canonical = str(d.get("name") or name)
            fields, fixed, ups = fold_describe(d)
            permissionable[canonical] = fields
            readonly[canonical] = fixed
            if ups:
                masters[canonical] = ups
        return Describes(permissionable, readonly, masters)

    def connected_app(self, app_id: str) -> dict | None:
        """The connected app's Id, Name and admin-approval policy (None: no such app)."""
        aid = _checked_id(app_id, "connected app")
        rows = self.query_all(
            "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
            f"WHERE Id = '{aid}'",
            what="reading the connected app",
        )
        return rows[0] if rows else None

    def raw(self) -> Any:
        """The underlying client, for the rare call the gateway lacks (avoid)."""
        return self._sf


def _required_datetime(row: dict, field: str, sobject: str) -> datetime:
    """A datetime the reads cannot do without (a file's day, a paging cursor)."""
    value = parse_sf_datetime(row.get(field))
    if value is None:
        raise SalesforceGatewayError(
            f"{sobject} {row.get('Id') or ''} has no readable {field} ({row.get(field)!r}); "
            "report this org's answer: handover reads Salesforce's ISO 8601 datetimes"
        )
    return value


def _checked_id(value: str, what: str) -> str:
    """An id fit to put in SOQL (ids only: nothing else ever reaches a WHERE clause)."""
    if not ids.is_valid_id(value):
        raise SalesforceGatewayError(f"{value!r} is not a Salesforce {what} id.")
    return ids.to18(value)
