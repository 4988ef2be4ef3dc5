"""The fields a SOQL query reads: its SELECT list and FROM object, nothing more.

Robust rather than complete: a query this cannot read returns None and the caller counts
it. Sub-queries over child relationships and TYPEOF blocks are skipped (their objects are
relationship names, not sObjects); functions such as toLabel(Status) or MAX(Amount) count
as reads of their field.
"""

from __future__ import annotations

import re

import polars as pl

_LITERAL = r"'(?:[^'\\]|\\.)*'"
_NUMBER = r"\b[0-9][0-9:.TZ+-]*\b"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_FUNC = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$", re.S)
_CALL = re.compile(r"^(.*\))(?:\s+[A-Za-z_][A-Za-z0-9_]*)?$", re.S)  # f(x) [alias]
_FROM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*))?", re.I)
_CLAUSE = {"WHERE", "WITH", "GROUP", "ORDER", "LIMIT", "OFFSET", "FOR", "USING", "UPDATE"}
# FIELDS(ALL) etc. are kept as written: the reader needs to know "every field" was asked.
_FIELDS_MACRO = re.compile(r"^FIELDS\s*\(\s*(ALL|STANDARD|CUSTOM)\s*\)$", re.I)


def normalize_soql_expr(query: pl.Expr) -> pl.Expr:
    """The query with literals blanked (vectorised): queries differing only in their
    WHERE values group together, so distinct queries stay few however many rows there are."""
    return query.str.replace_all(_LITERAL, "'?'").str.replace_all(_NUMBER, "0")


def blank_literals(query: str) -> str:
    """The query with literals blanked, as ``normalize_soql_expr`` does in a frame."""
    return re.sub(_NUMBER, "0", re.sub(_LITERAL, "'?'", query))


def _split_top(text: str) -> list[str]:
    """Comma-separated items at parenthesis depth 0 (quotes respected)."""
    items, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'" and (i == 0 or text[i - 1] != "\\"):
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items]


def _top_from(text: str) -> int:
    """Index of the FROM keyword at depth 0, or -1."""
    depth, quote = 0, False
    upper = text.upper()
    for i, ch in enumerate(text):
        if ch == "'" and (i == 0 or text[i - 1] != "\\"):
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif (
            depth == 0
            and upper.startswith("FROM", i)
            and (i == 0 or not text[i - 1].isalnum())
            and (i + 4 >= len(text) or not (text[i + 4].isalnum() or text[i + 4] == "_"))
        ):
            return i
    return -1


def _field_of(item: str, alias: str | None) -> str | None:
    """The field path an item reads ("" for COUNT()), or None if it is not readable."""
    if item.startswith("(") or item.upper().startswith("TYPEOF"):
        return ""  # a child sub-query or polymorphic block: skipped on purpose
    if _FIELDS_MACRO.match(item):
        return re.sub(r"\s+", "", item).upper()
    call = _CALL.match(item)
    m = _FUNC.match(call.group(1)) if call else None
    if m:
        inner = m.group(2).strip()
        if not inner:
            return ""  # COUNT()
        return _field_of(_split_top(inner)[0], alias)
    path = item.split()[0] if item.split() else ""  # drop an aggregate's alias
    if not _IDENT.match(path):
        return None
    if alias and path.lower().startswith(alias.lower() + "."):
        path = path[len(alias) + 1 :]
    return path


def soql_fields(query: str) -> tuple[str, list[str]] | None:
    """(FROM object, field paths in SELECT order, deduplicated) or None if unreadable.

    >>> soql_fields("SELECT Id, Name, Owner.Email FROM Account WHERE Name = 'x'")
    ('Account', ['Id', 'Name', 'Owner.Email'])
    """
    text = query.strip()
    if not text[:7].upper().startswith("SELECT") or len(text) < 8 or not text[6].isspace():
        return None
    at = _top_from(text)
    if at < 0:
        return None
    m = _FROM.match(text[at + 4 :].strip())
    if m is None:
        return None
    obj = m.group(1)
    alias = m.group(2) if m.group(2) and m.group(2).upper() not in _CLAUSE else None
    fields: list[str] = []
    for item in _split_top(text[6:at]):
        name = _field_of(item, alias)
        if name is None:
            return None
        if name and name not in fields:
            fields.append(name)
    return obj, fields
