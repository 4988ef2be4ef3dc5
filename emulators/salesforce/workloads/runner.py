"""Run a workload as its external system does: read the credential source, log in with the
flow it names, make calls of the workload's mix with simple-salesforce, record each
outcome (the real Salesforce error when a permission is missing).

Each run reads the credentials afresh, because that file is what handover's cutover
rewrites; it sends the workload's source IP (``X-Emulator-Client-Ip``), User-Agent and
``Sforce-Call-Options`` client, on the login requests too (LoginHistory shows them).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from .. import client
from ..objects import custom_object, standard_schema
from ..scenario import Call, Scenario, Workload
from ..schema import ObjectDef, Schema
from .credentials import login, read_credentials
from .results import CallOutcome, LoginFailed, WorkloadResult, error_of
from .values import Values

# Calls of the first pass run in this order, so that updates find records to update and
# deletes find records the workload created.
_PHASE = {"query": 0, "create": 1, "upsert": 1, "update": 2, "delete": 3}
_QUERY_LIMIT = 200
FAMILY_HEADER = "X-Emulator-Api-Family"  # emulator-only, as X-Emulator-Client-Ip
_RECORD_URL = re.compile(r"/sobjects/[^/]+/([A-Za-z0-9]{15,18})$")


@dataclass
class _Pools:
    """What the run has learnt: record ids per object, and which of them it created."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)
    external: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, obj: str, record_id: str, *, created: bool = False) -> None:
        bucket = self.ids.setdefault(obj.lower(), [])
        if record_id not in bucket:
            bucket.append(record_id)
        if created:
            self.created.setdefault(obj.lower(), []).append(record_id)

    def forget(self, obj: str, record_id: str) -> None:
        for pool in (self.ids, self.created):
            if record_id in pool.get(obj.lower(), []):
                pool[obj.lower()].remove(record_id)


