"""Run a scenario's workloads against a running emulator, as their external systems do.

A workload is someone else's software: MuleSoft, HubSpot, a Data Loader batch, a Python
script. Each run therefore

* reads the credentials afresh from the workload's credential source
  (``<credentials_dir>/<slug>.json``), because that file is what handover's cutover
  rewrites (a new JWT ``username``, a new client secret holder, ...);
* logs in with the flow the credentials name, over real HTTPS, with unmodified
  simple-salesforce (through ``client``), from one of the workload's source IPs
  (``X-Emulator-Client-Ip``) and with its User-Agent and ``Sforce-Call-Options`` client;
* makes ``calls`` calls of the workload's mix and records each one's outcome, including
  the real Salesforce error when a permission is missing.

Nothing here prints or returns a token, password, key or secret.

    python -m emulators.salesforce.workloads --info var/emulator.json \\
        --scenario emulators/scenarios/loomis.yaml --workload "MuleSoft NetSuite Sync" --calls 50
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from . import client
from .objects import custom_object, standard_schema
from .scenario import Call, Scenario, Workload, load_scenario
from .schema import FieldDef, ObjectDef, Schema
from .server import _slug

# Calls of the first pass run in this order, so that updates find records to update and
# deletes find records the workload created.
_PHASE = {"query": 0, "create": 1, "upsert": 1, "update": 2, "delete": 3}
_QUERY_LIMIT = 200
_RECORD_URL = re.compile(r"/sobjects/[^/]+/([A-Za-z0-9]{15,18})$")


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class CallOutcome:
    """One API call (or one call that could not be made) and how it ended."""

    index: int  # position in the run; lookups share the index of the call they serve
    object: str
    operation: str
    ok: bool
    status: int | None = None  # HTTP status when known
    error_code: str | None = None  # Salesforce's errorCode / OAuth error / SOAP fault code
    message: str | None = None
    record_id: str | None = None
    # A query the runner made to find ids for a write (not part of the mix).
    lookup: bool = False
    # Not sent: nothing to act on (e.g. a delete before any create succeeded).
    skipped: bool = False


@dataclass
class WorkloadResult:
    workload: str
    username: str  # who the credential source named at the start of the run
    auth: str
    source_ip: str
    requested_calls: int
    outcomes: list[CallOutcome] = field(default_factory=list)
    # Set when the login itself failed; then no call was made.
    login_error: CallOutcome | None = None

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Per operation: {"ok": n, "failed": n, "skipped": n} (lookups count as queries)."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            bucket = out.setdefault(o.operation, {"ok": 0, "failed": 0, "skipped": 0})
            bucket["skipped" if o.skipped else "ok" if o.ok else "failed"] += 1
        return out

    @property
    def failures(self) -> list[CallOutcome]:
        failed = [o for o in self.outcomes if not o.ok and not o.skipped]
        return ([self.login_error] if self.login_error else []) + failed

    @property
    def ok(self) -> bool:
        return not self.failures

    def error_codes(self) -> set[str]:
        return {f.error_code for f in self.failures if f.error_code}

    def summary(self) -> str:
        lines = [
            f"{self.workload}: {self.requested_calls} calls as {self.username} ({self.auth}) from {self.source_ip}"
        ]
        if self.login_error is not None:
            lines.append(
                f"  login failed: {self.login_error.error_code}: {self.login_error.message}"
            )
        for op, c in sorted(self.counts.items()):
            lines.append(
                f"  {op:<7} ok {c['ok']:>5}  failed {c['failed']:>5}  skipped {c['skipped']:>4}"
            )
        shown: set[tuple[str, str, str | None]] = set()
        for f in self.failures:
            key = (f.object, f.operation, f.error_code)
            if key not in shown:
                shown.add(key)
                lines.append(f"  ! {f.operation} {f.object}: {f.error_code}: {f.message}")
        return "\n".join(lines)


class LoginFailed(Exception):
    """The workload's login was refused (the flow's real error code and description)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# ---------------------------------------------------------------------- credentials


def credential_file(credentials_dir: Path, workload: str) -> Path:
    """The credential source of a workload, as the emulator writes it (server.py)."""
    return credentials_dir / f"{_slug(workload)}.json"


