"""SalesforceGateway: the reads discovery needs, each counted, paged with the largest
batches Salesforce allows, and with errors translated in one place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.util import exception_handler

from ..models import UserInfo
from .translate import translated

USER_FIELDS = "Id, Username, Name, Email, IsActive, LastLoginDate, Title, Department, Profile.Name, Profile.UserLicense.Name"
LOGIN_FIELDS = "Id, UserId, LoginTime, LoginType, LoginSubType, Status, Application, ApiType, SourceIp, Browser, Platform"
OAUTH_TOKEN_CAP = 2500  # OauthToken: queryMore stops at 2,500 rows in total


@dataclass(frozen=True)
class EventLogFileMeta:
    file_id: str
    event_type: str
    log_date: date
    length: int
    interval: str = "Daily"


def parse_sf_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    v = value.replace("Z", "+00:00")
    if len(v) > 5 and v[-5] in "+-" and v[-3] != ":":
        v = v[:-2] + ":" + v[-2:]
    return datetime.fromisoformat(v).astimezone(UTC)


def soql_datetime(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class SalesforceGateway:
    def __init__(self, sf: Salesforce, *, org_name: str = "") -> None:
        self._sf = sf
        self.org_name = org_name
        self.api_calls = 0  # every HTTP request made to the org, for the run's API budget
        self._org_now: datetime | None = None
        self._org_id: str | None = None

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

    def org_now(self) -> datetime:
        """The org's current time, from the Date header of one cheap call.

        The org's clock decides which day's logs exist; the machine running handover may
        be in another zone or (with the emulator) at another time altogether."""
        if self._org_now is None:
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

    def org_id(self) -> str:
        if self._org_id is None:
            rows = self.query_all(
                "SELECT Id, Name FROM Organization", what="reading the Organization"
            )
            self._org_id = rows[0]["Id"]
        return self._org_id

    # ------------------------------------------------------------------ discovery reads

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
            last = parse_sf_datetime(rows[-1]["CreatedDate"])
            assert last is not None
            cursor = soql_datetime(last)

    def login_history(self, since: datetime | None) -> Iterator[dict]:
        where = f" WHERE LoginTime > {soql_datetime(since)}" if since else ""
        return self.iter_query(
            f"SELECT {LOGIN_FIELDS} FROM LoginHistory{where} ORDER BY LoginTime",
            what="reading LoginHistory",
        )

    def event_log_files(self, event_types: list[str]) -> list[EventLogFileMeta]:
        types = ", ".join(f"'{t}'" for t in event_types)
        rows = self.query_all(
            f"SELECT Id, EventType, LogDate, LogFileLength, Interval FROM EventLogFile WHERE Interval = 'Daily' AND EventType IN ({types}) ORDER BY LogDate",
            what="listing event log files",
        )
        out = []
        for r in rows:
            log_date = parse_sf_datetime(r["LogDate"])
            assert log_date is not None
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

    def raw(self) -> Any:
        """The underlying client, for the rare call the gateway lacks (avoid)."""
        return self._sf
