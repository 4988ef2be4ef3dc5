"""Recursive-descent SOQL parser: text -> ``ast.Query`` (no schema knowledge).

Grammar (clauses in the order Salesforce requires)::

    query     := SELECT item (',' item)* FROM name [alias] [USING SCOPE ident]
                 [WHERE cond] [WITH ident] [GROUP BY path (',' path)*] [HAVING cond]
                 [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
                 [FOR (VIEW|REFERENCE|UPDATE)] [UPDATE (TRACKING|VIEWSTAT)]
    item      := '(' query ')' | FIELDS '(' ALL|STANDARD|CUSTOM ')' | operand [alias]
    operand   := AGG '(' [path] ')' | path
    cond      := unary ((AND unary)* | (OR unary)*)     -- mixing AND/OR needs parentheses
    unary     := NOT unary | '(' cond ')' | operand predicate
    predicate := op literal | LIKE literal | [NOT] IN '(' (query | literal, ...) ')'
               | INCLUDES '(' literal, ... ')' | EXCLUDES '(' literal, ... ')'
"""

from __future__ import annotations

from datetime import date, datetime

from ..exceptions import SoqlError
from . import ast
from .dates import is_relative, takes_n
from .lexer import Token, error_at, tokenize

AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})

# Salesforce's reserved SOQL words: never a field name or an alias.
RESERVED = frozenset(
    {
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
        "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
    }
)  # fmt: skip
# Words that end the FROM clause, so cannot be an object alias either.
_CLAUSE_WORDS = RESERVED | {"ORDER", "OFFSET", "FOR", "USING", "UPDATE"}
_WITH_OPTIONS = frozenset({"SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers ----------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self) -> Token:
        return self.tokens[min(self.i + 1, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def fail(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return error_at(
            "MALFORMED_QUERY", self.text, tok.pos, f"unexpected token: {tok.describe()}"
        )

    def unsupported(self, tok: Token, what: str) -> SoqlError:
        return error_at(
            "MALFORMED_QUERY", self.text, tok.pos, f"{what} is not supported by this emulator"
        )

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.fail()
        return self.advance()

    def expect_word(self, *words: str) -> Token:
        if not self.tok.is_word(*words):
            raise self.fail()
        return self.advance()

    def accept_word(self, *words: str) -> Token | None:
        return self.advance() if self.tok.is_word(*words) else None

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not isinstance(tok.value, int) or tok.value < 0:
            raise self.fail()
        self.advance()
        return tok.value

    # -- query ------------------------------------------------------------------------
    def query(self, nested: bool) -> ast.Query:
        self.expect_word("SELECT")
        items = [self.select_item()]
        while self.tok.kind == ",":
            self.advance()
            items.append(self.select_item())
        self.expect_word("FROM")
        obj_tok = self.expect("ident")
        sobject = obj_tok.text
        while nested and self.tok.kind == ".":  # (SELECT Id FROM Account.Contacts)
            self.advance()
            sobject += "." + self.expect("ident").text
        alias = None
        if self.tok.kind == "ident" and not self.tok.is_word(*_CLAUSE_WORDS):
            alias = self.advance().text
        if self.accept_word("USING"):
            self.expect_word("SCOPE")
            self.expect("ident")
        where = self.condition(having=False) if self.accept_word("WHERE") else None
        if with_tok := self.accept_word("WITH"):
            if not self.tok.is_word(*_WITH_OPTIONS):
                raise (
                    self.unsupported(with_tok, "WITH " + self.tok.text)
                    if self.tok.kind == "ident"
                    else self.fail()
                )
            self.advance()
        group_by: list[ast.FieldPath] = []
        if self.accept_word("GROUP"):
            self.expect_word("BY")
            if self.tok.is_word("ROLLUP", "CUBE") and self.peek().kind == "(":
                raise self.unsupported(self.tok, "GROUP BY " + self.tok.text.upper())
            group_by.append(self.path())
            while self.tok.kind == ",":
                self.advance()
                group_by.append(self.path())
        having = self.condition(having=True) if self.accept_word("HAVING") else None
        order_by: list[ast.OrderItem] = []
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            order_by.append(self.order_item())
            while self.tok.kind == ",":
                self.advance()
                order_by.append(self.order_item())
        limit = self.integer() if self.accept_word("LIMIT") else None
        offset = self.integer() if self.accept_word("OFFSET") else None
        if self.accept_word("FOR"):
            self.expect_word("VIEW", "REFERENCE", "UPDATE")
        if self.accept_word("UPDATE"):
            self.expect_word("TRACKING", "VIEWSTAT")
        if self.tok.kind != (")" if nested else "eof"):
            raise self.fail()
        return ast.Query(
            select=tuple(items),
            sobject=sobject,
            sobject_pos=obj_tok.pos,
            alias=alias,
            where=where,
            group_by=tuple(group_by),
            having=having,
            order_by=tuple(order_by),
            limit=limit,
            offset=offset,
            text=self.text,
        )

    def select_item(self) -> ast.SelectItem:
        tok = self.tok
        if tok.kind == "(":
            self.advance()
            sub = self.query(nested=True)
            self.expect(")")
            return ast.SubQuery(sub, tok.pos)
        if tok.is_word("FIELDS") and self.peek().kind == "(":
            self.advance()
            self.advance()
            kind = self.expect_word("ALL", "STANDARD", "CUSTOM").text.upper()
            self.expect(")")
            return ast.FieldsMacro(kind, tok.pos)
        if tok.is_word("TYPEOF"):
            raise self.unsupported(tok, "TYPEOF")
        expr = self.operand(allow_aggregate=True)
        if self.tok.kind == "ident" and not self.tok.is_word(*RESERVED):
            alias_tok = self.advance()
            return ast.SelectField(expr, alias_tok.text, alias_tok.pos)
        return ast.SelectField(expr)

    def path(self) -> ast.FieldPath:
        first = self.tok
        if first.kind != "ident" or first.is_word(*RESERVED):
            raise self.fail()
        if self.peek().kind == "(":
            raise self.unsupported(first, f"the function {first.text}()")
        self.advance()
        parts = [first.text]
        while self.tok.kind == ".":
            self.advance()
            parts.append(self.expect("ident").text)
        return ast.FieldPath(tuple(parts), first.pos)

    def operand(self, allow_aggregate: bool) -> ast.Operand:
        tok = self.tok
        if tok.kind == "ident" and self.peek().kind == "(" and tok.text.upper() in AGGREGATES:
            if not allow_aggregate:
                raise error_at(
                    "MALFORMED_QUERY",
                    self.text,
                    tok.pos,
                    "aggregate functions are not allowed in the WHERE clause",
                )
            func = self.advance().text.upper()
            self.advance()
            arg = None
            if not (func == "COUNT" and self.tok.kind == ")"):
                arg = self.path()
            self.expect(")")
            return ast.AggregateCall(func, arg, tok.pos)
        return self.path()

    def order_item(self) -> ast.OrderItem:
        expr = self.operand(allow_aggregate=True)
        descending = False
        if direction := self.accept_word("ASC", "DESC"):
            descending = direction.text.upper() == "DESC"
        nulls_last = None
        if self.accept_word("NULLS"):
            nulls_last = self.expect_word("FIRST", "LAST").text.upper() == "LAST"
        return ast.OrderItem(expr, descending, nulls_last, expr.pos)

    # -- conditions -------------------------------------------------------------------
    def condition(self, having: bool) -> ast.Condition:
        first = self.unary(having)
        if not self.tok.is_word("AND", "OR"):
            return first
        word = self.tok.text.upper()
        operands = [first]
        while self.accept_word(word):
            operands.append(self.unary(having))
        if self.tok.is_word("AND", "OR"):
            raise self.fail()  # Salesforce demands parentheses when AND and OR are mixed
        if word == "AND":
            return ast.And(tuple(operands), first.pos)
        return ast.Or(tuple(operands), first.pos)

    def unary(self, having: bool) -> ast.Condition:
        tok = self.tok
        if tok.is_word("NOT"):
            self.advance()
            return ast.Not(self.unary(having), tok.pos)
        if tok.kind == "(":
            self.advance()
            inner = self.condition(having)
            self.expect(")")
            return inner
        return self.predicate(self.operand(allow_aggregate=having))

    def predicate(self, left: ast.Operand) -> ast.Condition:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return ast.Comparison(left, str(tok.value), self.literal(), left.pos)
        if tok.is_word("LIKE"):
            self.advance()
            return ast.Comparison(left, "LIKE", self.literal(), left.pos)
        negated = bool(self.accept_word("NOT"))
        if self.accept_word("IN"):
            self.expect("(")
            if self.tok.is_word("SELECT"):
                if not isinstance(left, ast.FieldPath):
                    raise self.fail()
                sub = self.query(nested=True)
                self.expect(")")
                return ast.SemiJoin(left, sub, negated, left.pos)
            return ast.InList(left, self.literal_list(opened=True), negated, left.pos)
        if (
            not negated
            and self.tok.is_word("INCLUDES", "EXCLUDES")
            and isinstance(left, ast.FieldPath)
        ):
            excludes = self.advance().text.upper() == "EXCLUDES"
            self.expect("(")
            return ast.Includes(left, self.literal_list(opened=True), excludes, left.pos)
        raise self.fail()

    def literal_list(self, opened: bool) -> tuple[ast.Literal, ...]:
        if not opened:
            self.expect("(")
        values = [self.literal()]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def literal(self) -> ast.Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return ast.StringLit(str(tok.value), tok.text, tok.pos)
        if tok.kind == "number":
            self.advance()
            assert isinstance(tok.value, int | float)
            return ast.NumberLit(tok.value, tok.text, tok.pos)
        if tok.kind == "date":
            self.advance()
            assert isinstance(tok.value, date)
            return ast.DateLit(tok.value, tok.pos)
        if tok.kind == "datetime":
            self.advance()
            assert isinstance(tok.value, datetime)
            return ast.DateTimeLit(tok.value, tok.pos)
        if tok.kind == ":" and self.peek().kind == "ident":
            raise error_at(
                "MALFORMED_QUERY", self.text, tok.pos, "Bind variables only allowed in Apex code"
            )
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return ast.BoolLit(word == "TRUE", tok.pos)
            if word == "NULL":
                self.advance()
                return ast.NullLit(tok.pos)
            if is_relative(word):
                self.advance()
                n = None
                if takes_n(word):
                    self.expect(":")
                    n = self.integer()
                return ast.RelativeDate(word, n, tok.pos)
        raise self.fail()


def parse(soql: str) -> ast.Query:
    """Parse a SOQL statement; raises ``SoqlError("MALFORMED_QUERY", ...)`` on bad syntax."""
    return _Parser(soql).query(nested=False)
