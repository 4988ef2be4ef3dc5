"""Discovery runs and their findings, kept so a report can say what is new since the
last run. A finding is stored as its JSON: the model is the contract, not columns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from ..models import Finding
from . import tables as t


def save_run(
    conn: Connection, org: str, run_id: str, started: datetime, finished: datetime | None,
    api_calls: int, stats: dict[str, Any],
) -> None:  # fmt: skip
    r = t.runs.c
    conn.execute(delete(t.runs).where(r.org_id == org, r.run_id == run_id))
    conn.execute(
        insert(t.runs).values(
            org_id=org,
            run_id=run_id,
            started=started,
            finished=finished,
            api_calls=api_calls,
            stats=json.dumps(stats, default=str, sort_keys=True),
        )
    )


def save_findings(
    conn: Connection, org: str, run_id: str, findings: list[Finding], now: datetime
) -> None:
    """The run's findings, replacing any saved before for the same run."""
    f = t.findings.c
    conn.execute(delete(t.findings).where(f.org_id == org, f.run_id == run_id))
    rows = [
        {"org_id": org, "run_id": run_id, "finding_id": x.finding_id, "saved_at": now,
         "body": x.model_dump_json()}
        for x in {x.finding_id: x for x in findings}.values()
    ]  # fmt: skip
    if rows:
        conn.execute(insert(t.findings), rows)


def load_findings(conn: Connection, org: str, run_id: str) -> list[Finding]:
    f = t.findings.c
    query = select(f.body).where(f.org_id == org, f.run_id == run_id).order_by(f.finding_id)
    return [Finding.model_validate_json(body) for (body,) in conn.execute(query)]


def previous_finding_ids(conn: Connection, org: str, before_run_id: str) -> set[str]:
    """Finding ids of the latest run saved before ``before_run_id`` (of the latest run
    other than it, if it is not saved yet)."""
    f = t.findings.c
    mine = conn.execute(
        select(func.min(f.saved_at)).where(f.org_id == org, f.run_id == before_run_id)
    ).scalar()
    runs = select(f.run_id).where(f.org_id == org, f.run_id != before_run_id)
    if mine is not None:
        runs = runs.where(f.saved_at <= mine)
    last = conn.execute(
        runs.group_by(f.run_id).order_by(func.max(f.saved_at).desc(), f.run_id.desc()).limit(1)
    ).scalar()
    if last is None:
        return set()
    ids = select(f.finding_id).where(f.org_id == org, f.run_id == last)
    return set(conn.execute(ids).scalars())


def latest_run_id(conn: Connection, org: str) -> str | None:
    """The run whose findings were saved last (ties: the greatest run id)."""
    f = t.findings.c
    query = (
        select(f.run_id)
        .where(f.org_id == org)
        .group_by(f.run_id)
        .order_by(func.max(f.saved_at).desc(), f.run_id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def find_finding(conn: Connection, org: str, finding_id: str) -> Finding | None:
    """The finding as the latest run saw it; None when that run does not have it. An
    older run's finding is stale evidence: the integration may have changed or stopped."""
    run_id = latest_run_id(conn, org)
    if run_id is None:
        return None
    f = t.findings.c
    query = select(f.body).where(
        f.org_id == org, f.run_id == run_id, f.finding_id == finding_id.strip()
    )
    body = conn.execute(query).scalar()
    return None if body is None else Finding.model_validate_json(body)