def read_credentials(credentials_dir: Path, workload: str) -> dict[str, Any]:
    path = credential_file(credentials_dir, workload)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoginFailed(
            "NO_CREDENTIALS", f"no credential source for {workload!r} at {path}"
        ) from None
    if not isinstance(data, dict):
        raise LoginFailed("NO_CREDENTIALS", f"{path} does not hold a JSON object")
    return data


# ---------------------------------------------------------------------- login


def _domain(creds: dict[str, Any], info: dict[str, Any]) -> str:
    """simple-salesforce's ``domain``: the My Domain host without ``.salesforce.com``."""
    host = str(creds.get("instance_host") or info["my_domain"])
    return host.removesuffix(".salesforce.com")


def _require(creds: dict[str, Any], auth: str, *keys: str) -> list[str]:
    missing = [k for k in keys if not creds.get(k)]
    if missing:
        raise LoginFailed(
            "NO_CREDENTIALS",
            f"the credential source of a {auth} workload lacks {', '.join(missing)}",
        )
    return [str(creds[k]) for k in keys]


def login(
    info: dict[str, Any],
    creds: dict[str, Any],
    session: requests.Session,
    *,
    client_name: str | None = None,
) -> Salesforce:
    """Log in the way the credential source says. Raises LoginFailed with the real error."""
    auth = str(creds.get("auth") or "")
    version = str(info.get("api_version") or "59.0")
    try:
        if auth == "jwt_bearer":
            username, key, pem = _require(
                creds, auth, "username", "consumer_key", "private_key_pem"
            )
            return client.connect(
                info,
                session=session,
                version=version,
                username=username,
                consumer_key=key,
                privatekey=pem,
                domain=_domain(creds, info),
            )
        if auth == "client_credentials":
            key, secret = _require(creds, auth, "consumer_key", "consumer_secret")
            return client.connect(
                info,
                session=session,
                version=version,
                consumer_key=key,
                consumer_secret=secret,
                domain=_domain(creds, info),
            )
        if auth == "password":
            username, password, key, secret = _require(
                creds, auth, "username", "password", "consumer_key", "consumer_secret"
            )
            # The OAuth username-password flow takes the security token appended to the password.
            return client.connect(
                info,
                session=session,
                version=version,
                username=username,
                password=password + str(creds.get("security_token") or ""),
                consumer_key=key,
                consumer_secret=secret,
                domain=_domain(creds, info),
            )
        if auth == "soap_login":
            return _soap_login(info, creds, session, version, client_name)
        if auth == "refresh_token":
            return _refresh_token_login(info, creds, session, version)
    except SalesforceAuthenticationFailed as e:
        raise LoginFailed(str(e.code), str(e.auth_message)) from None
    except SalesforceError as e:
        code, message = _error_of(e)
        raise LoginFailed(code, message, e.status) from None
    raise LoginFailed("UNSUPPORTED_AUTH", f"the runner cannot log in with auth {auth!r}")


def _soap_login(
    info: dict[str, Any],
    creds: dict[str, Any],
    session: requests.Session,
    version: str,
    client_name: str | None,
) -> Salesforce:
    """SOAP login() as the workload's own client sends it. simple-salesforce would name
    itself in CallOptions ("simple-salesforce/<client_id>"); Data Loader sends its own name,
    and LoginHistory.Application shows exactly that."""
    username, password = _require(creds, "soap_login", "username", "password")
    secret = password + str(creds.get("security_token") or "")
    call_options = (
        f"<urn:CallOptions><urn:client>{escape(client_name)}</urn:client></urn:CallOptions>"
        if client_name
        else ""
    )
    envelope = (
        '<?xml version="1.0" encoding="utf-8" ?>'
        '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
        f"<env:Header>{call_options}</env:Header>"
        f"<env:Body><urn:login><urn:username>{escape(username)}</urn:username><urn:password>{escape(secret)}</urn:password></urn:login></env:Body>"
        "</env:Envelope>"
    )
    host = str(creds.get("instance_host") or info["my_domain"])
    resp = session.post(
        f"https://{host}/services/Soap/u/{version}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
        timeout=30,
    )
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError:
        raise LoginFailed(f"HTTP_{resp.status_code}", resp.text[:200], resp.status_code) from None
    texts = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    if resp.status_code != 200 or "sessionId" not in texts:
        code = (
            texts.get("exceptionCode")
            or texts.get("faultcode", f"HTTP_{resp.status_code}").rsplit(":", 1)[-1]
        )
        raise LoginFailed(
            code, texts.get("exceptionMessage") or texts.get("faultstring", ""), resp.status_code
        )
    return Salesforce(
        instance_url=texts["serverUrl"],
        session_id=texts["sessionId"],
        session=session,
        version=version,
    )


