"""Event rows bucketed per (UTC day, event type), published as daily EventLogFile records.

Salesforce generates a daily file in the non-peak hours after the day (CreatedDate next day
02:00-04:00 UTC, LogDate the day at midnight), only for types that had at least one event,
and deletes it after the retention period. Here a bucket collects encoded CSV records while
its day is open, is compressed (zlib level 1) once the day is over, and is frozen when it is
published: from then on its bytes never change, so LogFileLength stays exact and every
download is identical.
"""

from __future__ import annotations

import heapq
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..ids import IdFactory
from .columns import COLUMNS, FREE_TYPES, PAID_TYPES, field_types
from .csvfmt import encode_api_call, encode_login, header
from .events import ApiCall, LoginEvent

_LEVEL = 1  # fast: a 30-day backfill compresses ~2.5 GB of CSV; level 6 saves only ~5 %


@dataclass(eq=False)
class _Bucket:
    day: date
    event_type: str
    pending: list[str] = field(default_factory=list)  # records not yet compressed
    blob: bytes = b""  # zlib stream of the sorted records compacted so far
    size: int = 0  # uncompressed length of `blob`
    rows: int = 0  # records in blob + pending
    file_id: str | None = None  # set when published (frozen)


def _split_records(text: str, event_type: str) -> list[str]:
    """Records of a body. A record starts with '"<type>","' right after a newline: inside a
    quoted value every quote is doubled, so that sequence cannot occur there."""
    if not text:
        return []
    prefix = '"' + event_type + '","'
    parts = text[:-1].split("\n" + prefix)
    return [parts[0] + "\n"] + [prefix + p + "\n" for p in parts[1:]]


