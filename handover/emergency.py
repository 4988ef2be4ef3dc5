"""The emergency revoke: when a token leaks, cut off every OAuth token of an app (or of a
user), end the live sessions, optionally freeze, in seconds, and record what was done.

It runs where it is asked (``handover revoke``, the "Revoke now" button of the approval
service), never through a Prefect worker that may be busy or down: speed matters more
here than a flow run in the UI. Every write still goes through the migration's ledger
(``migration.apply``: claim, write, done), under a revoke id ``r-`` + 12 hex digits, so
``handover status`` lists it, a revoke that stopped half way runs again to the same end,
and the rotation after it (``rotation.py``) knows what it froze.

The revoke takes no lock: an open migration of the same app or user never delays it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from . import ids
from .audit.revocation import check_order, revoke_actions, still_open
from .errors import ConfigError
from .migration.apply import apply_actions
from .models.revoke import RevokedUser, RevokeOrder, RevokeReport
from .planning.canonical import content_hash
from .salesforce.gateway import SalesforceGateway
from .salesforce.provision import soql_literal
from .salesforce.revoke import HumanPaths
from .salesforce.writer import OrgWriter
from .store.ledger import Ledger, Opening, new_migration_id

REVOKE_FINDING = "emergency-revoke"  # the ledger's finding column for a revoke


def revoke(
    gateway: SalesforceGateway,
    ledger: Ledger,
    order: RevokeOrder,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RevokeReport:
    """Revoke what ``order`` names now; the report of what was done."""
    check_order(order)
    started, t0 = clock(), time.perf_counter()
    paths = HumanPaths(gateway)
    if order.app:
        tokens = paths.app_tokens(order.app)
        sessions = paths.app_sessions(order.app)
        session_users = sorted({str(s["UsersId"]) for s in sessions})
        ids_named: list[str] = []
    else:
        user_id = user_id_of(gateway, str(order.username))
        tokens = paths.tokens(user_id)
        session_users = [user_id]
        ids_named = [user_id]
    holders = {t.user_id for t in tokens} | set(session_users) | set(ids_named)
    usernames = usernames_of(gateway, holders)
    own = gateway.own_user_id()
    frozen = sorted(u for u in holders if order.freeze and not (own and ids.same_id(u, own)))
    actions = revoke_actions(order, tokens, session_users, usernames, frozen)
    revoke_id = new_migration_id(content_hash(order.model_dump(mode="json")), started, prefix="r")
    org_id = gateway.org_id()
    ledger.open(
        Opening(
            migration_id=revoke_id,
            finding_id=REVOKE_FINDING,
            org_id=org_id,
            app_key=f"revoke:{order.app or order.username}",
            app_name=order.app or f"every app of {order.username}",
            human_user_id=(ids_named or sorted(holders) or [own or org_id])[0],
            human_username=order.username or _several(usernames),
            plan_hash=revoke_id,
            locked=False,
        )
    )
    ledger.remember(revoke_id, order=order.model_dump(mode="json"))
    entries = apply_actions(actions, ledger.port(revoke_id), OrgWriter(gateway), dry_run=False)
    seconds = time.perf_counter() - t0
    users = [
        RevokedUser(
            user_id=uid,
            username=usernames.get(uid, uid),
            tokens=sum(1 for t in tokens if ids.same_id(t.user_id, uid)),
            sessions=sum(
                len(e.record_ids)
                for e in entries
                if e.write.object == "AuthSession" and ids.same_id(e.write.match["UsersId"], uid)
            ),
            frozen=uid in frozen,
        )
        for uid in sorted(holders)
    ]
    report = RevokeReport(
        revoke_id=revoke_id,
        org_id=org_id,
        order=order,
        users=users,
        tokens_revoked=len(tokens),
        sessions_ended=sum(u.sessions for u in users),
        started_at=started,
        seconds=round(seconds, 3),
        notes=still_open(order, bool(frozen)),
    )
    ledger.remember(revoke_id, report=report.as_json())
    summary = (
        f"{report.tokens_revoked} tokens revoked, {report.sessions_ended} sessions ended"
        + (f", {len(frozen)} users frozen" if frozen else "")
        + f" for {order.what()} by {order.requested_by}"
    )
    ledger.finish(revoke_id, "successful", summary)
    return report


def user_id_of(gateway: SalesforceGateway, username: str) -> str:
    rows = gateway.query_all(
        f"SELECT Id FROM User WHERE Username = {soql_literal(username)}",
        what=f"finding the user {username}",
    )
    if not rows:
        raise ConfigError(
            f"the org has no user {username!r}: give the exact username (as in Setup > Users)"
        )
    return ids.to18(str(rows[0]["Id"]))


def usernames_of(gateway: SalesforceGateway, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    listed = ", ".join(soql_literal(ids.to18(u)) for u in sorted(user_ids))
    rows = gateway.query_all(
        f"SELECT Id, Username FROM User WHERE Id IN ({listed})", what="reading the usernames"
    )
    by18 = {ids.to18(str(r["Id"])): str(r["Username"]) for r in rows}
    return {u: by18.get(ids.to18(u), u) for u in user_ids}


def _several(usernames: dict[str, str]) -> str:
    names = sorted(usernames.values())
    if not names:
        return "nobody (no token or session found)"
    return names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
