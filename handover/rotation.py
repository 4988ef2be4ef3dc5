"""Rotation after an emergency revoke: new credentials for the integration, handed over
through its credential sink, then the migration's live login check to show it is back.

What is renewed follows how the integration logs in (LoginHistory through the app, read
with the planner's own labels, ``planning.cutover.auth_pattern_of``):

| logs in with        | renewed                                                        |
|---------------------|----------------------------------------------------------------|
| JWT bearer          | a new key pair: its certificate on the connected app (Metadata |
|                     | API), the private key to the sink (``private_key_pem``)        |
| client credentials  | a new consumer secret on the app, and to the sink              |
| username-password,  | a new password on the user (``/sobjects/User/{id}/password``), |
| SOAP login()        | and to the sink (``password``)                                 |

Certificate and secret go to the org first: from that moment the leaked ones are dead.
Then the sink, then the users the revoke froze are unfrozen. Every write is a ledger
action under the revoke's id (step ``rotate``), so a rotation that stopped half way runs
again to the same end; the new secrets are generated once and kept in the sink's own
secret document (a re-run hands over the same ones), never in the ledger.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from . import ids
from .credentials import CredentialSink, SecretDocument
from .datetimes import soql_datetime
from .errors import ConfigError, MigrationError
from .migration.actions import set_password_action
from .migration.apply import Router, apply_actions
from .models.migration import SECRET_PLACEHOLDER, Observed, WriteAction
from .models.revoke import RotationKind, RotationReport
from .planning.cutover import auth_pattern_of
from .salesforce.gateway import SalesforceGateway, soql_quote
from .salesforce.metadata import ConnectedApps
from .salesforce.traffic import app_logins
from .salesforce.writer import OrgWriter
from .store.ledger import Ledger

KIND_OF_PATTERN: dict[str, RotationKind] = {
    "jwt_bearer": "certificate",
    "client_credentials": "client_secret",
    "username_password": "password",
    "soap_login": "password",
}
SINK_KEY: dict[RotationKind, str] = {
    "certificate": "private_key_pem",
    "client_secret": "consumer_secret",
    "password": "password",
}
LOOKBACK = timedelta(days=7)  # how far back LoginHistory tells how the integration logs in


@dataclass(frozen=True)
class Integration:
    """Who the integration logs in as through the app, and how."""

    app_name: str
    user_id: str
    username: str
    kinds: tuple[RotationKind, ...]


def integration_of(
    gateway: SalesforceGateway, app_name: str, username: str | None = None
) -> Integration:
    """The user logging in through ``app_name`` with a credential that can be renewed (a
    refresh token cannot: its user must authorize the app again)."""
    since = gateway.org_now(refresh=True) - LOOKBACK
    where = f"LoginTime >= {soql_datetime(since)}"
    if username:
        where += f" AND UserId IN (SELECT Id FROM User WHERE Username = '{soql_quote(username)}')"
    rows = gateway.query_all(
        f"SELECT UserId, Application, LoginType, LoginSubType, Status FROM LoginHistory WHERE {where}",
        what=f"reading how {app_name} logs in (LoginHistory)",
    )
    seen: dict[str, set[RotationKind]] = {}
    for r in rows:
        if str(r.get("Application") or "").casefold() != app_name.casefold():
            continue
        pattern = auth_pattern_of(f"{r.get('LoginType') or ''}|{r.get('LoginSubType') or ''}")
        if pattern in KIND_OF_PATTERN:
            seen.setdefault(ids.to18(str(r["UserId"])), set()).add(KIND_OF_PATTERN[pattern])
    if not seen:
        raise ConfigError(
            f"nobody logged in through {app_name} with a JWT key, a password or a client "
            f"secret in the last {LOOKBACK.days} days: there is no credential handover can "
            "renew. An integration on a refresh token needs its user to authorize the app "
            "again (a person must consent)."
        )
    if len(seen) > 1:
        raise ConfigError(
            f"{len(seen)} users log in through {app_name} with renewable credentials: name "
            "the integration's user with --rotate-user USERNAME"
        )
    (user_id, kinds) = next(iter(seen.items()))
    rows = gateway.query_all(
        f"SELECT Username FROM User WHERE Id = '{user_id}'", what="reading the user's name"
    )
    return Integration(
        app_name=app_name,
        user_id=user_id,
        username=str(rows[0]["Username"]) if rows else user_id,
        kinds=tuple(sorted(kinds)),
    )


# ---------------------------------------------------------------------- the new secrets


class NewSecrets:
    """The rotation's new secrets, made once and kept in a secret document (so a re-run
    hands over the same ones, and the certificate matches the key)."""

    def __init__(self, document: SecretDocument) -> None:
        self.document = document

    def _kept(self, name: str, make: Callable[[], dict[str, str]]) -> dict[str, str]:
        kept = self.document.read() or {}
        if name not in kept:
            kept = {**kept, name: make()}
            self.document.write(kept)  # kept before it is used anywhere
        return dict(kept[name])

    def key_pair(self, common_name: str) -> dict[str, str]:
        return self._kept("rotate:key-pair", lambda: _key_pair(common_name))

    def password(self) -> str:
        return self._kept("rotate:password", lambda: {"value": _secret(24) + "7a!"})["value"]

    def client_secret(self) -> str:
        return self._kept("rotate:client-secret", lambda: {"value": _secret(64)})["value"]

    def value_for(self, sink_key: str) -> str | None:
        """What the sink writes under ``sink_key`` (None: not a rotation secret)."""
        kept = self.document.read() or {}
        if sink_key == "private_key_pem" and "rotate:key-pair" in kept:
            return str(kept["rotate:key-pair"]["private_key_pem"])
        if sink_key == "consumer_secret" and "rotate:client-secret" in kept:
            return str(kept["rotate:client-secret"]["value"])
        if sink_key == "password" and "rotate:password" in kept:
            return str(kept["rotate:password"]["value"])
        return None


def _secret(n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _key_pair(common_name: str) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    return {
        "private_key_pem": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


def fingerprint(certificate_pem: str | None) -> str | None:
    """How a certificate is named in the ledger (it is public, but long)."""
    if not certificate_pem:
        return None
    return hashlib.sha256(certificate_pem.strip().encode()).hexdigest()[:16]


class AppCredentials:
    """The ``OrgPort`` of a connected app's certificate and consumer secret."""

    def __init__(self, gateway: SalesforceGateway, new: NewSecrets) -> None:
        self.apps = ConnectedApps(gateway)
        self.new = new

    def probe(self, action: WriteAction) -> Observed:
        if action.object == "ConnectedAppCertificate":
            return Observed(
                state={"certificate": fingerprint(self.apps.certificate(action.target))}
            )
        return Observed(state={})  # the secret is write-only: never read back

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        if action.object == "ConnectedAppCertificate":
            pair = self.new.key_pair(action.target)
            self.apps.set_certificate(action.target, pair["certificate_pem"])
        else:
            self.apps.set_consumer_secret(action.target, self.new.client_secret())
        return []


# ---------------------------------------------------------------------- the rotation


def rotation_actions(
    integration: Integration, new: NewSecrets, sink: CredentialSink, unfreeze: list[str]
) -> list[WriteAction]:
    app, user = integration.app_name, integration.username
    actions: list[WriteAction] = []
    handed: dict[str, Any] = {}
    for kind in integration.kinds:
        if kind == "certificate":
            pair = new.key_pair(app)
            actions.append(
                WriteAction(
                    step="rotate",
                    key="rotate:certificate",
                    action="update",
                    object="ConnectedAppCertificate",
                    target=app,
                    match={"name": app},
                    after={"certificate": fingerprint(pair["certificate_pem"])},
                )
            )
        elif kind == "client_secret":
            new.client_secret()
            actions.append(
                WriteAction(
                    step="rotate",
                    key="rotate:client-secret",
                    # A write-only secret, like a password: never read back or compared.
                    action="set_password",
                    object="ConnectedAppSecret",
                    target=app,
                    match={"name": app},
                    after={"consumerSecret": SECRET_PLACEHOLDER},
                )
            )
        else:
            new.password()
            actions.append(set_password_action("rotate", "rotate:password", user))
        handed[SINK_KEY[kind]] = SECRET_PLACEHOLDER
    actions.append(
        WriteAction(
            step="rotate",
            key="rotate:credentials",
            action="set_password",  # new secrets under the same username: always written
            object="Credentials",
            target=f"{app} credentials ({sink.kind}: {sink.where})",
            match={"sink": sink.kind, "app": app},
            after={"username": user, **handed},
        )
    )
    actions += [
        WriteAction(
            step="rotate",
            key=f"rotate:unfreeze:{uid}",
            action="update",
            object="UserLogin",
            target=user,
            match={"UserId": uid},
            after={"IsFrozen": False},
        )
        for uid in unfreeze
    ]
    return actions


