"""Salesforce record ids: key prefixes, generation, and the case-safe 15 <-> 18 conversion.

A 15-character id is case-sensitive; the 18-character form appends three characters that
encode which of the 15 are upper-case, so the id survives case-insensitive systems. Event
log files carry 15-character ids while the API returns 18, so joins need both directions.
"""

from __future__ import annotations

import itertools
import threading

# The conversion rules are the core's (handover/ids.py); the emulator only adds generation.
from handover.ids import checksum_suffix, is_valid_id, to15, to18

__all__ = ["IdFactory", "checksum_suffix", "is_valid_id", "normalize", "to15", "to18"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# The pod part of generated ids: real ids carry an instance identifier after the prefix.
_POD = "5g"


def normalize(value: str) -> str:
    """Any accepted id form -> the canonical 18-character form (raises ValueError)."""
    if not is_valid_id(value):
        raise ValueError(f"invalid id: {value!r}")
    return to18(value)


def _base62(n: int, width: int) -> str:
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(_BASE62[r])
    return "".join(reversed(chars)).rjust(width, "0")


class IdFactory:
    """Generates unique 18-character ids per key prefix, deterministically per org."""

    def __init__(self, seed: int = 0) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._seed = seed
        self._lock = threading.Lock()

    def new(self, key_prefix: str) -> str:
        if len(key_prefix) != 3:
            raise ValueError(f"key prefix must have 3 characters: {key_prefix!r}")
        with self._lock:
            counter = self._counters.setdefault(key_prefix, itertools.count(1 + self._seed))
            n = next(counter)
        # 3 prefix + 2 pod + '0' + 9 base62 digits = 15 characters, then the suffix.
        id15 = key_prefix + _POD + "0" + _base62(n * 7919 + 1000003, 9)
        return id15 + checksum_suffix(id15)
