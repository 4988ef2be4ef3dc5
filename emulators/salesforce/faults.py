"""Fault injection: make chosen requests fail the way Salesforce fails under load.

A rule matches requests by path regex and method, then fires by call count (``nth``:
the calls to fail, 1-based, counted per rule), every N-th call, or with a probability
(seeded, so runs repeat); a rule with none of these fires on every matching call. Kinds:
``503``, ``REQUEST_LIMIT_EXCEEDED``, ``UNABLE_TO_LOCK_ROW``, ``INVALID_SESSION_ID`` (answered
instead of handling the request), ``slow`` (adds ``delay_seconds``, then handles it) and
``lost_response``: the request is handled (a write commits) but the client never gets the
answer; it sees a 503 (``lost_as: "503"``) or a connection dropped mid-response
(``lost_as: "disconnect"``), as when a load balancer or the network fails on the way back.
Rules apply to every endpoint: REST, OAuth, SOAP login() and the Metadata API
(``http/faults.py`` answers in each one's format).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "503",
    "REQUEST_LIMIT_EXCEEDED",
    "UNABLE_TO_LOCK_ROW",
    "INVALID_SESSION_ID",
    "slow",
    "lost_response",
]
LostAs = Literal["503", "disconnect"]


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    path: str = ".*"  # regex searched in the request path
    method: str | None = None
    nth: list[int] = Field(default_factory=list)
    every: int | None = None
    probability: float | None = None
    max_count: int | None = None
    delay_seconds: float = 2.0
    lost_as: LostAs = "503"  # lost_response only: what the client sees instead of the answer


@dataclass
class Fault:
    """What the HTTP layer must do for one request."""

    kind: FaultKind
    delay_seconds: float = 0.0
    lost_as: LostAs = "503"

    def response(self) -> tuple[int, object] | None:
        """(status, REST JSON body) to answer instead of handling, or None to handle the
        request (slow, lost_response)."""
        if self.kind == "503":
            return 503, [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        if self.kind == "REQUEST_LIMIT_EXCEEDED":
            return 403, [
                {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
            ]
        if self.kind == "UNABLE_TO_LOCK_ROW":
            return 400, [
                {
                    "message": "unable to obtain exclusive access to this record or 1 records",
                    "errorCode": "UNABLE_TO_LOCK_ROW",
                }
            ]
        if self.kind == "INVALID_SESSION_ID":
            return 401, [
                {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
            ]
        return None


@dataclass
class _Armed:
    rule: FaultRule
    pattern: re.Pattern[str]
    seen: int = 0
    fired: int = 0


@dataclass
class FaultInjector:
    seed: int = 0
    _rules: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(_Armed(rule, re.compile(rule.path)))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [{**a.rule.model_dump(), "seen": a.seen, "fired": a.fired} for a in self._rules]

    def check(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for armed in self._rules:
                rule = armed.rule
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if not armed.pattern.search(path):
                    continue
                armed.seen += 1
                if rule.max_count is not None and armed.fired >= rule.max_count:
                    continue
                always = not rule.nth and rule.every is None and rule.probability is None
                fire = (
                    always
                    or (armed.seen in rule.nth)
                    or (rule.every is not None and armed.seen % rule.every == 0)
                    or (rule.probability is not None and self._rng.random() < rule.probability)
                )
                if fire:
                    armed.fired += 1
                    return Fault(
                        rule.kind,
                        rule.delay_seconds if rule.kind == "slow" else 0.0,
                        rule.lost_as,
                    )
        return None
