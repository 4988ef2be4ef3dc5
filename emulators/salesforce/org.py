"""The org backend: all state of one emulated org and the operations on it, named after
Salesforce's (query, create, update, upsert, delete, retrieve). Every operation runs as the
calling user and enforces object, field and setup access as the platform does. The HTTP
layer (``http/``) only translates between this and the wire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from . import rules
from .access import EffectiveAccess, compute
from .clock import SimClock
from .eventlog.events import ApiCall, LoginEvent, api_event_row, in_family
from .eventlog.logins import login_history_row
from .eventlog.store import EventStore
from .exceptions import SalesforceError, insufficient_access, invalid_session, not_found
from .ids import IdFactory, is_valid_id, to18
from .objects import api_event_object, standard_schema
from .schema import FieldDef, ObjectDef, Schema
from .sessions import ApiCounter, AuthCode, RefreshGrant, Session
from .values import from_json, to_json

# Tables whose changes alter someone's effective access.
_ACCESS_TABLES = frozenset(
    {
        "permissionset",
        "permissionsetassignment",
        "objectpermissions",
        "fieldpermissions",
        "user",
        "profile",
        "permissionsetlicenseassign",
    }
)
# Who "owns" a row for own-rows-only objects.
_OWNER_FIELD = {"oauthtoken": "UserId", "loginhistory": "UserId", "authsession": "UsersId"}


@dataclass
class AppConfig:
    """Connected-app settings that live in metadata, not in the ConnectedApplication sObject."""

    app_id: str
    name: str
    label: str
    consumer_key: str
    consumer_secret: str | None = field(repr=False)
    admin_approved: bool
    callback_url: str
    scopes: list[str]
    certificate_pem: str | None = None  # public cert for JWT bearer
    client_credentials_user: str | None = None  # a username
    menu_item_id: str | None = None
    # Metadata-only settings the Metadata API reads back (ConnectedApp.contactEmail, description).
    contact_email: str | None = None
    description: str | None = None


@dataclass
class CallContext:
    """Who is calling and how: every operation is evaluated as this user."""

    session: Session
    user: dict
    access: EffectiveAccess
    client_ip: str = "127.0.0.1"
    user_agent: str = ""
    client_name: str | None = None
    api_family: str = "REST"
    api_version: str = "59.0"


@dataclass
class QueryCursor:
    records: list[dict]
    total_size: int
    batch: int
    object_name: str
    api_version: str = "59.0"


@dataclass
class Org:
    name: str
    my_domain: str
    clock: SimClock
    edition: str = "Enterprise"
    event_monitoring: bool = False
    # Real-Time Event Monitoring: the ApiEvent object, a row per API query with its text.
    real_time_events: bool = False
    retention_days: int = 1
    daily_api_limit: int = 100_000
    api_version: str = "59.0"
    seed: int = 0
    schema: Schema = field(default_factory=standard_schema)

    def __post_init__(self) -> None:
        if self.real_time_events and self.schema.get("ApiEvent") is None:
            self.schema.add(api_event_object())
        self.ids = IdFactory(self.seed)
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, dict]] = {o.name.lower(): {} for o in self.schema}
        self.org_id = self.ids.new("00D")
        self.events = EventStore(
            org_id=self.org_id,
            event_monitoring=self.event_monitoring,
            retention_days=self.retention_days,
            ids=self.ids,
            api_version=self.api_version,
        )
        self.sessions: dict[str, Session] = {}
        self._session_rows: dict[str, Session] = {}  # AuthSession Id -> session
        self.refresh_grants: dict[str, RefreshGrant] = {}  # refresh token -> grant
        self.auth_codes: dict[str, AuthCode] = {}  # pending web-server-flow codes (auth.py)
        self.apps: dict[str, AppConfig] = {}  # app id -> config
        self.passwords: dict[str, str] = {}  # user id -> password (emulator only)
        self.security_tokens: dict[str, str] = {}
        self.api_counter = ApiCounter(self.daily_api_limit)
        self._cursors: dict[str, QueryCursor] = {}
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self._access_cache: dict[str, EffectiveAccess] = {}
        self._autonumber: dict[str, int] = {}
        self._undo: list[tuple[str, str, dict | None]] | None = None
        self.insert_system(
            "Organization",
            {
                "Id": self.org_id,
                "Name": self.name,
                "OrganizationType": f"{self.edition} Edition",
                "IsSandbox": False,
                "InstanceName": "EMU1",
                "Country": "US",
                "DefaultLocaleSidKey": "en_US",
                "TimeZoneSidKey": "America/Los_Angeles",
                "LanguageLocaleKey": "en_US",
            },
        )

    # ------------------------------------------------------------------ lookups

    @property
    def instance_host(self) -> str:
        return self.my_domain

    def table(self, object_name: str) -> dict[str, dict]:
        return self.tables[object_name.lower()]

    def get(self, record_id: str) -> dict | None:
        obj = self.schema.object_of_id(record_id)
        if obj is None:
            return None
        return self.tables[obj.name.lower()].get(
            to18(record_id) if len(record_id) == 15 else record_id
        )

    def find(self, object_name: str, **criteria: Any) -> list[dict]:
        """Rows whose fields equal the criteria (case-insensitive for strings); internal use."""
        out = []
        for row in self.table(object_name).values():
            if all(_eq(row.get(k), v) for k, v in criteria.items()):
                out.append(row)
        return out

    def find_one(self, object_name: str, **criteria: Any) -> dict | None:
        rows = self.find(object_name, **criteria)
        return rows[0] if rows else None

    def user_by_username(self, username: str) -> dict | None:
        return self.find_one("User", Username=username.lower())

    def connected_app_by_name(self, name: str) -> dict | None:
        return self.find_one("ConnectedApplication", Name=name)

    def app_by_consumer_key(self, consumer_key: str) -> AppConfig | None:
        for app in self.apps.values():
            if app.consumer_key == consumer_key:
                return app
        return None

    def app_by_name(self, name: str) -> AppConfig | None:
        for app in self.apps.values():
            if app.name.lower() == name.lower():
                return app
        return None

    def license_of(self, user: dict) -> str:
        profile = self.get(user["ProfileId"]) if user.get("ProfileId") else None
        lic = self.get(profile["UserLicenseId"]) if profile else None
        return lic["Name"] if lic else ""

    # ------------------------------------------------------------------ access

    def access_of(self, user_id: str) -> EffectiveAccess:
        with self.lock:
            cached = self._access_cache.get(user_id)
            if cached is not None:
                return cached
            user = self.table("User")[user_id]
            ps_ids = {
                a["PermissionSetId"]
                for a in self.find("PermissionSetAssignment", AssigneeId=user_id)
                if a.get("PermissionSetId")
            }
            sets = [
                self.table("PermissionSet")[i] for i in ps_ids if i in self.table("PermissionSet")
            ]
            psl_names = set()
            for a in self.find("PermissionSetLicenseAssign", AssigneeId=user_id):
                psl = self.get(a["PermissionSetLicenseId"])
                if psl:
                    psl_names.add(psl["DeveloperName"])
            eff = compute(
                user,
                self.license_of(user),
                sets,
                list(self.table("ObjectPermissions").values()),
                list(self.table("FieldPermissions").values()),
                psl_names,
            )
            self._access_cache[user_id] = eff
            return eff

    def access_changed(self) -> None:
        """Forget every cached EffectiveAccess: call after changing a table that grants access
        outside the DML methods (which call it themselves)."""
        self._access_cache.clear()

    def object_visible(self, access: EffectiveAccess, obj: ObjectDef) -> bool:
        if obj.access == "crud":
            return access.object(obj.name).read
        if obj.access in ("public", "own_or_perm"):
            return True
        if obj.access == "setup":
            return access.has("ViewSetup") or access.view_all_data
        if obj.access == "perm":
            return access.view_all_data or any(access.has(p) for p in obj.view_all_permissions)
        return False

    def field_visible(self, access: EffectiveAccess, obj: ObjectDef, fdef: FieldDef) -> bool:
        if obj.access == "crud" and fdef.permissionable:
            return access.field(obj.name, fdef.name)[0]
        return True

    def can_write_setup(self, access: EffectiveAccess, obj: ObjectDef) -> bool:
        """Whether ``access`` may change rows of the setup object ``obj`` (Modify All Data, or
        one of the object's write permissions such as Manage Users)."""
        return access.modify_all_data or any(access.has(p) for p in obj.write_permissions)

    def visible_rows(
        self, access: EffectiveAccess, obj: ObjectDef, include_deleted: bool = False
    ) -> Iterable[dict]:
        if obj.name == "EventLogFile":
            return self.events.published_files(self.clock.now())
        rows: Iterable[dict] = self.tables[obj.name.lower()].values()
        owner_field = _OWNER_FIELD.get(obj.name.lower())
        if owner_field and not (
            access.view_all_data or any(access.has(p) for p in obj.view_all_permissions)
        ):
            uid = access.user_id
            rows = [r for r in rows if r.get(owner_field) == uid]
        if not include_deleted:
            rows = [r for r in rows if not r.get("IsDeleted")]
        if obj.name == "AuthSession":
            # Only live sessions are listed: expired and revoked ones are gone.
            rows = [
                r
                for r in rows
                if (s := self._session_rows.get(r["Id"])) is None or s.valid_at(self.clock.now())
            ]
        return rows

    # ------------------------------------------------------------------ sessions

    def add_session(self, session: Session, *, session_type: str = "Oauth2") -> str:
        """Store a new session and its AuthSession row (what admins query and delete to end
        a session); returns the row's Id."""
        with self.lock:
            user = self.table("User").get(session.user_id) or {}
            self.sessions[session.token] = session
            session.auth_session_id = self.insert_system(
                "AuthSession",
                {
                    "UsersId": session.user_id,
                    "LoginType": session.login_type,
                    "SessionType": session_type,
                    "SourceIp": session.source_ip,
                    "IsCurrent": False,
                    "NumSecondsValid": int((session.expires - session.created).total_seconds()),
                    "SessionSecurityLevel": "STANDARD",
                    "UserType": user.get("UserType") or "Standard",
                    "IsAssociatedWithJwtAccessToken": False,
                    "CreatedDate": session.created,
                    "CreatedById": session.user_id,
                },
            )
            self._session_rows[session.auth_session_id] = session
            return session.auth_session_id

    def session_live(self, session: Session) -> bool:
        """Valid now: not revoked, not expired, and its AuthSession row not deleted."""
        if not session.valid_at(self.clock.now()):
            return False
        rid = session.auth_session_id
        return rid is None or rid in self.tables["authsession"]

    def authenticate(self, token: str) -> Session:
        """The live session for a bearer token, or INVALID_SESSION_ID."""
        session = self.sessions.get(token)
        if session is None or not self.session_live(session):
            raise invalid_session()
        user = self.table("User").get(session.user_id)
        if user is None or not user.get("IsActive"):
            raise invalid_session()
        return session

    def user_login(self, user_id: str) -> dict:
        """The UserLogin row of a user (frozen, password-locked)."""
        row = self.find_one("UserLogin", UserId=user_id)
        return row if row is not None else {"IsFrozen": False, "IsPasswordLocked": False}

    def context(self, session: Session, **kw: Any) -> CallContext:
        user = self.table("User")[session.user_id]
        access = self.access_of(user["Id"])
        if not access.has("ApiEnabled"):
            raise SalesforceError(
                403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner"
            )
        return CallContext(session=session, user=user, access=access, **kw)

    def admin_context(self, username: str | None = None) -> CallContext:
        """A context for setup code (seeding, tests) acting as an admin user."""
        user = self.user_by_username(username) if username else None
        if user is None:
            user = next(
                u for u in self.table("User").values() if self.access_of(u["Id"]).modify_all_data
            )
        now = self.clock.now()
        session = Session(
            token="internal",
            user_id=user["Id"],
            created=now,
            expires=now,
            login_type="Application",
            source_ip="127.0.0.1",
            session_key="",
            login_key="",
        )
        return CallContext(session=session, user=user, access=self.access_of(user["Id"]))

    # ------------------------------------------------------------------ events

    def record_call(self, call: ApiCall) -> None:
        # A call made over REST for a workload of another API is logged as that API's call.
        if call.api_family != "REST" and call.uri.startswith("/services/data/"):
            call = in_family(replace(call, api_family="REST"), call.api_family)
        self.events.record_api_call(call)
        answered = call.status_code < 400 and call.operation == "query" and call.query
        if self.real_time_events and answered:
            self.add_api_events([api_event_row(call)])

    def add_api_events(self, rows: list[dict[str, Any]]) -> None:
        """ApiEvent rows (Real-Time Event Monitoring): none without it."""
        if not self.real_time_events:
            return
        with self.lock:
            table = self.table("ApiEvent")
            for row in rows:
                table[row["EventIdentifier"]] = {"__type": "ApiEvent", "Id": None, **row}

    def record_login(self, event: LoginEvent, *, login_history: bool = True) -> str | None:
        """A login: LoginHistory row (unless the flow leaves none), Login event, LastLoginDate.
        Returns the LoginHistory Id."""
        rid = None
        with self.lock:
            if login_history:
                (rid,) = self.add_login_history([login_history_row(event)])
            if event.status == "Success":
                self.set_last_login(event.user_id, event.timestamp)
        self.events.record_login(event)
        return rid

    # BackfillTarget protocol (see backfill.py)
    def add_login_history(self, rows: list[dict]) -> list[str]:
        ids = []
        with self.lock:
            table = self.table("LoginHistory")
            for r in rows:
                rid = self.ids.new("0Ya")
                ids.append(rid)
                table[rid] = {
                    "__type": "LoginHistory",
                    "Id": rid,
                    "IsDeleted": False,
                    "OptionsIsGet": False,
                    "OptionsIsPost": True,
                    "AuthenticationServiceId": None,
                    "NetworkId": None,
                    "LoginGeoId": None,
                    "AuthMethodReference": None,
                    "ForwardedForIp": None,
                    **r,
                }
        return ids

    def note_token_use(self, user_id: str, app_name: str, uses: int, last_used: datetime) -> None:
        with self.lock:
            for grant in self.refresh_grants.values():
                if grant.user_id == user_id and grant.app_name == app_name and not grant.revoked:
                    grant.use_count += uses
                    grant.last_used = max(grant.last_used, last_used)
                    self.sync_oauth_token(grant)
                    return

    def set_last_login(self, user_id: str, when: datetime) -> None:
        with self.lock:
            user = self.table("User").get(user_id)
            if user is not None and (
                user.get("LastLoginDate") is None or user["LastLoginDate"] < when
            ):
                user["LastLoginDate"] = when

    def sync_oauth_token(self, grant: RefreshGrant) -> None:
        """Mirror a refresh grant into the query-only OauthToken table (keyed by DeleteToken)."""
        table = self.table("OauthToken")
        if grant.revoked:
            table.pop(grant.delete_token, None)
            return
        app = self.apps.get(grant.app_id)
        table[grant.delete_token] = {
            "__type": "OauthToken",
            "Id": None,
            "IsDeleted": False,
            "AccessToken": grant.token[:8] + "…" + grant.token[-4:],
            "AppMenuItemId": app.menu_item_id if app else None,
            "AppName": app.label if app else grant.app_name,
            "CreatedDate": grant.created,
            "DeleteToken": grant.delete_token,
            "LastUsedDate": grant.last_used,
            "RequestToken": None,
            "UseCount": grant.use_count,
            "UserId": grant.user_id,
            "CreatedById": grant.user_id,
            "LastModifiedDate": grant.last_used,
            "LastModifiedById": grant.user_id,
            "SystemModstamp": grant.last_used,
        }

    # ------------------------------------------------------------------ query

    def query(
        self, ctx: CallContext, soql: str, *, include_deleted: bool = False, batch_size: int = 2000
    ) -> dict:
        from .soql import execute

        source = _Source(self, ctx)
        with self.lock:
            result = execute(soql, source, include_deleted=include_deleted)
        obj = self.schema.get(result.object_name)
        records = result.records
        total = result.total_size
        batch = max(200, min(batch_size, 2000))
        if obj is not None and obj.max_batch_size:
            batch = min(batch, obj.max_batch_size)
        if (
            obj is not None
            and obj.max_total_rows
            and not result.is_aggregate
            and len(records) > obj.max_total_rows
        ):
            # OauthToken: queryMore stops at 2,500 rows in total; totalSize still tells the truth.
            records = records[: obj.max_total_rows]
        if result.count_only:
            return {"totalSize": total, "done": True, "records": []}
        cursor = QueryCursor(
            records=records,
            total_size=total,
            batch=batch,
            object_name=result.object_name,
            api_version=ctx.api_version,
        )
        return self._page(cursor, None, 0)

    def query_columns(self, ctx: CallContext, soql: str) -> dict:
        """The column metadata of ``soql`` (``query?columns=true``, soql/columns.py)."""
        from .soql import execute
        from .soql.columns import query_columns

        source = _Source(self, ctx)
        with self.lock:
            execute(soql, source)  # a query that cannot run fails here with its own error
            return query_columns(soql, source)

    def query_more(self, ctx: CallContext, locator: str) -> dict:
        try:
            base, offset_s = locator.rsplit("-", 1)
            offset = int(offset_s)
        except ValueError:
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator") from None
        cursor = self._cursors.get(base)
        if cursor is None or offset > len(cursor.records):
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, base, offset)

    def _page(self, cursor: QueryCursor, base: str | None, offset: int) -> dict:
        end = offset + cursor.batch
        page = cursor.records[offset:end]
        done = end >= len(cursor.records)
        out: dict[str, Any] = {"totalSize": cursor.total_size, "done": done}
        if not done:
            if base is None:
                base = self.ids.new("01g")
                self._cursors[base] = cursor
            out["nextRecordsUrl"] = f"/services/data/v{cursor.api_version}/query/{base}-{end}"
        elif base is not None:
            self._cursors.pop(base, None)
        out["records"] = page
        return out

    # ------------------------------------------------------------------ retrieve / describe

    def visible_object(self, ctx: CallContext, object_name: str) -> ObjectDef:
        obj = self.schema.get(object_name)
        if obj is None or not self.object_visible(ctx.access, obj):
            raise not_found()
        return obj

    def retrieve(
        self, ctx: CallContext, object_name: str, record_id: str, fields: list[str] | None = None
    ) -> dict:
        obj = self.visible_object(ctx, object_name)
        if not obj.retrieveable:
            raise not_found()
        if not is_valid_id(record_id):
            raise SalesforceError(
                400,
                "MALFORMED_ID",
                f"Id in URL is not valid: {record_id}" if False else "malformed id " + record_id,
            )
        row = self.tables[obj.name.lower()].get(to18(record_id))
        visible = (
            {r["Id"] for r in self.visible_rows(ctx.access, obj)}
            if obj.name.lower() in _OWNER_FIELD
            else None
        )
        if (
            row is None
            or row.get("IsDeleted")
            or (visible is not None and row["Id"] not in visible)
        ):
            raise not_found()
        if fields and not any(f.lower() == "id" for f in fields):
            fields = [*fields, "Id"]  # Salesforce always returns the Id, after the asked fields
        wanted = [obj.get_field(f) for f in fields] if fields else list(obj.fields.values())
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": self.record_url(obj.name, row["Id"], ctx.api_version),
            }
        }
        for fdef in wanted:
            if fdef is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column on entity '{obj.name}'"
                )
            if not self.field_visible(ctx.access, obj, fdef):
                continue
            if fdef.type == "base64":
                out[fdef.name] = (
                    self.record_url(obj.name, row["Id"], ctx.api_version) + "/" + fdef.name
                )
            else:
                out[fdef.name] = to_json(fdef, row.get(fdef.name))
        return out

    def record_url(self, object_name: str, record_id: str, version: str | None = None) -> str:
        return f"/services/data/v{version or self.api_version}/sobjects/{object_name}/{record_id}"

    # ------------------------------------------------------------------ DML

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-none: undo every change of the block when it raises."""
        with self.lock:
            outer = self._undo
            self._undo = []
            try:
                yield
            except BaseException:
                for table, rid, old in reversed(self._undo):
                    if old is None:
                        self.tables[table].pop(rid, None)
                    else:
                        self.tables[table][rid] = old
                self._rebuild_unique()
                self.access_changed()
                raise
            finally:
                undo = self._undo
                self._undo = outer
                if outer is not None:
                    outer.extend(undo)

    def _log_undo(self, table: str, rid: str, old: dict | None) -> None:
        if self._undo is not None:
            self._undo.append((table, rid, dict(old) if old is not None else None))

    def create(self, ctx: CallContext, object_name: str, data: dict) -> str:
        with self.lock:
            obj = self.visible_object(ctx, object_name)
            self._check_writable(ctx, obj, "create")
            values = self._coerce(ctx, obj, data, creating=True)
            return self._insert(ctx, obj, values)

    def seed_user(self, values: dict) -> str:
        """Create a user while seeding (no caller yet), with the platform's side effects."""
        with self.lock:
            obj = self.schema.get("User")
            assert obj is not None
            row = self._new_row(None, obj, values)
            rules.before_insert(self, None, obj, row)  # type: ignore[arg-type]
            self._check_unique(obj, row, None)
            self._store(obj, row)
            rules.after_insert(self, None, obj, row)  # type: ignore[arg-type]
            return row["Id"]

    def insert_system(self, object_name: str, values: dict) -> str:
        """Seed a row bypassing access checks (scenario loading); still applies defaults."""
        with self.lock:
            obj = self.schema.get(object_name)
            assert obj is not None, object_name
            row = self._new_row(None, obj, values)
            self._store(obj, row)
            return row["Id"]

    def _insert(self, ctx: CallContext, obj: ObjectDef, values: dict) -> str:
        missing = [
            f.name
            for f in obj.fields.values()
            if f.required_on_create and values.get(f.name) in (None, "")
        ]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        row = self._new_row(ctx, obj, values)
        rules.before_insert(self, ctx, obj, row)
        self._check_references(obj, row)
        self._check_unique(obj, row, None)
        self._store(obj, row)
        rules.after_insert(self, ctx, obj, row)
        return row["Id"]

    def _new_row(self, ctx: CallContext | None, obj: ObjectDef, values: dict) -> dict:
        now = self.clock.now()
        actor = ctx.user["Id"] if ctx else None
        row: dict[str, Any] = {"__type": obj.name}
        for fdef in obj.fields.values():
            row[fdef.name] = fdef.default if fdef.type == "boolean" else None
            if fdef.default is not None:
                row[fdef.name] = fdef.default
        row.update(values)
        row["Id"] = values.get("Id") or (self.ids.new(obj.key_prefix) if obj.key_prefix else None)
        row["IsDeleted"] = False
        row.setdefault("CreatedDate", now)
        row["CreatedDate"] = row["CreatedDate"] or now
        row["LastModifiedDate"] = row["SystemModstamp"] = now
        row["CreatedById"] = row.get("CreatedById") or actor
        # A real record is never without a last modifier: a seeded one was last modified
        # by whoever created it.
        row["LastModifiedById"] = actor or row["CreatedById"]
        if "OwnerId" in row and row["OwnerId"] is None:
            row["OwnerId"] = actor
        for fdef in obj.fields.values():
            if fdef.auto_number and row.get(fdef.name) is None:
                n = self._autonumber.get(obj.name, 100) + 1
                self._autonumber[obj.name] = n
                row[fdef.name] = f"{n:08d}"
        if "Name" in row and obj.get_field("FirstName") is not None:
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        return row

    def _store(self, obj: ObjectDef, row: dict) -> None:
        table = obj.name.lower()
        key = row["Id"] if row["Id"] is not None else row.get("DeleteToken") or self.ids.new("000")
        self._log_undo(table, key, None)
        self.tables[table][key] = row
        self._index_unique(obj, row)
        if table in _ACCESS_TABLES:
            self.access_changed()

    def update(self, ctx: CallContext, object_name: str, record_id: str, data: dict) -> None:
        with self.lock:
            obj = self.visible_object(ctx, object_name)
            row = self._existing(obj, record_id)
            self._check_writable(ctx, obj, "update")
            values = self._coerce(ctx, obj, data, creating=False)
            self._apply_update(ctx, obj, row, values)

    def _apply_update(self, ctx: CallContext, obj: ObjectDef, row: dict, values: dict) -> None:
        for fname, value in values.items():
            fdef = obj.get_field(fname)
            if fdef is not None and fdef.required_on_create and value in (None, ""):
                raise SalesforceError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{fdef.name}]",
                    [fdef.name],
                )
        new = {**row, **values}
        if "Name" in new and obj.get_field("FirstName") is not None:
            new["Name"] = " ".join(p for p in (new.get("FirstName"), new.get("LastName")) if p)
        new["LastModifiedDate"] = new["SystemModstamp"] = self.clock.now()
        new["LastModifiedById"] = ctx.user["Id"]
        rules.before_update(self, ctx, obj, row, new)
        self._check_references(obj, new)
        self._check_unique(obj, new, row["Id"])
        table = obj.name.lower()
        self._log_undo(table, row["Id"], row)
        self.tables[table][row["Id"]] = new
        self._rebuild_unique_for(obj)
        if table in _ACCESS_TABLES:
            self.access_changed()
        rules.after_update(self, ctx, obj, row, new)

    def delete(self, ctx: CallContext, object_name: str, record_id: str) -> None:
        with self.lock:
            obj = self.visible_object(ctx, object_name)
            row = self._existing(obj, record_id)
            self._check_writable(ctx, obj, "delete")
            rules.before_delete(self, ctx, obj, row)
            if obj.setup:  # setup rows are gone for good (describe: undeletable false)
                self.remove(obj, row)
            else:
                self.recycle(obj, row)
            rules.after_delete(self)

    def recycle(self, obj: ObjectDef, row: dict) -> None:
        """Move a data record and its master-detail children to the Recycle Bin: gone from
        query and retrieve, still seen by queryAll with ``IsDeleted = true``. The record
        keeps its unique values and only ``SystemModstamp`` moves (both unverified)."""
        table = obj.name.lower()
        self._log_undo(table, row["Id"], row)
        self.tables[table][row["Id"]] = {
            **row,
            "IsDeleted": True,
            "SystemModstamp": self.clock.now(),
        }
        for rel in self.schema.child_relationships(obj.name):
            child = self.schema.get(rel.child_object)
            if not rel.cascade_delete or child is None or child.setup:
                continue
            for c in [
                r
                for r in self.tables[child.name.lower()].values()
                if r.get(rel.field) == row["Id"] and not r.get("IsDeleted")
            ]:
                self.recycle(child, c)

    def remove(self, obj: ObjectDef, row: dict) -> None:
        """Delete a row and cascade to master-detail children (no access checks)."""
        table = obj.name.lower()
        self._log_undo(table, row["Id"], row)
        del self.tables[table][row["Id"]]
        for rel in self.schema.child_relationships(obj.name):
            if rel.cascade_delete:
                child = self.schema.get(rel.child_object)
                assert child is not None
                for c in [
                    r
                    for r in self.tables[child.name.lower()].values()
                    if r.get(rel.field) == row["Id"]
                ]:
                    self.remove(child, c)
        self._rebuild_unique_for(obj)
        if table in _ACCESS_TABLES:
            self.access_changed()

    def upsert(
        self, ctx: CallContext, object_name: str, ext_field: str, ext_value: str, data: dict
    ) -> tuple[str, bool]:
        """Returns (id, created). Several matches raise the HTTP 300 case."""
        with self.lock:
            obj = self.visible_object(ctx, object_name)
            fdef = obj.get_field(ext_field)
            if fdef is None or not fdef.id_lookup or not self.field_visible(ctx.access, obj, fdef):
                raise SalesforceError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {ext_field}",
                )
            matches = [
                r for r in self.visible_rows(ctx.access, obj) if _eq(r.get(fdef.name), ext_value)
            ]
            if len(matches) > 1:
                raise MultipleMatches([self.record_url(obj.name, r["Id"]) for r in matches])
            if matches:
                self._check_writable(ctx, obj, "update")
                values = self._coerce(ctx, obj, data, creating=False)
                self._apply_update(ctx, obj, matches[0], values)
                return matches[0]["Id"], False
            self._check_writable(ctx, obj, "create")
            values = self._coerce(ctx, obj, {**data, fdef.name: ext_value}, creating=True)
            return self._insert(ctx, obj, values), True

    def set_password(self, ctx: CallContext, user_id: str, password: str) -> None:
        with self.lock:
            obj = self.visible_object(ctx, "User")
            user = self._existing(obj, user_id)
            if not self.can_write_setup(ctx.access, obj) and user["Id"] != ctx.user["Id"]:
                raise insufficient_access()
            rules.check_password(password)
            self.passwords[user["Id"]] = password
            user["LastPasswordChangeDate"] = self.clock.now()

    # ------------------------------------------------------------------ helpers

    def _existing(self, obj: ObjectDef, record_id: str) -> dict:
        if not is_valid_id(record_id):
            raise SalesforceError(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id}"
            )
        row = self.tables[obj.name.lower()].get(to18(record_id))
        if row is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if row.get("IsDeleted"):
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def _check_writable(self, ctx: CallContext, obj: ObjectDef, op: str) -> None:
        can_schema = {"create": obj.createable, "update": obj.updateable, "delete": obj.deletable}[
            op
        ]
        if obj.setup:
            allowed = can_schema and self.can_write_setup(ctx.access, obj)
        else:
            acc = ctx.access.object(obj.name)
            allowed = (
                can_schema and {"create": acc.create, "update": acc.edit, "delete": acc.delete}[op]
            )
        if allowed:
            return
        if op == "create":
            raise SalesforceError(
                400, "INVALID_TYPE", f"entity type cannot be inserted: {obj.label}"
            )
        raise insufficient_access()

    def _coerce(self, ctx: CallContext, obj: ObjectDef, data: dict, *, creating: bool) -> dict:
        out: dict[str, Any] = {}
        bad: list[str] = []
        for key, value in data.items():
            if key == "attributes":
                continue
            fdef = obj.get_field(key)
            if fdef is None or not self.field_visible(ctx.access, obj, fdef):
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if fdef.name == "Id":
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    "The Id field should not be specified in the sobject data.",
                )
            writable = fdef.createable if creating else fdef.updateable
            if writable and obj.access == "crud" and fdef.permissionable:
                writable = ctx.access.field(obj.name, fdef.name)[1]
            if not writable:
                bad.append(fdef.name)
                continue
            out[fdef.name] = from_json(obj.name, fdef, value)
        if bad:
            if obj.name == "SetupEntityAccess" and bad == ["SetupEntityType"]:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Field is not writeable: SetupEntityAccess.SetupEntityType",
                    bad,
                )
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(bad)}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                bad,
            )
        return out

    def _check_references(self, obj: ObjectDef, row: dict) -> None:
        for fdef in obj.fields.values():
            if fdef.type != "reference" or (not fdef.createable and not fdef.updateable):
                continue
            value = row.get(fdef.name)
            if value is None:
                continue
            target = self.schema.object_of_id(value)
            if target is None or not any(
                t.lower() == target.name.lower() for t in fdef.reference_to
            ):
                raise SalesforceError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{fdef.label}: id value of incorrect type: {value}",
                    [fdef.name],
                )
            parent = self.tables[target.name.lower()].get(value)
            if parent is None:
                raise SalesforceError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name]
                )
            if parent.get("IsDeleted"):  # in the Recycle Bin (code and text unverified)
                raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [fdef.name])

    def _unique_fields(self, obj: ObjectDef) -> list[FieldDef]:
        return [f for f in obj.fields.values() if f.unique]

    def _index_unique(self, obj: ObjectDef, row: dict) -> None:
        for fdef in self._unique_fields(obj):
            value = row.get(fdef.name)
            if value is not None:
                self._unique.setdefault((obj.name.lower(), fdef.name.lower()), {})[
                    str(value).lower()
                ] = row["Id"]

    def _rebuild_unique_for(self, obj: ObjectDef) -> None:
        for fdef in self._unique_fields(obj):
            index: dict[str, str] = {}
            for r in self.tables[obj.name.lower()].values():
                if r.get(fdef.name) is not None:
                    index[str(r[fdef.name]).lower()] = r["Id"]
            self._unique[(obj.name.lower(), fdef.name.lower())] = index

    def _rebuild_unique(self) -> None:
        for obj in self.schema:
            self._rebuild_unique_for(obj)

    def _check_unique(self, obj: ObjectDef, row: dict, own_id: str | None) -> None:
        for fdef in self._unique_fields(obj):
            value = row.get(fdef.name)
            if value is None:
                continue
            other = self._unique.get((obj.name.lower(), fdef.name.lower()), {}).get(
                str(value).lower()
            )
            if other is not None and other != own_id:
                if obj.name == "User" and fdef.name == "Username":
                    raise SalesforceError(
                        400,
                        "DUPLICATE_USERNAME",
                        "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations. To resolve, use a different username (it doesn't need to match the user's email address). ",
                        ["Username"],
                    )
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fdef.name} duplicates value on record with id: {other}",
                    [fdef.name],
                )

    def api_usage(self) -> tuple[int, int]:
        used, _ = self.api_counter.snapshot(self.clock.now().date())
        return used, self.daily_api_limit


class MultipleMatches(SalesforceError):
    """Upsert by external id matched several records: HTTP 300 with their URLs."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(
            300, "MULTIPLE_CHOICES", "more than one record found for external id field"
        )
        self.urls = urls


class _Source:
    """The SOQL engine's view of the org, as one calling user."""

    def __init__(self, org: Org, ctx: CallContext) -> None:
        self.org = org
        self.ctx = ctx
        self.schema = org.schema
        self.api_version = ctx.api_version

    def now(self) -> datetime:
        return self.org.clock.now()

    def object_visible(self, obj: ObjectDef) -> bool:
        return self.org.object_visible(self.ctx.access, obj)

    def field_visible(self, obj: ObjectDef, fdef: FieldDef) -> bool:
        return self.org.field_visible(self.ctx.access, obj, fdef)

    def rows(self, obj: ObjectDef, include_deleted: bool) -> Iterable[dict]:
        return self.org.visible_rows(self.ctx.access, obj, include_deleted)

    def get(self, record_id: str) -> dict | None:
        row = self.org.get(record_id)
        # A parent in the Recycle Bin is not followed (what queryAll shows is unverified).
        return None if row is None or row.get("IsDeleted") else row


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def today(org: Org) -> date:
    return org.clock.now().date()
