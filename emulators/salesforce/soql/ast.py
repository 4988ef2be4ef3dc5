"""The syntax tree the parser produces: immutable, positioned, schema-free.

Every node carries ``pos``, the 0-based offset into the query text of the token that
starts it, because Salesforce reports semantic errors (unknown field, type mismatch) at
the column of the offending token; resolution against the schema happens later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class FieldPath:
    """``Name`` or ``Profile.UserLicense.Name``, parts as written in the query."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class AggregateCall:
    """COUNT(), COUNT(f), COUNT_DISTINCT(f), SUM, AVG, MIN, MAX; ``func`` is upper-case."""

    func: str
    arg: FieldPath | None
    pos: int


Operand = FieldPath | AggregateCall


@dataclass(frozen=True)
class SelectField:
    expr: Operand
    alias: str | None = None
    alias_pos: int = -1


@dataclass(frozen=True)
class FieldsMacro:
    """FIELDS(ALL | STANDARD | CUSTOM)."""

    kind: str
    pos: int


@dataclass(frozen=True)
class SubQuery:
    """A child-relationship query in the SELECT list: ``(SELECT Id FROM Contacts)``."""

    query: Query
    pos: int


SelectItem = SelectField | FieldsMacro | SubQuery


# Literals. StringLit keeps the raw text between the quotes because LIKE needs to tell an
# escaped wildcard (\%) from a real one, which the decoded value no longer can.
@dataclass(frozen=True)
class StringLit:
    value: str
    raw: str
    pos: int


@dataclass(frozen=True)
class NumberLit:
    value: int | float
    text: str
    pos: int


@dataclass(frozen=True)
class BoolLit:
    value: bool
    pos: int


@dataclass(frozen=True)
class NullLit:
    pos: int


@dataclass(frozen=True)
class DateLit:
    value: date
    pos: int


@dataclass(frozen=True)
class DateTimeLit:
    value: datetime
    pos: int


@dataclass(frozen=True)
class RelativeDate:
    """TODAY, LAST_N_DAYS:30, ...; ``name`` is upper-case, ``n`` set for the _N_ forms."""

    name: str
    n: int | None
    pos: int


Literal = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | RelativeDate


@dataclass(frozen=True)
class Comparison:
    """``op`` is one of = != < <= > >= LIKE (``<>`` is normalised to ``!=``)."""

    left: Operand
    op: str
    value: Literal
    pos: int


@dataclass(frozen=True)
class InList:
    left: Operand
    values: tuple[Literal, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class SemiJoin:
    """``Id IN (SELECT AssigneeId FROM ...)``; an anti-join when ``negated``."""

    left: FieldPath
    query: Query
    negated: bool
    pos: int


@dataclass(frozen=True)
class Includes:
    """INCLUDES / EXCLUDES on a multi-select picklist."""

    left: FieldPath
    values: tuple[Literal, ...]
    excludes: bool
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Condition
    pos: int


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]
    pos: int


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]
    pos: int


Condition = Comparison | InList | SemiJoin | Includes | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    expr: Operand
    descending: bool
    nulls_last: bool | None  # None: the default (first for ASC, last for DESC)
    pos: int


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    sobject: str  # as written; a child sub-query may qualify it (Account.Contacts)
    sobject_pos: int
    alias: str | None
    where: Condition | None
    group_by: tuple[FieldPath, ...]
    having: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    text: str  # the whole statement, for error frames (sub-queries share the outer text)