def _refresh_token_login(
    info: dict[str, Any], creds: dict[str, Any], session: requests.Session, version: str
) -> Salesforce:
    """simple-salesforce has no refresh-token login: POST the grant, then use the session."""
    (token,) = _require(creds, "refresh_token", "refresh_token")
    (key,) = _require(creds, "refresh_token", "consumer_key")
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": key}
    if creds.get("consumer_secret"):
        form["client_secret"] = str(creds["consumer_secret"])
    host = str(creds.get("instance_host") or info["my_domain"])
    resp = session.post(f"https://{host}/services/oauth2/token", data=form, timeout=30)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or "access_token" not in body:
        raise LoginFailed(
            str(body.get("error") or f"HTTP_{resp.status_code}"),
            str(body.get("error_description") or resp.text[:200]),
            resp.status_code,
        )
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=session,
        version=version,
    )


# ---------------------------------------------------------------------- values


class _Values:
    """Plausible field values, typed by the field definition (seeded, so runs repeat)."""

    _FIRST = (
        "Ava",
        "Ben",
        "Chen",
        "Diego",
        "Elena",
        "Farah",
        "Gus",
        "Hana",
        "Ivan",
        "Jade",
        "Kofi",
        "Lena",
    )
    _LAST = (
        "Alvarez",
        "Brennan",
        "Cho",
        "Dumont",
        "Eriksen",
        "Fofana",
        "Garcia",
        "Haddad",
        "Ito",
        "Jensen",
    )
    _COMPANIES = (
        "Harbor Goods",
        "Prairie Foods",
        "Vector Parts",
        "Orchard Retail",
        "Keystone Supply",
        "Tidewater Imports",
    )
    _CITIES = (
        ("Columbus", "United States"),
        ("Atlanta", "United States"),
        ("Toronto", "Canada"),
        ("Denver", "United States"),
    )
    _TITLES = (
        "Logistics Manager",
        "Buyer",
        "Supply Chain Analyst",
        "Warehouse Lead",
        "Procurement Director",
    )

    def __init__(self, rng: random.Random, workload: str, today: date) -> None:
        self.rng = rng
        self.workload = workload
        self.today = today
        self.n = 0

    def unique(self, prefix: str = "") -> str:
        # External ids must not collide with earlier runs: random, not seeded.
        return f"{prefix}{uuid.uuid4().hex[:12].upper()}"

    def value(self, obj: ObjectDef, fdef: FieldDef) -> Any:
        self.n += 1
        r, name = self.rng, fdef.name
        if fdef.external_id:
            return self.unique(name.split("_")[0][:4].upper() + "-")
        if fdef.type == "picklist":
            choices = [v for v in fdef.picklist_values if "Converted" not in v] or list(
                fdef.picklist_values
            )
            if obj.name == "Order" and name == "Status":
                return "Activated"  # orders only move forward from Draft
            return r.choice(choices) if choices else None
        if fdef.type == "boolean":
            return r.random() < (0.2 if "OptedOut" in name else 0.8)
        if fdef.type == "date":
            return (self.today + timedelta(days=r.randint(0, 30))).isoformat()
        if fdef.type == "datetime":
            return f"{self.today.isoformat()}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00.000+0000"
        if fdef.type in ("double", "int"):
            return r.randint(1, 40) if name == "Quantity" else r.randint(10, 5000)
        if fdef.type == "currency":
            return round(r.uniform(50, 5000), 2)
        if fdef.type == "percent":
            return r.choice([10, 25, 50, 75, 90])
        if fdef.type == "email":
            return f"{r.choice(self._FIRST)}.{r.choice(self._LAST)}{self.n}@example.com".lower()
        if fdef.type == "phone":
            return f"(555) 555-{r.randint(1000, 9999)}"
        if fdef.type == "url":
            return "https://www.example.com"
        return self._text(obj, fdef)

    def _text(self, obj: ObjectDef, fdef: FieldDef) -> str:
        r, name = self.rng, fdef.name
        if name == "FirstName":
            return r.choice(self._FIRST)
        if name == "LastName":
            return r.choice(self._LAST)
        if name in ("Company", "Name") and obj.name in ("Account", "Lead"):
            return f"{r.choice(self._COMPANIES)} {r.randint(100, 999)}"
        if name == "Name" and obj.name == "Opportunity":
            return (
                f"{r.choice(self._COMPANIES)} - {r.choice(('Peak Season', 'New Lanes', 'Renewal'))}"
            )
        if name == "Name" and obj.name == "Product2":
            return (
                f"{r.choice(('LTL', 'FTL', 'Parcel', 'Cross-dock'))} Service {r.randint(100, 999)}"
            )
        if name.endswith("City"):
            return r.choice(self._CITIES)[0]
        if name.endswith("Country"):
            return r.choice(self._CITIES)[1]
        if name == "Title":
            return r.choice(self._TITLES)
        if name == "PoNumber":
            return f"PO-{r.randint(10000, 99999)}"
        if name in ("ProductCode", "StockKeepingUnit", "AccountNumber"):
            return f"{r.randint(100000, 999999)}"
        if name == "Subject":
            return r.choice(
                ("Delivery delayed", "Damaged freight", "Missing paperwork", "Address change")
            )
        text = f"{self.workload} #{r.randint(1000, 9999)}"
        return text[: fdef.length] if fdef.length else text