class _Run:
    def __init__(
        self,
        sf: Salesforce,
        schema: Schema,
        workload: Workload,
        rng: random.Random,
        values: Values,
        relogin: Callable[[], Salesforce] | None,
    ) -> None:
        self.sf = sf
        self.schema = schema
        self.w = workload
        self.rng = rng
        self.values = values
        self.pools = _Pools()
        self.outcomes: list[CallOutcome] = []
        self.relogin = relogin
        self.family = workload.api_family

    # -- one call of the mix

    def do(self, index: int, call: Call) -> None:
        obj = self.schema.get(call.object)
        name = obj.name if obj else call.object
        # The emulator serves no SOAP CRUD or Bulk API endpoints: the call is made over REST
        # (the same access rules answer it) and names the family it stands for, which the
        # org logs it as (eventlog.events.in_family).
        self.family = self.w.family_of(call)
        try:
            outcome = self._dispatch(index, call, obj, name)
        except _Skip as s:
            outcome = CallOutcome(
                index, name, call.operation, ok=False, skipped=True, message=str(s)
            )
        except _LookupFailed as lf:
            # The real error of the query that should have found the records to write.
            outcome = CallOutcome(
                index,
                name,
                call.operation,
                ok=False,
                status=lf.outcome.status,
                error_code=lf.outcome.error_code,
                message=f"finding a {lf.outcome.object} record: {lf.outcome.message}",
            )
        self.outcomes.append(outcome)

    def _dispatch(self, index: int, call: Call, obj: ObjectDef | None, name: str) -> CallOutcome:
        op = call.operation
        if op == "query":
            soql = (
                f"SELECT {', '.join(call.fields)} FROM {name}"
                + (f" WHERE {call.where}" if call.where else "")
                + f" LIMIT {_QUERY_LIMIT}"
            )
            return self._api(index, name, op, lambda: self._query(name, soql, obj))
        if obj is None:
            # Without a definition there are no plausible values to write (queries on an
            # unknown object are still sent: the org answers with the real error).
            raise _Skip(f"{name} is not an object of this scenario's schema")
        if op == "create":
            data = self._record(index, obj, call, creating=True)
            return self._api(index, name, op, lambda: self._create(obj, data))
        if op == "update":
            data = self._record(index, obj, call, creating=False)
            target = self._pick(index, obj.name)
            return self._api(
                index, name, op, lambda: self._update(obj, target, data), record_id=target
            )
        if op == "upsert":
            ext = obj.get_field(call.external_id_field or "")
            ext_name = ext.name if ext else str(call.external_id_field)
            data = {
                k: v
                for k, v in self._record(index, obj, call, creating=True).items()
                if k.lower() != ext_name.lower()
            }
            seen = self.pools.external.get((obj.name.lower(), ext_name.lower()), [])
            # Half the upserts touch a record the run has seen, half bring a new one.
            value = (
                self.rng.choice(seen)
                if seen and self.rng.random() < 0.5
                else self.values.unique(ext_name.split("_")[0][:4].upper() + "-")
            )
            return self._api(index, name, op, lambda: self._upsert(obj, ext_name, value, data))
        if op == "delete":
            created = self.pools.created.get(obj.name.lower())
            if not created:
                raise _Skip(f"no {obj.name} created by this run to delete")
            target = created[-1]
            return self._api(index, name, op, lambda: self._delete(obj, target), record_id=target)
        raise _Skip(f"unknown operation {op}")

    def _api(
        self,
        index: int,
        obj: str,
        op: str,
        fn: Callable[[], str | None],
        *,
        record_id: str | None = None,
        lookup: bool = False,
    ) -> CallOutcome:
        """Make one call; a refresh-token session re-grants once when it expired. A lookup
        (finding records to write) is a REST query whatever the call's family."""
        headers = self.sf.session.headers
        for attempt in (0, 1):
            try:
                if self.family != "REST" and not lookup:
                    headers[FAMILY_HEADER] = self.family
                try:
                    rid = fn()
                finally:
                    headers.pop(FAMILY_HEADER, None)
                return CallOutcome(
                    index, obj, op, ok=True, record_id=rid or record_id, lookup=lookup
                )
            except SalesforceError as e:
                code, message = error_of(e)
                if code == "INVALID_SESSION_ID" and attempt == 0 and self.relogin is not None:
                    try:
                        self.sf = self.relogin()
                    except LoginFailed as lf:
                        return CallOutcome(
                            index,
                            obj,
                            op,
                            ok=False,
                            status=lf.status,
                            error_code=lf.code,
                            message=lf.message,
                            lookup=lookup,
                        )
                    continue
                return CallOutcome(
                    index,
                    obj,
                    op,
                    ok=False,
                    status=e.status,
                    error_code=code,
                    message=message,
                    record_id=record_id,
                    lookup=lookup,
                )
            except requests.RequestException as e:
                return CallOutcome(
                    index,
                    obj,
                    op,
                    ok=False,
                    error_code=type(e).__name__,
                    message=str(e)[:300],
                    lookup=lookup,
                )
        raise AssertionError("unreachable")

    # -- the calls, with simple-salesforce

    def _sobject(self, name: str) -> Any:
        return getattr(self.sf, name)

    def _query(self, name: str, soql: str, obj: ObjectDef | None) -> None:
        result = self.sf.query(soql)
        for rec in result.get("records", []):
            self._learn(name, rec, obj)
        return None

    def _learn(self, name: str, rec: dict[str, Any], obj: ObjectDef | None) -> None:
        rid = rec.get("Id")
        if not rid:
            m = _RECORD_URL.search(str((rec.get("attributes") or {}).get("url") or ""))
            rid = m.group(1) if m else None
        if rid:
            self.pools.add(name, str(rid))
        if obj is None:
            return
        for key, value in rec.items():
            fdef = obj.get_field(key) if isinstance(value, str) else None
            if fdef is None:
                continue
            if fdef.type == "reference" and fdef.reference_to:
                # A contact's AccountId is as good a source of Account ids as a query on Account.
                self.pools.add(fdef.reference_to[0], value)
            elif fdef.external_id:
                seen = self.pools.external.setdefault((obj.name.lower(), fdef.name.lower()), [])
                if value not in seen:
                    seen.append(value)

    def _create(self, obj: ObjectDef, data: dict[str, Any]) -> str | None:
        result = self._sobject(obj.name).create(data)
        rid = str(result.get("id")) if isinstance(result, dict) and result.get("id") else None
        if rid:
            self.pools.add(obj.name, rid, created=True)
            self._remember_external(obj, data)
        return rid

    def _update(self, obj: ObjectDef, record_id: str, data: dict[str, Any]) -> str:
        self._sobject(obj.name).update(record_id, data)
        return record_id

    def _upsert(
        self, obj: ObjectDef, ext_field: str, value: str, data: dict[str, Any]
    ) -> str | None:
        resp = self._sobject(obj.name).upsert(f"{ext_field}/{value}", data, raw_response=True)
        rid = None
        if resp.status_code == 201:
            try:
                rid = resp.json().get("id")
            except ValueError:
                rid = None
            if rid:
                self.pools.add(obj.name, rid, created=True)
        self._remember_external(obj, {ext_field: value})
        return rid

    def _delete(self, obj: ObjectDef, record_id: str) -> str:
        self._sobject(obj.name).delete(record_id)
        self.pools.forget(obj.name, record_id)
        return record_id

    def _remember_external(self, obj: ObjectDef, data: dict[str, Any]) -> None:
        for key, value in data.items():
            fdef = obj.get_field(key)
            if fdef is not None and fdef.external_id and isinstance(value, str):
                self.pools.external.setdefault((obj.name.lower(), fdef.name.lower()), []).append(
                    value
                )

    # -- what to write, and where

    def _record(self, index: int, obj: ObjectDef, call: Call, *, creating: bool) -> dict[str, Any]:
        names = list(call.fields)
        if creating:
            # Real integrations send complete records: every field the org requires.
            names += [
                f.name for f in obj.fields.values() if f.required_on_create and f.name not in names
            ]
        elif not names:
            fallback = next(
                (f for f in ("Description", "Title", "Phone") if obj.get_field(f)), None
            )
            names = [fallback] if fallback else []
        data: dict[str, Any] = {}
        for fname in names:
            fdef = obj.get_field(fname)
            if fdef is None:
                data[fname] = "x"  # let the org answer INVALID_FIELD, as it would
                continue
            if fdef.name == "Id" or not (fdef.createable if creating else fdef.updateable):
                continue
            if fdef.type == "reference":
                data[fdef.name] = self._pick(index, fdef.reference_to[0])
            else:
                data[fdef.name] = self.values.value(obj, fdef)
        return data

    def _pick(self, index: int, object_name: str) -> str:
        """An existing record id of ``object_name``: learnt from results, or looked up once."""
        pool = self.pools.ids.get(object_name.lower())
        if not pool:
            soql = f"SELECT Id FROM {object_name} LIMIT {_QUERY_LIMIT}"
            outcome = self._api(
                index,
                object_name,
                "query",
                lambda: self._query(object_name, soql, self.schema.get(object_name)),
                lookup=True,
            )
            self.outcomes.append(outcome)
            if not outcome.ok:
                raise _LookupFailed(outcome)
            pool = self.pools.ids.get(object_name.lower())
            if not pool:
                raise _Skip(f"no {object_name} record visible to pick")
        return self.rng.choice(pool)