class EventStore:
    def __init__(
        self,
        *,
        org_id: str,
        event_monitoring: bool,
        retention_days: int,
        ids: IdFactory,
        api_version: str = "59.0",
    ) -> None:
        self.org_id = org_id
        self.org15 = org_id[:15]
        self.event_monitoring = event_monitoring
        self.retention_days = retention_days
        self.api_version = api_version
        self.types = FREE_TYPES | PAID_TYPES if event_monitoring else FREE_TYPES
        self.late_events = 0  # records for a day whose file was already published (dropped)
        self._ids = ids
        self._lock = threading.Lock()
        self._buckets: dict[tuple[date, str], _Bucket] = {}
        self._by_id: dict[str, _Bucket] = {}
        self._latest_day: date | None = None
        self._last_now: datetime | None = None
        self._headers = {t: header(t) for t in COLUMNS}

    # ------------------------------------------------------------------ recording

    def record_api_call(self, call: ApiCall) -> None:
        records = encode_api_call(call, self.org15, paid=self.event_monitoring)
        day = call.timestamp.astimezone(UTC).date()
        with self._lock:
            for event_type, record in records:
                self._append(day, event_type, record)

    def record_login(self, event: LoginEvent) -> None:
        record = encode_login(event, self.org15)
        with self._lock:
            self._append(event.timestamp.astimezone(UTC).date(), "Login", record)

    def add_sorted_body(
        self, day: date, event_type: str, blob: bytes, size: int, rows: int
    ) -> None:
        """Adopt a day's records rendered elsewhere (the backfill): a zlib stream of
        LF-terminated records in time order, `size` bytes uncompressed."""
        if rows == 0 or event_type not in self.types:
            return
        with self._lock:
            bucket = self._buckets.get((day, event_type))
            if bucket is None:
                self._buckets[(day, event_type)] = _Bucket(
                    day, event_type, blob=blob, size=size, rows=rows
                )
            elif bucket.file_id is not None:
                self.late_events += rows
            else:
                text = zlib.decompress(blob).decode()
                bucket.pending.extend(_split_records(text, event_type))
                bucket.rows += rows
                self._compact(bucket)

    def add_records(self, day: date, event_type: str, records: list[str]) -> None:
        """Records encoded elsewhere (a live run's synthesized calls), in any order."""
        if not records or event_type not in self.types:
            return
        with self._lock:
            for record in records:
                self._append(day, event_type, record)

    def _append(self, day: date, event_type: str, record: str) -> None:
        bucket = self._buckets.get((day, event_type))
        if bucket is None:
            bucket = self._buckets[(day, event_type)] = _Bucket(day, event_type)
        elif bucket.file_id is not None:
            self.late_events += 1
            return
        bucket.pending.append(record)
        bucket.rows += 1
        if self._latest_day is None or day > self._latest_day:
            # A new day began: earlier days get no more events, so compress them now
            # rather than holding their records as Python strings until publication.
            self._latest_day = day
            for b in self._buckets.values():
                if b.day < day and b.pending and b.file_id is None:
                    self._compact(b)

    def _compact(self, bucket: _Bucket) -> None:
        records = sorted(bucket.pending)  # records start with type + timestamp: time order
        bucket.pending = []
        if bucket.blob:
            old = _split_records(zlib.decompress(bucket.blob).decode(), bucket.event_type)
            records = list(heapq.merge(old, records))
        body = "".join(records).encode()
        bucket.blob = zlib.compress(body, _LEVEL)
        bucket.size = len(body)

    # ------------------------------------------------------------------ publication

    @staticmethod
    def created_at(day: date, event_type: str) -> datetime:
        """When the daily file appears: the next day between 02:00 and 04:00 UTC."""
        offset = zlib.crc32(f"{day.isoformat()}|{event_type}".encode()) % 7200
        return datetime.combine(day + timedelta(days=1), time(2, 0), UTC) + timedelta(
            seconds=offset
        )

    def expires_at(self, day: date) -> datetime:
        """When a day's files disappear. Retention N keeps N daily files listed: the file of
        day D goes once D+N's file exists (after 04:00 on D+N+1), so there is never a gap."""
        return datetime.combine(day, time(0), UTC) + timedelta(
            days=self.retention_days + 1, hours=4
        )

    def retained(self, day: date, now: datetime) -> bool:
        return self.expires_at(day) > now

    def published_files(self, now: datetime) -> list[dict[str, Any]]:
        """The EventLogFile rows visible at `now`, oldest first."""
        with self._lock:
            self._note_now(now)
            for key, bucket in list(self._buckets.items()):
                if self.expires_at(bucket.day) <= now:
                    del self._buckets[key]
                    if bucket.file_id:
                        del self._by_id[bucket.file_id]
            due = [
                b
                for b in self._buckets.values()
                if b.file_id is None
                and b.event_type in self.types
                and self.created_at(b.day, b.event_type) <= now
            ]
            # Ids in (day, type) order whatever the order events arrived in: reruns agree.
            for bucket in sorted(due, key=lambda b: (b.day, b.event_type)):
                if bucket.pending:
                    self._compact(bucket)
                bucket.file_id = self._ids.new("0AT")
                self._by_id[bucket.file_id] = bucket
            published = sorted(self._by_id.values(), key=lambda b: (b.day, b.event_type))
            return [self._row(b) for b in published]

    def files_created(self, after: datetime, until: datetime) -> list[dict[str, Any]]:
        """The daily files that appeared in (after, until]: day, event type and rows."""
        self.published_files(until)
        with self._lock:
            return [
                {"day": b.day.isoformat(), "event_type": b.event_type, "rows": b.rows}
                for b in sorted(self._by_id.values(), key=lambda b: (b.day, b.event_type))
                if after < self.created_at(b.day, b.event_type) <= until
            ]

    def _row(self, bucket: _Bucket) -> dict[str, Any]:
        created = self.created_at(bucket.day, bucket.event_type)
        event_type = bucket.event_type
        return {
            "__type": "EventLogFile",
            "Id": bucket.file_id,
            "IsDeleted": False,
            "CreatedDate": created,
            "CreatedById": None,
            "LastModifiedDate": created,
            "LastModifiedById": None,
            "SystemModstamp": created,
            "EventType": event_type,
            "LogDate": datetime.combine(bucket.day, time(0), UTC),
            "LogFileLength": float(len(self._headers[event_type]) + bucket.size),
            "LogFileContentType": "CSV",
            "LogFileFieldNames": ",".join(COLUMNS[event_type]),
            "LogFileFieldTypes": ",".join(field_types(event_type)),
            "ApiVersion": float(self.api_version),
            "Interval": "Daily",
            "Sequence": 0,
            "LogFile": b"",  # fetched through content(): REST returns a relative URL here
        }

    def _note_now(self, now: datetime) -> None:
        if self._last_now is None or now > self._last_now:
            self._last_now = now

    def _published(self, file_id: str, now: datetime | None) -> _Bucket | None:
        with self._lock:
            if now is not None:
                self._note_now(now)
            bucket = self._by_id.get(file_id)
            moment = now or self._last_now
            if bucket is None or (moment is not None and self.expires_at(bucket.day) <= moment):
                return None
            return bucket

    def content(self, file_id: str, now: datetime | None = None) -> bytes | None:
        """The CSV bytes of a published file; None if unknown or expired (at `now`, or at the
        latest instant the store was asked about)."""
        bucket = self._published(file_id, now)
        if bucket is None:
            return None
        # A frozen bucket's blob never changes, so it can be read outside the lock.
        return self._headers[bucket.event_type] + zlib.decompress(bucket.blob)

    def iter_content(
        self, file_id: str, chunk_size: int = 1 << 20, now: datetime | None = None
    ) -> Iterator[bytes] | None:
        """The same bytes as content(), in pieces of at most `chunk_size` (big files)."""
        bucket = self._published(file_id, now)
        if bucket is None:
            return None
        return self._stream(self._headers[bucket.event_type], bucket.blob, chunk_size)

    @staticmethod
    def _stream(head: bytes, blob: bytes, chunk_size: int) -> Iterator[bytes]:
        yield head
        d = zlib.decompressobj()
        data = blob
        while data:
            out = d.decompress(data, chunk_size)
            data = d.unconsumed_tail
            if out:
                yield out
        rest = d.flush()
        if rest:
            yield rest

    # ------------------------------------------------------------------ introspection

    def stats(self) -> dict[str, int]:
        """Memory held: compressed bytes, uncompressed body bytes, pending records."""
        with self._lock:
            buckets = list(self._buckets.values())
            return {
                "buckets": len(buckets),
                "rows": sum(b.rows for b in buckets),
                "compressed_bytes": sum(len(b.blob) for b in buckets),
                "body_bytes": sum(b.size for b in buckets),
                "pending_records": sum(len(b.pending) for b in buckets),
            }
