"""A ledger in memory, for tests and dry runs that keep nothing (the store's Ledger is the
real one). Entries keep the order of their first write, as the store's do."""

from __future__ import annotations

from ..models.migration import LedgerEntry


class MemoryLedger:
    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}

    def get(self, key: str) -> LedgerEntry | None:
        return self._entries.get(key)

    def put(self, entry: LedgerEntry) -> None:
        self._entries[entry.key] = entry

    def entries(self) -> list[LedgerEntry]:
        return list(self._entries.values())