def rotate(
    gateway: SalesforceGateway,
    ledger: Ledger,
    revoke_id: str,
    integration: Integration,
    sink: CredentialSink,
) -> RotationReport:
    """Renew the integration's credentials under the revoke ``revoke_id``; the users that
    revoke froze are unfrozen once the new credentials are in place."""
    status = ledger.migration(revoke_id)
    if status is None or not revoke_id.startswith("r-"):
        raise MigrationError(
            f"{revoke_id} is not an emergency revoke in the store: rotate after `handover "
            "revoke` (its report names the revoke id)"
        )
    new = NewSecrets(sink.passwords.document)
    sink.secret_values = new.value_for
    frozen = [
        str(e.write.match["UserId"])
        for e in ledger.steps(revoke_id)
        if e.key.startswith("revoke:freeze:") and e.status == "done"
    ]
    unfreeze = [u for u in frozen if ids.same_id(u, integration.user_id)]
    actions = rotation_actions(integration, new, sink, unfreeze)
    org = Router(
        OrgWriter(gateway, passwords=lambda _key: new.password()),
        {
            "Credentials": sink,
            "ConnectedAppCertificate": AppCredentials(gateway, new),
            "ConnectedAppSecret": AppCredentials(gateway, new),
        },
    )
    apply_actions(actions, ledger.port(revoke_id), org, dry_run=False)
    rotated_at = gateway.org_now(refresh=True)
    report = RotationReport(
        revoke_id=revoke_id,
        app_name=integration.app_name,
        username=integration.username,
        kinds=list(integration.kinds),
        sink=f"{sink.kind}: {sink.where}",
        unfrozen=bool(unfreeze),
    )
    ledger.remember(
        revoke_id, rotation={**report.model_dump(mode="json"), "at": rotated_at.isoformat()}
    )
    sink.forget()  # nothing will be rolled back: the old credentials must not be kept
    return report


def check_back(gateway: SalesforceGateway, ledger: Ledger, revoke_id: str) -> RotationReport:
    """The migration's live login check since the rotation: the integration's user logged
    in through the app (LoginHistory, as the verification reads it). Logins refused since
    are named, not held against it: the leaked credentials being tried look like that."""
    facts = ledger.facts(revoke_id)
    known = facts.get("rotation")
    if not known:
        raise MigrationError(f"{revoke_id} has no rotation yet: rotate first (--rotate)")
    at = datetime.fromisoformat(str(known.pop("at")))
    report = RotationReport.model_validate({k: v for k, v in known.items() if k != "back"})
    now = gateway.org_now(refresh=True)
    user_id = _user_id(gateway, report.username)
    ok = app_logins(gateway, [user_id], [report.app_name], at, now).get(user_id, 0)
    failed = _failed_logins(gateway, user_id, report.app_name, at)
    reasons = [
        f"{ok} successful logins of {report.username} through {report.app_name} since the "
        f"rotation at {at.isoformat(timespec='seconds')} (org time)"
    ]
    if failed:
        reasons.append(
            f"{sum(failed.values())} logins refused since the rotation ("
            + ", ".join(f"{n} {status}" for status, n in sorted(failed.items()))
            + "): the old credentials may still be being tried; find out from where"
        )
    back = ok > 0
    if not ok:
        reasons.append("no login yet: the integration has not run since, or cannot log in")
    result = report.model_copy(update={"back": back, "reasons": reasons})
    ledger.remember(revoke_id, back={"back": back, "reasons": reasons, "at": now.isoformat()})
    return result


def _user_id(gateway: SalesforceGateway, username: str) -> str:
    rows = gateway.query_all(
        f"SELECT Id FROM User WHERE Username = '{soql_quote(username)}'", what="finding the user"
    )
    if not rows:
        raise ConfigError(f"the org has no user {username!r}")
    return ids.to18(str(rows[0]["Id"]))


def _failed_logins(
    gateway: SalesforceGateway, user_id: str, app_name: str, since: datetime
) -> Counter[str]:
    rows = gateway.query_all(
        f"SELECT Application, Status FROM LoginHistory WHERE UserId = '{user_id}' "
        f"AND LoginTime >= {soql_datetime(since)}",
        what="reading the logins since the rotation",
    )
    return Counter(
        str(r.get("Status"))
        for r in rows
        if r.get("Status") != "Success"
        and str(r.get("Application") or "").casefold() == app_name.casefold()
    )
