"""WHERE and HAVING conditions compiled once per query into plain Python predicates.

Literals are type-checked and normalised up front (ids to 18 characters, text folded to
lower case, date literals to ranges), so the per-row work is a getter call and one
comparison. Semantics follow Salesforce:

* text comparisons and LIKE are case-insensitive; ``''`` means null;
* a comparison with a null field value is false, except ``!=`` and NOT IN, which match it;
* a date literal against a datetime field covers whole UTC days.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..exceptions import SoqlError
from ..ids import to18
from . import ast
from .dates import day_start, relative_range
from .lexer import error_at
from .resolve import Getter, Row

Pred = Callable[[Row], bool]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LIKE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class Operand:
    """The left side of a predicate: how to read it and what literals it accepts."""

    getter: Getter
    kind: str  # id, bool, number, date, datetime, multi, text (see resolve.kind_of)
    type_name: str  # the type as Salesforce names it in messages: string, id, dateTime, ...
    name: str
    pos: int


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _multi(value: str) -> frozenset[str]:
    return frozenset(p.strip().lower() for p in value.split(";") if p.strip())


def normalize_id(value: str) -> str | None:
    """A 15- or 18-character id -> the 18-character form; None when it is not an id."""
    if len(value) not in (15, 18) or not value.isascii() or not value.isalnum():
        return None
    full = to18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def like_regex(raw: str) -> re.Pattern[str]:
    """A LIKE pattern (raw literal text, escapes intact) as a case-insensitive regex."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(re.escape(_LIKE_ESCAPES.get(nxt.lower(), nxt)))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _null_safe(get: Getter, test: Callable[[Any], bool], negate: bool = False) -> Pred:
    if negate:
        return lambda r: (x := get(r)) is None or not test(x)
    return lambda r: (x := get(r)) is not None and test(x)


