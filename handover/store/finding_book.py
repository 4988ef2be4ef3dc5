"""The findings as a person works through them: the latest discovery run's findings of
every org, found by a whole or a short id, and the ones a person dismissed (with why).

Reads need no org connection: `handover findings` and `handover dismiss` answer from the
store alone, in well under a second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select

from ..errors import ConfigError
from ..ids import norm_id
from ..models import Finding
from . import findings as runs
from . import tables as t
from .engine import Database, write_transaction


@dataclass(frozen=True)
class Dismissal:
    org_id: str
    finding_id: str
    reason: str
    dismissed_by: str
    dismissed_at: datetime


class FindingBook(Database):
    """``FindingBook(url)``: the latest findings, short ids, dismissals."""

    def orgs(self) -> list[str]:
        """Every org a discovery run saved findings for."""
        f = t.findings.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(f.org_id).distinct().order_by(f.org_id)).scalars())

    def latest(self, org_id: str | None = None) -> list[Finding]:
        """The findings of each org's latest discovery run (of ``org_id``'s only)."""
        orgs = [norm_id(org_id)] if org_id else self.orgs()
        found: list[Finding] = []
        with self.engine.connect() as conn:
            for org in orgs:
                run_id = runs.latest_run_id(conn, org)
                if run_id is not None:
                    found += runs.load_findings(conn, org, run_id)
        return found

    def resolve(self, finding_id: str) -> Finding:
        """The latest finding whose id is ``finding_id`` or starts with it (``f-b946``,
        ``b946``): a ConfigError naming the candidates when it is none or several."""
        wanted = finding_id.strip().lower()
        if not wanted.startswith("f-"):
            wanted = "f-" + wanted
        latest = self.latest()
        exact = [f for f in latest if f.finding_id == wanted]
        matches = exact or [f for f in latest if f.finding_id.startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ConfigError(
                f"no finding {finding_id!r} in the latest discovery runs: run discovery first "
                "(`handover discover`), then give an id `handover findings` lists"
            )
        ids = ", ".join(sorted(f.finding_id for f in matches)[:6])
        raise ConfigError(
            f"{finding_id!r} is the start of several findings ({ids}): give more of it"
        )

    def dismiss(self, finding: Finding, reason: str, by: str) -> Dismissal:
        """Set ``finding`` aside (again: the reason and time are replaced)."""
        if not reason.strip():
            raise ConfigError("say why with --reason TEXT: the next person will read it")
        row = Dismissal(
            norm_id(finding.org_id), finding.finding_id, reason.strip(), by, self.clock()
        )
        d = t.dismissals.c
        with write_transaction(self.engine) as conn:
            conn.execute(
                delete(t.dismissals).where(d.org_id == row.org_id, d.finding_id == row.finding_id)
            )
            conn.execute(insert(t.dismissals).values(**row.__dict__))
        return row

    def undismiss(self, finding: Finding) -> bool:
        d = t.dismissals.c
        with write_transaction(self.engine) as conn:
            gone = conn.execute(
                delete(t.dismissals).where(
                    d.org_id == norm_id(finding.org_id), d.finding_id == finding.finding_id
                )
            )
        return bool(gone.rowcount)

    def dismissed(self, org_id: str | None = None) -> dict[str, Dismissal]:
        """Dismissals by finding id (of one org, or every org)."""
        d = t.dismissals.c
        query = select(t.dismissals)
        if org_id is not None:
            query = query.where(d.org_id == norm_id(org_id))
        with self.engine.connect() as conn:
            return {
                r.finding_id: Dismissal(
                    r.org_id, r.finding_id, r.reason, r.dismissed_by, r.dismissed_at
                )
                for r in conn.execute(query)
            }
