"""An org in memory behind the OrgPort, for the pure core's tests: records by object, the
find-or-create semantics of the real writer, and the faults the apply protocol must
survive (a crash before or after the write, a lost response, a rejected write)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from handover.errors import SalesforceGatewayError, TransientSalesforceError
from handover.migration.apply import doomed_records, holds, missing_records
from handover.models.migration import Observed, WriteAction


class Crash(BaseException):
    """The process died (the flow run crashed): nothing after it ran, not even an except."""


@dataclass
class FakeOrg:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)  # keys of the writes that landed
    passwords: dict[str, int] = field(default_factory=dict)  # username -> times set
    # Faults, by action key: "crash-before" (dies before writing), "lost" (writes, then the
    # response is lost), "reject" (the org refuses the write).
    faults: dict[str, str] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def rows(self, obj: str) -> list[dict[str, Any]]:
        return self.tables.setdefault(obj, [])

    def add(self, obj: str, **values: Any) -> str:
        rid = values.pop("Id", None) or f"{obj[:3]}{next(self._ids):015d}"
        self.rows(obj).append({"Id": rid, **values})
        return rid

    def find(self, obj: str, match: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in self.rows(obj) if holds(r, match)]

    # ------------------------------------------------------------------ OrgPort

    def probe(self, action: WriteAction) -> Observed:
        if action.batch:
            rows = self.find(action.object, action.match)
            return Observed(record_ids=[r["Id"] for r in rows], state={"records": rows})
        found = self.find(action.object, action.match)
        if not found:
            return Observed()
        return Observed(record_ids=[found[0]["Id"]], state=dict(found[0]))

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        fault = self.faults.pop(action.key, None)
        if fault == "crash-before":
            raise Crash(action.key)
        if fault == "reject":
            raise SalesforceGatewayError(f"{action.key}: LICENSE_LIMIT_EXCEEDED", status=400)
        ids = self._write(action, observed)
        self.writes.append(action.key)
        if fault == "lost":
            raise TransientSalesforceError(f"{action.key}: the org did not answer")
        return ids

    def _write(self, action: WriteAction, observed: Observed) -> list[str]:
        obj = action.object
        if action.action == "set_password":
            user = action.match["Username"]
            self.passwords[user] = self.passwords.get(user, 0) + 1
            return []
        if action.batch and action.action == "create":
            ids = []
            for rec in missing_records(action, observed):
                key = action.record_key or ""
                row = next(
                    (r for r in self.find(obj, action.match) if holds(r, {key: rec[key]})), None
                )
                if row is None:
                    ids.append(self.add(obj, **{**action.match, **rec}))
                else:
                    row.update(rec)
                    ids.append(row["Id"])
            return ids
        if action.batch and action.action == "delete":
            doomed = {r["Id"] for r in doomed_records(action, observed)}
            self.tables[obj] = [r for r in self.rows(obj) if r["Id"] not in doomed]
            return sorted(doomed)
        if action.action in ("create", "update", "restore"):
            if observed.record_ids:
                row = next(r for r in self.rows(obj) if r["Id"] == observed.record_ids[0])
                row.update(action.after)
                return [row["Id"]]
            if action.action == "update":
                raise SalesforceGatewayError(f"{action.key}: no {obj} {action.target}")
            return [self.add(obj, **{**action.match, **action.after})]
        if action.action in ("delete", "revoke"):
            self.tables[obj] = [r for r in self.rows(obj) if not holds(r, action.match)]
            return observed.record_ids
        raise AssertionError(action.action)