class _Skip(Exception):
    pass


class _LookupFailed(Exception):
    def __init__(self, outcome: CallOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def plan_calls(workload: Workload, n: int, rng: random.Random) -> list[Call]:
    """``n`` calls of the mix: each call once first (reads before writes before deletes),
    then drawn by weight."""
    first = sorted(workload.calls, key=lambda c: _PHASE[c.operation])[:n]
    weights = [c.weight for c in workload.calls]
    if sum(weights) <= 0:
        weights = [1.0] * len(workload.calls)
    return first + rng.choices(workload.calls, weights=weights, k=max(0, n - len(first)))


def _schema(scenario: Scenario) -> Schema:
    schema = standard_schema()
    for spec in scenario.custom_objects:
        schema.add(custom_object(spec.name, spec.key_prefix, spec.fields))
    return schema


def _session(
    info: dict[str, Any],
    workload: Workload,
    source_ip: str,
    session: requests.Session | None = None,
) -> requests.Session:
    session = session or client.session_for(info)
    # On the session, so that the login requests carry them too (LoginHistory's SourceIp).
    session.headers["User-Agent"] = workload.user_agent
    session.headers["X-Emulator-Client-Ip"] = source_ip
    if workload.client_name:
        session.headers["Sforce-Call-Options"] = f"client={workload.client_name}"
    return session


def run_workload(
    info: dict[str, Any],
    scenario: Scenario,
    name: str,
    *,
    calls: int,
    credentials_dir: Path | None = None,
    seed: int | None = None,
    on_login: Callable[[Salesforce], None] | None = None,
    session: requests.Session | None = None,
) -> WorkloadResult:
    """Log in as the workload's credential source says and make ``calls`` calls of its mix.
    ``on_login`` sees the logged-in client first (the emulator's live clock reads which
    session, hence which user, the login produced). ``session``: a requests session from
    ``client.session_for`` to reuse (its connections), left open; by default a new one."""
    workload = next((w for w in scenario.workloads if w.name == name), None)
    if workload is None:
        known = ", ".join(w.name for w in scenario.workloads)
        raise ValueError(f"no workload named {name!r} in the scenario (it has: {known})")
    rng = random.Random(zlib.crc32(name.encode()) if seed is None else seed)
    source_ip = rng.choice(workload.source_ips) if workload.source_ips else "127.0.0.1"
    cdir = credentials_dir or Path(info["credentials_dir"])
    result = WorkloadResult(
        workload=name, username="", auth=workload.auth, source_ip=source_ip, requested_calls=calls
    )
    http = _session(info, workload, source_ip, session)
    # A session of our own is closed at the end; a caller's stays open for its next run.
    with http if session is None else nullcontext(http) as session:
        try:
            creds = read_credentials(cdir, name)
            result.username = str(creds.get("username") or "")
            result.auth = str(creds.get("auth") or workload.auth)
            sf = login(info, creds, session, client_name=workload.client_name)
        except LoginFailed as e:
            result.login_error = CallOutcome(
                0, "", "login", ok=False, status=e.status, error_code=e.code, message=e.message
            )
            return result
        if on_login is not None:
            on_login(sf)

        def relogin() -> Salesforce:
            # Sessions from a token fetched here (refresh token, SOAP login()) get no automatic
            # re-login from simple-salesforce; its own login flows re-log in by themselves.
            return login(
                info, read_credentials(cdir, name), session, client_name=workload.client_name
            )

        values = Values(rng, name, scenario.org.start.date())
        own_token = result.auth in ("refresh_token", "soap_login")
        run = _Run(sf, _schema(scenario), workload, rng, values, relogin if own_token else None)
        for i, call in enumerate(plan_calls(workload, calls, rng)):
            run.do(i, call)
    result.outcomes = run.outcomes
    return result


def run_all(
    info: dict[str, Any],
    scenario: Scenario,
    calls_per_workload: int,
    *,
    credentials_dir: Path | None = None,
) -> dict[str, WorkloadResult]:
    return {
        w.name: run_workload(
            info, scenario, w.name, calls=calls_per_workload, credentials_dir=credentials_dir
        )
        for w in scenario.workloads
    }
