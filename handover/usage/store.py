"""The usage store: what discovery runs ingest, kept per day, because Salesforce keeps the
free event logs for one day only.

Every write is one transaction. An event log file's aggregates and its ingested-file row
commit together, so a crash leaves nothing behind and a re-run adds nothing twice; the
LoginHistory aggregates and their cursor likewise. Snapshots (users, tokens, apps,
access) are replaced whole. Reads never hold the write lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..ids import norm_id
from ..models import (
    EventLogFileMeta,
    FieldEvidence,
    Finding,
    OperationEvidence,
    UsageProfile,
    UserInfo,
)
from ..store import findings
from ..store import tables as t
from ..store.engine import Database, write_transaction
from . import apievents, pair_reads, snapshots
from . import plan_evidence as evidence
from .coverage_records import history_began, read_coverage, upsert_coverage
from .csvsource import Source
from .loginhistory import aggregate_login_history
from .model import (
    Coverage,
    CoverageStatus,
    IngestResult,
    ParseResult,
)
from .parse import parse_event_log
from .plan_evidence import EvidenceCoverage
from .profiles import build_profiles
from .writes import (
    API_KEY,
    LOGIN_EVENT_KEY,
    LOGIN_HISTORY_KEY,
    counts_of,
    upsert_counts,
    upsert_sum,
)


class UsageStore(Database):
    """``UsageStore(url)`` opens (and creates or migrates) the store."""

    # ------------------------------------------------------------------ event log files

    def is_file_ingested(self, org_id: str, file_id: str) -> bool:
        with self.engine.connect() as conn:
            return _file_recorded(conn, norm_id(org_id), norm_id(file_id))

    def ingest_event_log(
        self, org_id: str, meta: EventLogFileMeta, path_or_stream: Source
    ) -> IngestResult:
        """Parse, aggregate and store one file, once. A file already recorded is not read."""
        org, file_id = norm_id(org_id), norm_id(meta.file_id)
        if self.is_file_ingested(org, file_id):
            return IngestResult(file_id, meta.event_type, meta.log_date, already_ingested=True)
        parsed = parse_event_log(meta.event_type, meta.log_date, path_or_stream)
        try:
            with write_transaction(self.engine, org) as conn:
                if _file_recorded(conn, org, file_id):  # ingested while we were parsing
                    return IngestResult(
                        file_id, meta.event_type, meta.log_date, already_ingested=True
                    )
                self._record_file(conn, org, file_id, meta, parsed)
                self._write_aggregates(conn, org, meta.event_type, parsed)
                note = f"file {file_id}" + (" (no parser)" if parsed.unknown_type else "")
                day, event_type = meta.log_date, meta.event_type
                upsert_coverage(conn, org, day, event_type, "ingested", note, self.clock())
        except IntegrityError:
            # Another process recorded the same file between our check and our commit.
            return IngestResult(file_id, meta.event_type, meta.log_date, already_ingested=True)
        return IngestResult(
            file_id,
            meta.event_type,
            meta.log_date,
            unknown_type=parsed.unknown_type,
            rows=parsed.rows,
            bad_rows=parsed.bad_rows,
            aggregates=len(parsed.api) + len(parsed.logins),
            source_ips=len(parsed.ips),
            field_rows=len(parsed.fields),
            unparsed_queries=parsed.unparsed_queries,
            missing_columns=tuple(parsed.missing_columns),
            days=tuple(parsed.days),
        )

    def _record_file(
        self, conn: Connection, org: str, file_id: str, meta: EventLogFileMeta, p: ParseResult
    ) -> None:
        notes = []
        if p.unknown_type:
            notes.append(f"no parser for event type {meta.event_type}")
        if p.missing_columns:
            notes.append("missing columns: " + ", ".join(p.missing_columns))
        conn.execute(
            insert(t.ingested_files).values(
                org_id=org,
                file_id=file_id,
                event_type=meta.event_type,
                log_date=meta.log_date,
                length=meta.length,
                status="unknown_type" if p.unknown_type else "ingested",
                rows=p.rows,
                bad_rows=p.bad_rows,
                aggregates=len(p.api) + len(p.logins),
                field_lists=p.field_lists,
                note="; ".join(notes),
                ingested_at=self.clock(),
            )
        )

    def _write_aggregates(
        self, conn: Connection, org: str, event_type: str, p: ParseResult
    ) -> None:
        api = [
            {
                "org_id": org,
                "event_type": event_type,
                "day": a.day,
                "user_id": a.user_id,
                "app_key": a.app_key,
                "client_name": a.client_name,
                "api_family": a.api_family,
                "entity": a.entity,
                "operation": a.operation,
                "status": a.status,
                "app_id": a.app_id,
                "app_name": a.app_name,
                "example": a.example,
                **counts_of(a),
            }
            for a in p.api.values()
        ]
        upsert_counts(conn, t.api_daily, api, API_KEY)
        logins = [
            {
                "org_id": org,
                "day": a.day,
                "user_id": a.user_id,
                "login_type": a.login_type,
                "login_sub_type": a.login_sub_type,
                "status": a.status,
                "api_type": a.api_type,
                **counts_of(a),
            }
            for a in p.logins.values()
        ]
        upsert_counts(conn, t.login_events_daily, logins, LOGIN_EVENT_KEY)
        ips = [
            {
                "org_id": org,
                "event_type": event_type,
                "day": d,
                "user_id": u,
                "app_key": k,
                "ip": ip,
                "calls": n,
            }
            for (d, u, k, ip), n in p.ips.items()
        ]
        upsert_sum(conn, t.api_source_ips, ips, "calls")
        fields = [
            {
                "org_id": org,
                "event_type": event_type,
                "day": d,
                "user_id": u,
                "app_key": k,
                "entity": e,
                "field": f,
                "access": a,
                "count": n,
                "example": p.field_examples.get((d, u, k, e, f, a), ""),
            }
            for (d, u, k, e, f, a), n in p.fields.items()
        ]
        upsert_sum(conn, t.field_usage, fields, "count")

    # ------------------------------------------------------------------ ApiEvent

    def ingest_api_events(
        self, org_id: str, day: date, rows: Iterable[dict[str, Any]]
    ) -> IngestResult:
        """One UTC day of ApiEvent (Real-Time Event Monitoring): the fields its queries
        read, once per day, with the day recorded as a file with field lists."""
        org, fid = norm_id(org_id), apievents.file_id(day)
        if self.is_api_event_day_ingested(org, day):
            return IngestResult(fid, apievents.EVENT_TYPE, day, already_ingested=True)
        c = t.connected_apps.c
        with self.engine.connect() as conn:
            names = conn.execute(select(c.name, c.app_id).where(c.org_id == org)).all()
        parsed = apievents.aggregate_api_events(rows, {n.lower(): a for n, a in names})
        meta = EventLogFileMeta(fid, apievents.EVENT_TYPE, day)
        result = ParseResult(
            event_type=apievents.EVENT_TYPE,
            fields=parsed.fields,
            field_examples=parsed.examples,
            field_lists=True,
            rows=parsed.rows,
            unparsed_queries=parsed.unparsed_queries,
            days=[day],
        )
        try:
            with write_transaction(self.engine, org) as conn:
                if _file_recorded(conn, org, fid):
                    return IngestResult(fid, apievents.EVENT_TYPE, day, already_ingested=True)
                self._record_file(conn, org, fid, meta, result)
                self._write_aggregates(conn, org, apievents.EVENT_TYPE, result)
                upsert_coverage(
                    conn, org, day, apievents.EVENT_TYPE, "ingested", "ApiEvent (SOQL)",
                    self.clock(),
                )  # fmt: skip
        except IntegrityError:
            return IngestResult(fid, apievents.EVENT_TYPE, day, already_ingested=True)
        return IngestResult(
            fid, apievents.EVENT_TYPE, day, rows=parsed.rows, field_rows=len(parsed.fields),
            unparsed_queries=parsed.unparsed_queries, days=(day,),
        )  # fmt: skip

    def is_api_event_day_ingested(self, org_id: str, day: date) -> bool:
        with self.engine.connect() as conn:
            return _file_recorded(conn, norm_id(org_id), apievents.file_id(day))

    # ------------------------------------------------------------------ coverage

    def record_coverage(
        self, org_id: str, day: date, event_type: str, status: CoverageStatus | str, note: str = ""
    ) -> None:
        """Record what a run found for (day, event type): "ingested", "gap" (the file was
        due but is gone: a missed run) or "empty" (no events that day). A gap or empty
        never overwrites an ingested day."""
        with write_transaction(self.engine, norm_id(org_id)) as conn:
            upsert_coverage(conn, norm_id(org_id), day, event_type, status, note, self.clock())

    def coverage(self, org_id: str, start: date, end: date) -> Coverage:
        with self.engine.connect() as conn:
            return read_coverage(conn, norm_id(org_id), start, end)

    def history_began(self, org_id: str) -> date | None:
        """The first day the store holds logs for (None before the first run): days before
        it are before history, never gaps."""
        with self.engine.connect() as conn:
            return history_began(conn, norm_id(org_id))

    # ------------------------------------------------------------------ LoginHistory

    def login_history_cursor(self, org_id: str) -> datetime | None:
        c = t.login_history_cursor.c
        with self.engine.connect() as conn:
            row = conn.execute(select(c.last_login_time).where(c.org_id == norm_id(org_id))).first()
        return row[0] if row else None

    def ingest_login_history(self, org_id: str, rows: Iterable[dict[str, Any]]) -> int:
        """Aggregate LoginHistory rows newer than the org's cursor; returns how many were
        taken. Cursor and aggregates commit together, under the write lock, so two
        processes cannot count the same rows."""
        org = norm_id(org_id)
        c = t.login_history_cursor.c
        with write_transaction(self.engine, org) as conn:
            row = conn.execute(select(c.last_login_time).where(c.org_id == org)).first()
            cursor = row[0] if row else None
            aggs, taken, newest = aggregate_login_history(rows, cursor)
            if not taken or newest is None:
                return 0
            payload = [{"org_id": org, **key, **counts_of(agg)} for key, agg in aggs]
            upsert_counts(conn, t.login_history_daily, payload, LOGIN_HISTORY_KEY)
            table = t.login_history_cursor
            conn.execute(delete(table).where(c.org_id == org))
            conn.execute(insert(table).values(org_id=org, last_login_time=newest))
        return taken

    # ------------------------------------------------------------------ snapshots

    def snapshot_users(self, org_id: str, users: list[UserInfo]) -> None:
        self._replace(t.users, org_id, snapshots.user_rows(users))

    def snapshot_oauth_tokens(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        """OauthToken rows: UserId, AppName, UseCount, LastUsedDate, CreatedDate and
        AppMenuItem.ApplicationId."""
        self._replace(t.oauth_tokens, org_id, snapshots.token_rows(rows))

    def snapshot_connected_apps(self, org_id: str, apps: list[dict[str, Any]]) -> None:
        """ConnectedApplication rows: Id, Name, OptionsAllowAdminApprovedUsersOnly."""
        self._replace(t.connected_apps, org_id, snapshots.app_rows(apps))

    def snapshot_app_access(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        """SetupEntityAccess rows: SetupEntityId, ParentId, Parent.IsOwnedByProfile,
        Parent.ProfileId."""
        self._replace(t.app_access, org_id, snapshots.access_rows(rows))

    def snapshot_assignments(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        """PermissionSetAssignment rows: AssigneeId, PermissionSetId, PermissionSet.Name,
        PermissionSet.IsOwnedByProfile."""
        self._replace(t.assignments, org_id, snapshots.assignment_rows(rows))

    def _replace(self, table: Table, org_id: str, rows: list[dict[str, Any]]) -> None:
        org = norm_id(org_id)
        with write_transaction(self.engine, org) as conn:
            conn.execute(delete(table).where(table.c.org_id == org))
            if rows:
                now = self.clock()
                conn.execute(
                    insert(table), [{"org_id": org, **r, "snapshot_at": now} for r in rows]
                )

    # ------------------------------------------------------------------ reading usage

    def profiles(
        self,
        org_id: str,
        window_start: date,
        window_end: date,
        *,
        login_window_days: int = 180,
        own_user_id: str | None = None,
    ) -> list[UsageProfile]:
        """One profile per (user, app or client) pair with API traffic in the window, its
        logins over ``login_window_days`` of login history; ``own_user_id``: the user
        handover connects as (its own calls are marked, never judged)."""
        org = norm_id(org_id)
        with self.engine.connect() as conn:
            cov = read_coverage(conn, org, window_start, window_end)
            return build_profiles(
                conn, org_id, org, window_start, window_end, cov,
                login_window_days=login_window_days,
                own_user_id=norm_id(own_user_id) if own_user_id else None,
            )  # fmt: skip

    def field_usage(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> dict[str, int]:
        """Fields read by the pair's queries in the window: "Account.Name" -> query calls."""
        f = t.field_usage.c
        query = (
            select(f.entity, f.field, func.sum(f.count))
            .where(
                f.org_id == norm_id(org_id),
                f.user_id == norm_id(user_id),
                f.app_key == app_key,
                f.day >= start,
                f.day <= end,
            )
            .group_by(f.entity, f.field)
        )
        with self.engine.connect() as conn:
            return {f"{e}.{name}": int(n) for e, name, n in conn.execute(query)}

    # ------------------------------------------------------------------ evidence for plans
    # One (user, app) pair over a window; see plan_evidence.py for what counts.

    def operation_evidence(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> list[OperationEvidence]:
        """Successful calls per (object, operation): counts, first/last seen, an example."""
        with self.engine.connect() as conn:
            return evidence.operation_evidence(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def denied_operations(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> list[tuple[str, str, str, int]]:
        """Failed calls per (object, operation, status): the audit's denied calls."""
        with self.engine.connect() as conn:
            return evidence.denied_operations(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def latest_findings(self, org_id: str) -> list[Finding]:
        """The findings of the latest discovery run (none: no run yet)."""
        with self.engine.connect() as conn:
            run_id = findings.latest_run_id(conn, norm_id(org_id))
            return findings.load_findings(conn, norm_id(org_id), run_id) if run_id else []

    def other_operations(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> dict[str, int]:
        """Successful calls no object permission can be planned from ("search", ...)."""
        with self.engine.connect() as conn:
            return evidence.other_operations(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def field_evidence(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> list[FieldEvidence]:
        """Fields read by the pair's queries (from query texts), per (field, access)."""
        with self.engine.connect() as conn:
            return evidence.field_evidence(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def field_evidence_available(self, org_id: str, start: date, end: date) -> bool:
        """Whether files with query text (a QUERY column) were ingested for the window."""
        with self.engine.connect() as conn:
            return evidence.field_evidence_available(conn, norm_id(org_id), start, end)

    def calls_by_day(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> dict[date, int]:
        with self.engine.connect() as conn:
            return evidence.calls_by_day(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def evidence_coverage(self, org_id: str, start: date, end: date) -> EvidenceCoverage:
        """Observed, gap and unrecorded days of the window, clipped to the store's history."""
        with self.engine.connect() as conn:
            return evidence.evidence_coverage(conn, norm_id(org_id), start, end)

    # ------------------------------------------------------------------ the migration's reads
    # One (user, app) pair; see pair_reads.py.

    def login_kinds(
        self,
        org_id: str,
        user_id: str,
        app_names: list[str],
        app_id: str | None,
        start: date,
        end: date,
    ) -> pair_reads.LoginKinds:
        """How the pair logged in over the window (the plan's cutover section)."""
        with self.engine.connect() as conn:
            return pair_reads.login_kinds(
                conn, norm_id(org_id), norm_id(user_id), app_names,
                norm_id(app_id) if app_id else None, start, end,
            )  # fmt: skip

    def window_traffic(
        self, org_id: str, user_id: str, app_key: str, start: datetime, end: datetime
    ) -> pair_reads.WindowTraffic:
        """The pair's calls in the whole hours of [start, end) (verification)."""
        with self.engine.connect() as conn:
            return pair_reads.window_traffic(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    def account_activity(
        self, org_id: str, user_id: str, app_key: str, start: date, end: date
    ) -> pair_reads.AccountActivity:
        """What the user's account did besides the app (decommission eligibility)."""
        with self.engine.connect() as conn:
            return pair_reads.account_activity(
                conn, norm_id(org_id), norm_id(user_id), app_key, start, end
            )

    # ------------------------------------------------------------------ runs and findings

    def find_finding(self, org_id: str, finding_id: str) -> Finding | None:
        """The finding as the latest discovery run saved it (None: that run has no such
        finding, or there has been no run)."""
        with self.engine.connect() as conn:
            return findings.find_finding(conn, norm_id(org_id), finding_id)

    def save_run(
        self, org_id: str, run_id: str, started: datetime, finished: datetime | None,
        api_calls: int, stats: dict[str, Any],
    ) -> None:  # fmt: skip
        """A discovery run (re-saving the same run id replaces it)."""
        with write_transaction(self.engine, norm_id(org_id)) as conn:
            findings.save_run(conn, norm_id(org_id), run_id, started, finished, api_calls, stats)

    def save_findings(self, org_id: str, run_id: str, found: list[Finding]) -> None:
        """The run's findings (JSON), replacing any saved before for the same run."""
        with write_transaction(self.engine, norm_id(org_id)) as conn:
            findings.save_findings(conn, norm_id(org_id), run_id, found, self.clock())

    def load_findings(self, org_id: str, run_id: str) -> list[Finding]:
        with self.engine.connect() as conn:
            return findings.load_findings(conn, norm_id(org_id), run_id)

    def previous_finding_ids(self, org_id: str, before_run_id: str) -> set[str]:
        """Finding ids of the latest run saved before ``before_run_id`` (the latest run
        but it, if it is not saved yet): what "new since the last run" compares against."""
        with self.engine.connect() as conn:
            return findings.previous_finding_ids(conn, norm_id(org_id), before_run_id)


def _file_recorded(conn: Connection, org: str, file_id: str) -> bool:
    f = t.ingested_files.c
    query = select(f.file_id).where(f.org_id == org, f.file_id == file_id)
    return conn.execute(query).first() is not None
