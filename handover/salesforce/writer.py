"""OrgWriter: the migration's OrgPort over a Salesforce org. ``probe`` finds what an
action's key holds now; ``write`` makes it hold the action's ``after`` (an existing record
is updated, never duplicated). One branch per kind of record the runbook writes.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any

from ..errors import MigrationError, SalesforceGatewayError
from ..migration.apply import doomed_records, missing_records
from ..models.migration import Observed, WriteAction
from .access import OBJECT_PERMISSION_FIELDS
from .gateway import SalesforceGateway
from .metadata import RUN_AS, ConnectedApps
from .provision import Records
from .revoke import HumanPaths

# A batch's rows: what the probe reads, and what identifies a row under its parent.
BATCH_FIELDS = {
    "ObjectPermissions": ["ParentId", "SobjectType", *OBJECT_PERMISSION_FIELDS],
    "FieldPermissions": ["ParentId", "SobjectType", "Field", "PermissionsRead", "PermissionsEdit"],
}
# Fields a record takes on create only (PermissionSet.LicenseId can't change, reference §3.2).
CREATE_ONLY = {"PermissionSet": {"LicenseId"}}

PasswordSource = Callable[[str], str]  # action key -> the password (the same on every call)


def generated_passwords() -> PasswordSource:
    """Passwords made here and kept in memory only, one per action key: for tests and
    demos. A flow passes a source that keeps them (a Prefect Secret block), so a re-run
    after a crash hands the sink the password the user was given."""
    made: dict[str, str] = {}
    alphabet = string.ascii_letters + string.digits

    def source(key: str) -> str:
        if key not in made:
            # Letters, digits and a symbol: passes the usual org password policies.
            made[key] = "".join(secrets.choice(alphabet) for _ in range(24)) + "7a!"
        return made[key]

    return source


class OrgWriter:
    def __init__(
        self, gateway: SalesforceGateway, *, passwords: PasswordSource | None = None
    ) -> None:
        self.records = Records(gateway)
        self.apps = ConnectedApps(gateway)
        self.paths = HumanPaths(gateway)
        self._passwords = passwords

    # ------------------------------------------------------------------ probe

    def probe(self, action: WriteAction) -> Observed:
        obj, match = action.object, action.match
        if obj in BATCH_FIELDS:
            rows = self.records.find(obj, match, BATCH_FIELDS[obj])
            return Observed(record_ids=[r["Id"] for r in rows], state={"records": rows})
        if obj == "ConnectedApp":
            return Observed(state=self.apps.run_as(str(match["name"])))
        if obj == "OauthToken":
            token = self.paths.token(str(match["UserId"]), str(match["token_hash"]))
            if token is None:
                return Observed()
            return Observed(state=token.model_dump(mode="json", include={"token_hash", "app_name"}))
        if obj == "AuthSession":
            app = match.get("Application")  # absent: every session (an emergency revoke)
            sessions = self.paths.sessions(str(match["UsersId"]), str(app) if app else None)
            ids = [s["Id"] for s in sessions]
            return Observed(record_ids=ids, state={"sessions": len(ids)} if ids else None)
        if obj == "UserLogin":
            row = self.paths.login_state(str(match["UserId"]))
            if row is None:
                return Observed()
            return Observed(record_ids=[row["Id"]], state={"IsFrozen": row.get("IsFrozen")})
        if obj == "Credentials":
            raise MigrationError(
                "credentials are written by a credential sink, not the org: route "
                "'Credentials' actions to the sink (migration.apply.Router)"
            )
        fields = list(action.after) if action.action in ("create", "update") else []
        rows = self.records.find(obj, match, fields)
        if not rows:
            return Observed()
        return Observed(record_ids=[rows[0]["Id"]], state=rows[0])

    # ------------------------------------------------------------------ write

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        obj = action.object
        what = f"{action.key} ({action.action} {obj} {action.target})"
        if obj in BATCH_FIELDS:
            return self._write_batch(action, observed, what)
        if obj == "ConnectedApp" and action.action == "update":
            self.apps.set_run_as(str(action.match["name"]), str(action.after[RUN_AS]))
            return []
        if obj == "OauthToken" and action.action == "revoke":
            self.paths.revoke(str(action.match["UserId"]), str(action.match["token_hash"]))
            return []
        if obj == "AuthSession" and action.action == "delete":
            self.paths.end_sessions(observed.record_ids)
            return observed.record_ids
        if obj == "UserLogin" and action.action == "update":
            return [
                self.paths.set_frozen(str(action.match["UserId"]), bool(action.after["IsFrozen"]))
            ]
        if action.action == "set_password":
            if self._passwords is None or not observed.record_ids:
                raise MigrationError(f"{what}: no password source, or no such user: a handover bug")
            self.records.set_password(
                observed.record_ids[0], self._passwords(action.key), what=what
            )
            return observed.record_ids
        if action.action in ("create", "update"):
            return self._write_one(action, observed, what)
        if action.action == "delete":
            for rid in observed.record_ids:
                self.records.delete(obj, rid, what=what)
            return observed.record_ids
        raise MigrationError(f"{what}: the org writer has no way to {action.action} {obj}")

    def _write_one(self, action: WriteAction, observed: Observed, what: str) -> list[str]:
        obj = action.object
        if observed.record_ids:
            rid = observed.record_ids[0]
            skip = CREATE_ONLY.get(obj, set())
            data = {k: v for k, v in action.after.items() if k not in skip}
            self.records.update(obj, rid, data, what=what)
            return [rid]
        if action.action == "update":
            raise SalesforceGatewayError(
                f"{what}: there is no such {obj} to update; it may have been deleted by hand."
            )
        return [self.records.create(obj, {**action.match, **action.after}, what=what)]

    def _write_batch(self, action: WriteAction, observed: Observed, what: str) -> list[str]:
        obj = action.object
        if action.action == "delete":
            ids = [str(r["Id"]) for r in doomed_records(action, observed)]
            if ids:
                self.records.delete_many(ids, what=what)
            return ids
        rk = action.record_key or ""
        existing: dict[str, Any] = {
            str(r.get(rk)).casefold(): r for r in (observed.state or {}).get("records") or []
        }
        new, changed = [], []
        for rec in missing_records(action, observed):
            row = existing.get(str(rec[rk]).casefold())
            if row is None:
                new.append({**action.match, **rec})
            else:
                changed.append({"Id": row["Id"], **rec})
        ids = self.records.create_many(obj, new, what=what) if new else []
        if changed:
            ids += self.records.update_many(obj, changed, what=what)
        return ids
