"""SOQL tokens, and the positioned error frame Salesforce wraps around query errors.

A framed message looks like (recorded, CumulusCI cassette)::

    \\nselect count() from XYZZY\\n                    ^\\nERROR at Row:1:Column:21\\nsObject ...

Salesforce shows only the row the error is on, and for a long row only a window around the
error: recorded messages show roughly 45 characters either side, cut at whitespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..exceptions import SoqlError
from .dates import parse_datetime

_WINDOW = 45


def _window(line: str, index: int) -> tuple[str, int]:
    start = max(0, index - _WINDOW)
    while 0 < start < index and not line[start - 1].isspace():
        start += 1
    end = min(len(line), index + _WINDOW)
    while index < end < len(line) and not line[end].isspace():
        end -= 1
    return line[start:end], index - start


def frame(query: str, pos: int, message: str) -> str:
    """``message`` framed with the query row and a caret under offset ``pos``."""
    pos = max(0, min(pos, len(query)))
    line_start = query.rfind("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : len(query) if line_end < 0 else line_end].rstrip("\r")
    row = query.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    shown, caret = _window(line, col - 1)
    return f"\n{shown}\n{' ' * caret}^\nERROR at Row:{row}:Column:{col}\n{message}"


def error_at(code: str, query: str, pos: int, message: str) -> SoqlError:
    return SoqlError(code, frame(query, pos, message))


@dataclass(frozen=True, slots=True)
class Token:
    """``kind``: ident, string, number, date, datetime, op, ( ) , . : or eof."""

    kind: str
    text: str  # as written (a string token without its quotes)
    pos: int
    value: object = None  # decoded: str, int | float, date or datetime

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words

    def describe(self) -> str:
        """How Salesforce names the token in "unexpected token: ..."."""
        if self.kind == "eof":
            return "<EOF>"
        if self.kind == "string":
            return f"''{self.text}''"
        return f"'{self.text}'"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_BODY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?", re.IGNORECASE)
_ZONE = re.compile(r"Z|[+-]\d{2}:?\d{2}", re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = "(),.:"
# Salesforce accepts the letter escapes in either case (\N is a newline too).
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_ESCAPES |= {k.upper(): v for k, v in _ESCAPES.items() if k.isalpha()}


def _no_viable(query: str, pos: int) -> SoqlError:
    # The lexer-level wording Salesforce passes through from its ANTLR grammar, whose column
    # is 0-based: "select Id from Account where id = $sfid" is reported at Column:34 with
    # the caret one to the left of the '$' (recorded).
    ch = "<EOF>" if pos >= len(query) else query[pos]
    line_start = query.rfind("\n", 0, pos) + 1
    row = query.count("\n", 0, pos) + 1
    message = f"line {row}:{pos - line_start} no viable alternative at character '{ch}'"
    return error_at("MALFORMED_QUERY", query, max(line_start, pos - 1), message)


def _string(query: str, start: int) -> tuple[Token, int]:
    """A single-quoted literal starting at ``start``; returns the token and the next offset."""
    out: list[str] = []
    bad_escape = None
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "'":
            raw = query[start + 1 : i]
            if bad_escape is not None:
                raise error_at(
                    "MALFORMED_QUERY",
                    query,
                    start,
                    f"Invalid string literal '{raw}'. "
                    f"Illegal character sequence '\\{bad_escape}' in string literal.",
                )
            return Token("string", raw, start, "".join(out)), i + 1
        if ch == "\\":
            nxt = query[i + 1] if i + 1 < len(query) else ""
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in ("%", "_"):
                out.append(nxt)  # only meaningful to LIKE, which re-reads the raw text
            elif bad_escape is None:
                bad_escape = nxt
            i += 2
            continue
        out.append(ch)
        i += 1
    raise error_at("MALFORMED_QUERY", query, len(query), "unexpected token: <EOF>")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            tok, i = _string(query, i)
            tokens.append(tok)
            continue
        if m := _DATETIME_BODY.match(query, i):
            zone = _ZONE.match(query, m.end())
            if zone is None:
                raise _no_viable(query, m.end())
            text = query[i : zone.end()]
            try:
                tokens.append(Token("datetime", text, i, parse_datetime(text)))
            except ValueError:
                raise error_at("MALFORMED_QUERY", query, i, f"unexpected token: '{text}'") from None
            i = zone.end()
            continue
        if m := _DATE.match(query, i):
            text = m.group()
            try:
                value = date.fromisoformat(text)
            except ValueError:
                raise error_at("MALFORMED_QUERY", query, i, f"unexpected token: '{text}'") from None
            tokens.append(Token("date", text, i, value))
            i = m.end()
            continue
        if (m := _NUMBER.match(query, i)) and (
            ch.isdigit() or ch == "." or (i + 1 < n and query[i + 1] in "0123456789.")
        ):
            text = m.group()
            is_int = not any(c in text for c in ".eE")
            tokens.append(Token("number", text, i, int(text) if is_int else float(text)))
            i = m.end()
            continue
        if m := _IDENT.match(query, i):
            tokens.append(Token("ident", m.group(), i))
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i, "!=" if op == "<>" else op))
            i += len(op)
            continue
        if ch in _PUNCTUATION:
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        raise _no_viable(query, i)
    tokens.append(Token("eof", "", n))
    return tokens
