"""Plans saved by hash: every plan the plan flow makes, so that an approval binds to a
plan that can be read back exactly, and the migration applies nothing but a saved plan.

A plan's hash is re-checked whenever it is read: a saved plan whose content no longer
hashes to its key (edited in the database, or written by a release that hashed
differently) is refused with ``PlanIntegrityError``, never applied. Refusals
(``PlanRefusal``) are not plans and are not saved: there is nothing to approve or apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from ..errors import PlanIntegrityError, StoreError
from ..ids import norm_id
from ..models import AccessPlan
from ..planning.canonical import plan_hash
from . import tables as t
from .engine import Database, write_transaction

HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SavedPlan:
    """Where and when a plan was saved (the plan itself: ``PlanStore.load``)."""

    plan_hash: str
    org_id: str
    finding_id: str
    status: str
    first_saved_at: datetime
    saved_at: datetime


class PlanStore(Database):
    """``PlanStore(url)`` opens (and creates or migrates) the store's plans."""

    def save(self, plan: AccessPlan) -> SavedPlan:
        """Save ``plan`` under its hash. The same plan saved again (planning again from
        unchanged evidence) keeps its row and becomes the finding's latest."""
        _check_hash(plan.hash, plan)
        p = t.plans.c
        org, now = norm_id(plan.org_id), self.clock()
        body = plan.model_dump_json()
        with write_transaction(self.engine, org) as conn:
            first = conn.execute(select(p.first_saved_at).where(p.plan_hash == plan.hash)).scalar()
            if first is None:
                first = now
                conn.execute(
                    insert(t.plans).values(
                        plan_hash=plan.hash, org_id=org, finding_id=plan.finding_id,
                        status=plan.status, first_saved_at=now, saved_at=now, body=body,
                    )
                )  # fmt: skip
            else:
                conn.execute(
                    update(t.plans).where(p.plan_hash == plan.hash).values(saved_at=now, body=body)
                )
        return SavedPlan(plan.hash, org, plan.finding_id, plan.status, first, now)

    def load(self, plan_hash_: str) -> AccessPlan:
        """The plan saved under ``plan_hash_`` (the full 64-character hash), exactly as it
        was saved, its hash checked again."""
        wanted = plan_hash_.strip().lower()
        if not HASH.match(wanted):
            raise StoreError(
                f"{plan_hash_!r} is not a plan hash: give the full 64-character hash a plan "
                "prints (`handover plan --finding ID --json`, key `hash`)"
            )
        p = t.plans.c
        with self.engine.connect() as conn:
            body = conn.execute(select(p.body).where(p.plan_hash == wanted)).scalar()
        if body is None:
            raise StoreError(
                f"no saved plan {wanted[:12]}… in the store: only a plan made by "
                "`handover plan --finding ID` against this store can be applied; make it first"
            )
        return _verified(wanted, body)

    def latest(self, org_id: str | None, finding_id: str) -> AccessPlan | None:
        """The plan saved last for the finding (None: no plan was saved for it). Without
        an org: the finding's in any org (finding ids are drawn from the org's id)."""
        p = t.plans.c
        where = [p.finding_id == finding_id.strip()]
        if org_id is not None:
            where.append(p.org_id == norm_id(org_id))
        query = (
            select(p.plan_hash, p.body)
            .where(*where)
            .order_by(p.saved_at.desc(), p.plan_hash)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _verified(row.plan_hash, row.body)

    def saved(self, org_id: str, finding_id: str) -> list[SavedPlan]:
        """Every plan saved for the finding, the latest first."""
        p = t.plans.c
        query = (
            select(p.plan_hash, p.org_id, p.finding_id, p.status, p.first_saved_at, p.saved_at)
            .where(p.org_id == norm_id(org_id), p.finding_id == finding_id.strip())
            .order_by(p.saved_at.desc(), p.plan_hash)
        )
        with self.engine.connect() as conn:
            return [SavedPlan(*row) for row in conn.execute(query)]


def _check_hash(expected: str, plan: AccessPlan) -> None:
    actual = plan_hash(plan)
    if actual != expected or plan.hash != expected:
        raise PlanIntegrityError(
            f"plan {expected[:12]}… of finding {plan.finding_id} does not match its hash (its "
            f"content hashes to {actual[:12]}…): it was changed after it was made. Do not "
            f"apply it; make the plan again with `handover plan --finding {plan.finding_id}`."
        )


def _verified(expected: str, body: str) -> AccessPlan:
    try:
        plan = AccessPlan.model_validate_json(body)
    except ValidationError as exc:
        raise PlanIntegrityError(
            f"the saved plan {expected[:12]}… is no longer a valid plan "
            f"({exc.error_count()} problems, first: {exc.errors()[0]['msg']}): make the plan "
            "again with `handover plan --finding ID`"
        ) from None
    _check_hash(expected, plan)
    return plan