class ConditionCompiler:
    def __init__(
        self,
        text: str,
        today: date,
        operand: Callable[[ast.Operand], Operand],
        semi_join: Callable[[ast.SemiJoin], frozenset[str]] | None = None,
    ) -> None:
        self.text = text
        self.today = today
        self.operand = operand
        self.semi_join = semi_join
        self._in_or = False

    def compile(self, cond: ast.Condition) -> Pred:
        if isinstance(cond, ast.And | ast.Or):
            outer, self._in_or = self._in_or, self._in_or or isinstance(cond, ast.Or)
            preds = [self.compile(c) for c in cond.operands]
            self._in_or = outer
            if len(preds) == 2:  # the common case, without a generator per row
                first, second = preds
                if isinstance(cond, ast.And):
                    return lambda r: first(r) and second(r)
                return lambda r: first(r) or second(r)
            if isinstance(cond, ast.And):
                return lambda r: all(p(r) for p in preds)
            return lambda r: any(p(r) for p in preds)
        if isinstance(cond, ast.Not):
            inner = self.compile(cond.operand)
            return lambda r: not inner(r)
        if isinstance(cond, ast.Comparison):
            return self._comparison(cond)
        if isinstance(cond, ast.InList):
            return self._in_list(cond)
        if isinstance(cond, ast.Includes):
            return self._includes(cond)
        return self._semi_join(cond)

    # -- literals ---------------------------------------------------------------------
    def _type_error(self, o: Operand, lit: ast.Literal) -> SoqlError:
        quotes = (
            "should be enclosed in quotes"
            if o.kind in ("text", "multi", "id")
            else "should not be enclosed in quotes"
        )
        return error_at(
            "INVALID_FIELD",
            self.text,
            lit.pos,
            f"value of filter criterion for field '{o.name}' must be of type {o.type_name} "
            f"and {quotes}",
        )

    def _operator_error(self, o: Operand, what: str = "") -> SoqlError:
        return error_at(
            "INVALID_QUERY_FILTER_OPERATOR",
            self.text,
            o.pos,
            f"invalid operator on {what or o.type_name} field",
        )

    def _coerce(self, lit: ast.Literal, o: Operand) -> tuple[str, Any]:
        """("null", None), ("value", normalised value) or ("range", (low, high))."""
        if isinstance(lit, ast.NullLit):
            return "null", None
        kind = o.kind
        if kind in ("text", "multi", "id"):
            if not isinstance(lit, ast.StringLit):
                raise self._type_error(o, lit)
            if lit.value == "":
                return "null", None  # Salesforce stores empty text as null
            if kind == "text":
                return "value", lit.value.lower()
            if kind == "multi":
                return "value", _multi(lit.value)
            full = normalize_id(lit.value)
            if full is None:
                raise error_at(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    self.text,
                    lit.pos,
                    f"invalid ID field: {lit.value}",
                )
            return "value", full
        if kind == "bool" and isinstance(lit, ast.BoolLit):
            return "value", lit.value
        if kind == "number" and isinstance(lit, ast.NumberLit):
            return "value", lit.value
        if kind == "date" and isinstance(lit, ast.DateLit):
            return "value", lit.value
        if kind == "datetime" and isinstance(lit, ast.DateTimeLit):
            return "value", lit.value
        if kind in ("date", "datetime") and isinstance(lit, ast.RelativeDate):
            low, high = relative_range(lit.name, lit.n, self.today)
            if kind == "datetime":
                return "range", (day_start(low), day_start(high))
            return "range", (low, high)
        raise self._type_error(o, lit)

    # -- predicates -------------------------------------------------------------------
    def _comparison(self, c: ast.Comparison) -> Pred:
        o = self.operand(c.left)
        if c.op == "LIKE":
            return self._like(o, c.value)
        kind, value = self._coerce(c.value, o)
        get = o.getter
        if kind == "null":
            if c.op == "=":
                return lambda r: get(r) is None
            if c.op == "!=":
                return lambda r: get(r) is not None
            return lambda r: False
        if kind == "range":
            low, high = value
            tests: dict[str, Callable[[Any], bool]] = {
                "=": lambda x: low <= x < high,
                "!=": lambda x: low <= x < high,
                "<": lambda x: x < low,
                "<=": lambda x: x < high,
                ">": lambda x: x >= high,
                ">=": lambda x: x >= low,
            }
            return _null_safe(get, tests[c.op], negate=c.op == "!=")
        if o.kind == "multi":
            if c.op not in ("=", "!="):
                raise self._operator_error(o, "multipicklist")
            return _null_safe(get, lambda x: _multi(str(x)) == value, negate=c.op == "!=")
        if o.kind == "text":
            if c.op in ("=", "!="):
                return _null_safe(get, lambda x: _fold(x) == value, negate=c.op == "!=")
            fn = _OPS[c.op]
            return _null_safe(get, lambda x: fn(_fold(x), value))
        if c.op == "!=":
            return _null_safe(get, lambda x: x == value, negate=True)
        fn = _OPS[c.op]
        return _null_safe(get, lambda x: fn(x, value))

    def _like(self, o: Operand, lit: ast.Literal) -> Pred:
        if o.kind not in ("text", "multi"):
            raise self._operator_error(o)
        if not isinstance(lit, ast.StringLit):
            raise self._type_error(o, lit)
        match = like_regex(lit.raw).fullmatch
        return _null_safe(o.getter, lambda x: match(str(x)) is not None)

    def _in_list(self, c: ast.InList) -> Pred:
        o = self.operand(c.left)
        coerced = [self._coerce(lit, o) for lit in c.values]
        has_null = any(kind == "null" for kind, _ in coerced)
        ranges = [v for kind, v in coerced if kind == "range"]
        scalars = frozenset(v for kind, v in coerced if kind == "value")
        get = o.getter
        test: Callable[[Any], bool]
        if o.kind == "multi":
            test = lambda x: _multi(str(x)) in scalars  # noqa: E731
        elif ranges:
            test = lambda x: x in scalars or any(lo <= x < hi for lo, hi in ranges)  # noqa: E731
        elif o.kind == "text":
            test = lambda x: _fold(x) in scalars  # noqa: E731
        else:
            test = scalars.__contains__
        if has_null:
            matches: Pred = lambda r: (x := get(r)) is None or test(x)  # noqa: E731
        else:
            matches = _null_safe(get, test)
        if c.negated:
            return lambda r: not matches(r)
        return matches

    def _includes(self, c: ast.Includes) -> Pred:
        o = self.operand(c.left)
        if o.kind != "multi":
            raise self._operator_error(o)
        wanted = []
        for lit in c.values:
            if not isinstance(lit, ast.StringLit):
                raise self._type_error(o, lit)
            wanted.append(_multi(lit.value))

        def includes(x: Any) -> bool:
            have = _multi(str(x))
            return any(w <= have for w in wanted)

        return _null_safe(o.getter, includes, negate=c.excludes)

    def _semi_join(self, c: ast.SemiJoin) -> Pred:
        o = self.operand(c.left)
        if self._in_or:
            raise error_at(
                "MALFORMED_QUERY",
                self.text,
                c.pos,
                "Semi join sub-selects are not allowed with the 'OR' operator",
            )
        if o.kind != "id" or self.semi_join is None:
            raise error_at(
                "MALFORMED_QUERY",
                self.text,
                c.pos,
                f"Invalid semi join: field '{o.name}' is not an id or reference field",
            )
        ids = self.semi_join(c)
        get = o.getter
        if c.negated:
            return lambda r: get(r) not in ids
        return lambda r: get(r) in ids