# ---------------------------------------------------------------------- the runner


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
        values: _Values,
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

    # -- one call of the mix

    def do(self, index: int, call: Call) -> None:
        obj = self.schema.get(call.object)
        name = obj.name if obj else call.object
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
        """Make one call; a refresh-token session re-grants once when it expired."""
        for attempt in (0, 1):
            try:
                rid = fn()
                return CallOutcome(
                    index, obj, op, ok=True, record_id=rid or record_id, lookup=lookup
                )
            except SalesforceError as e:
                code, message = _error_of(e)
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


def _error_of(e: SalesforceError) -> tuple[str, str]:
    """Salesforce's errorCode and message from simple-salesforce's exception content."""
    content = e.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or type(e).__name__), str(
            content[0].get("message") or ""
        )
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or type(e).__name__), str(
            content.get("message") or content.get("error_description") or ""
        )
    return type(e).__name__, str(content)[:300]


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


def _session(info: dict[str, Any], workload: Workload, source_ip: str) -> requests.Session:
    session = client.session_for(info)
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
) -> WorkloadResult:
    """Log in as the workload's credential source says and make ``calls`` calls of its mix."""
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
    with _session(info, workload, source_ip) as session:
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

        def relogin() -> Salesforce:
            # Sessions from a token fetched here (refresh token, SOAP login()) get no automatic
            # re-login from simple-salesforce; its own login flows re-log in by themselves.
            return login(
                info, read_credentials(cdir, name), session, client_name=workload.client_name
            )

        values = _Values(rng, name, scenario.org.start.date())
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


# ---------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.salesforce.workloads",
        description="Run scenario workloads against a running emulator.",
    )
    parser.add_argument("--info", required=True, type=Path, help="the emulator's --info JSON file")
    parser.add_argument(
        "--scenario",
        required=True,
        type=Path,
        help="the scenario YAML the emulator was started with",
    )
    parser.add_argument(
        "--workload", action="append", help="a workload name (repeatable; default: all)"
    )
    parser.add_argument("--calls", type=int, default=20, help="calls per workload (default 20)")
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        default=None,
        help="default: the info file's credentials_dir",
    )
    args = parser.parse_args(argv)
    info = json.loads(args.info.read_text())
    scenario = load_scenario(args.scenario)
    names = args.workload or [w.name for w in scenario.workloads]
    failed = False
    for name in names:
        try:
            result = run_workload(
                info, scenario, name, calls=args.calls, credentials_dir=args.credentials_dir
            )
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(result.summary())
        failed |= not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
