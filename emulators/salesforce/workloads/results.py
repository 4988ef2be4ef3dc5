"""What a workload run reports: one outcome per call, the run's result, and the refusal of
its login. Nothing here holds a token, password, key or secret."""

from __future__ import annotations

from dataclasses import dataclass, field

from simple_salesforce.exceptions import SalesforceError


@dataclass(frozen=True)
class CallOutcome:
    """One API call (or one call that could not be made) and how it ended."""

    index: int  # position in the run; lookups share the index of the call they serve
    object: str
    operation: str
    ok: bool
    status: int | None = None  # HTTP status when known
    error_code: str | None = None  # Salesforce's errorCode / OAuth error / SOAP fault code
    message: str | None = None
    record_id: str | None = None
    # A query the runner made to find ids for a write (not part of the mix).
    lookup: bool = False
    # Not sent: nothing to act on (e.g. a delete before any create succeeded).
    skipped: bool = False


@dataclass
class WorkloadResult:
    workload: str
    username: str  # who the credential source named at the start of the run
    auth: str
    source_ip: str
    requested_calls: int
    outcomes: list[CallOutcome] = field(default_factory=list)
    # Set when the login itself failed; then no call was made.
    login_error: CallOutcome | None = None

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Per operation: {"ok": n, "failed": n, "skipped": n} (lookups count as queries)."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            bucket = out.setdefault(o.operation, {"ok": 0, "failed": 0, "skipped": 0})
            bucket["skipped" if o.skipped else "ok" if o.ok else "failed"] += 1
        return out

    @property
    def failures(self) -> list[CallOutcome]:
        failed = [o for o in self.outcomes if not o.ok and not o.skipped]
        return ([self.login_error] if self.login_error else []) + failed

    @property
    def ok(self) -> bool:
        return not self.failures

    def error_codes(self) -> set[str]:
        return {f.error_code for f in self.failures if f.error_code}

    def summary(self) -> str:
        lines = [
            f"{self.workload}: {self.requested_calls} calls as {self.username} ({self.auth}) from {self.source_ip}"
        ]
        if self.login_error is not None:
            lines.append(
                f"  login failed: {self.login_error.error_code}: {self.login_error.message}"
            )
        for op, c in sorted(self.counts.items()):
            lines.append(
                f"  {op:<7} ok {c['ok']:>5}  failed {c['failed']:>5}  skipped {c['skipped']:>4}"
            )
        shown: set[tuple[str, str, str | None]] = set()
        for f in self.failures:
            key = (f.object, f.operation, f.error_code)
            if key not in shown:
                shown.add(key)
                lines.append(f"  ! {f.operation} {f.object}: {f.error_code}: {f.message}")
        return "\n".join(lines)


class LoginFailed(Exception):
    """The workload's login was refused (the flow's real error code and description)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def error_of(e: SalesforceError) -> tuple[str, str]:
    """Salesforce's errorCode and message from simple-salesforce's exception content."""
    content = e.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or type(e).__name__), str(
            content[0].get("message") or ""
        )
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or type(e).__name__), str(
            content.get("message") or content.get("error_description") or ""
        )
    return type(e).__name__, str(content)[:300]
