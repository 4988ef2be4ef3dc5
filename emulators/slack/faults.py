"""Fault switches: make chosen Web API calls fail the way slack.com fails.

Tests and the demo flip them through ``Workspace.faults`` (``running.state.faults``):

- ``rate_limit("chat.postMessage", times=1, retry_after=1)``: HTTP 429 with ``Retry-After``
  and ``{"ok": false, "error": "ratelimited"}``, what Slack sends over a method's tier limit;
- ``error("chat.postMessage", "fatal_error")``: HTTP 200 with that error code;
- ``http_status("*", 503)``: a bare 5xx with a non-JSON body, as from Slack's edge when
  it is down.

A rule applies to one method or ``"*"``, ``times`` calls in a row (None: until ``clear()``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from .exceptions import SlackError

FaultKind = Literal["ratelimited", "error", "http"]


@dataclass
class FaultRule:
    method: str
    kind: FaultKind
    times: int | None = 1
    error: str = "ratelimited"
    status: int = 429
    retry_after: int = 1
    fired: int = 0

    def applies_to(self, method: str) -> bool:
        return self.method in ("*", method) and (self.times is None or self.fired < self.times)

    def raise_(self) -> None:
        self.fired += 1
        if self.kind == "ratelimited":
            raise SlackError(
                "ratelimited", status=429, headers={"Retry-After": str(self.retry_after)}
            )
        if self.kind == "error":
            raise SlackError(self.error)
        raise HttpFault(self.status)


class HttpFault(Exception):
    """A response that is not a Web API JSON body at all (a gateway error page)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def rate_limit(
        self, method: str = "*", *, times: int | None = 1, retry_after: int = 1
    ) -> FaultRule:
        return self._add(FaultRule(method, "ratelimited", times, retry_after=retry_after))

    def error(
        self, method: str = "*", error: str = "fatal_error", *, times: int | None = None
    ) -> FaultRule:
        return self._add(FaultRule(method, "error", times, error=error, status=200))

    def http_status(
        self, method: str = "*", status: int = 503, *, times: int | None = None
    ) -> FaultRule:
        return self._add(FaultRule(method, "http", times, error="", status=status))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def check(self, method: str) -> None:
        """Raise what the first live rule for ``method`` calls for; return when none."""
        with self._lock:
            rule = next((r for r in self._rules if r.applies_to(method)), None)
            if rule is not None:
                rule.raise_()

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule
