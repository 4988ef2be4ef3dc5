"""Salesforce record ids: the case-safe 15 <-> 18 character conversion.

Event log files carry 15-character ids (``USER_ID``, ``CONNECTED_APP_ID``) while the API
returns 18, so every join between the two needs one of these. A 15-character id is
case-sensitive; the 3-character suffix encodes which of the 15 are upper-case, so the
18-character form survives case-insensitive systems (reference §2.3).

The emulator has its own copy on purpose: the core must not import the emulator.
"""

from __future__ import annotations

from functools import lru_cache

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


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


def is_valid_id(value: str) -> bool:
    """True for a 15-character id, or an 18-character one whose suffix is right."""
    if len(value) not in (15, 18) or not _ALNUM.issuperset(value):
        return False
    return len(value) == 15 or value[15:] == checksum_suffix(value[:15])


@lru_cache(maxsize=65536)
def to18(record_id: str) -> str:
    """15 -> 18 characters. An 18-character id comes back with its suffix re-derived, so
    an id whose suffix was lower-cased by some other system is repaired.

    Cached: ingestion converts the same few hundred user and app ids over and over.
    """
    if len(record_id) not in (15, 18) or not _ALNUM.issuperset(record_id):
        raise ValueError(
            f"not a Salesforce id (15 or 18 letters and digits): {record_id!r}; "
            "check the column the value came from"
        )
    return record_id[:15] + checksum_suffix(record_id[:15])


def norm_id(value: object) -> str:
    """18-character form of a valid id; anything else (test org names, "") unchanged: the
    form every id is stored and compared in."""
    text = "" if value is None else str(value)
    return to18(text) if is_valid_id(text) else text


def to15(record_id: str) -> str:
    """18 -> 15 characters: the case-sensitive form used by event log files."""
    if len(record_id) not in (15, 18):
        raise ValueError(f"a Salesforce id has 15 or 18 characters, not {len(record_id)}")
    return record_id[:15]


def same_id(a: str, b: str) -> bool:
    """Whether two ids name the same record, whichever forms they come in."""
    return len(a) in (15, 18) and len(b) in (15, 18) and a[:15] == b[:15]
