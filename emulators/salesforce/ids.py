"""Salesforce record ids: key prefixes, generation, and the case-safe 15 <-> 18 conversion.

A 15-character id is case-sensitive; the 18-character form appends three characters that
encode which of the 15 are upper-case, so the id survives case-insensitive systems. Event
log files carry 15-character ids while the API returns 18, so joins need both directions.
"""

from __future__ import annotations

import itertools
import threading

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

# The pod part of generated ids: real ids carry an instance identifier after the prefix.
_POD = "5g"


def checksum_suffix(id15: str) -> str:
    """The three characters that make a 15-character id case-safe."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


def to18(record_id: str) -> str:
    """15 -> 18 characters; an 18-character id is returned unchanged (its suffix re-derived)."""
    if len(record_id) == 18:
        return record_id[:15] + checksum_suffix(record_id[:15])
    if len(record_id) != 15:
        raise ValueError(
            f"a Salesforce id has 15 or 18 characters, not {len(record_id)}: {record_id!r}"
        )
    return record_id + checksum_suffix(record_id)


def to15(record_id: str) -> str:
    """18 -> 15 characters (the case-sensitive form used by event log files)."""
    if len(record_id) not in (15, 18):
        raise ValueError(
            f"a Salesforce id has 15 or 18 characters, not {len(record_id)}: {record_id!r}"
        )
    return record_id[:15]


def is_valid_id(value: str) -> bool:
    """True when ``value`` looks like a Salesforce id (15 chars, or 18 with a correct suffix)."""
    if not isinstance(value, str) or len(value) not in (15, 18):
        return False
    if any(c not in _BASE62 for c in value[:15]):
        return False
    return len(value) == 15 or value[15:] == checksum_suffix(value[:15])


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
