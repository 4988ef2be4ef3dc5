"""One error tree for handover. Every message says what to do next.

HandoverError
├── ConfigError (also ValueError)      bad or missing configuration
│   └── ReadOnlyRefused                a write refused in discovery-only mode
├── StoreError                         the handover store could not be opened, written or read
│   └── PlanIntegrityError             a saved plan no longer matches its hash
├── SalesforceGatewayError             a call to the org failed
│   ├── AuthenticationError            credentials rejected or expired
│   ├── PermissionDenied               handover's own user lacks a permission
│   ├── OrgUnreachable                 nothing answers at the org's address (refused, no DNS)
│   └── TransientSalesforceError       worth retrying (503, UNABLE_TO_LOCK_ROW, limits)
├── EvidenceError                      not enough evidence to act on
├── MigrationError                     a migration step cannot go on as planned
│   └── WriteConflict                  the org holds a record this migration did not write
├── SlackGatewayError                  a Slack Web API call failed (approvals)
│   └── TransientSlackError            worth retrying (429 after retries, 5xx, network)
├── PrefectApiError                    a call to Prefect's REST API failed
│   └── TransientPrefectError          worth retrying (5xx, network, timeout)
└── StackError                         `handover up` could not start a part (named, with its log)
"""

from __future__ import annotations


class HandoverError(Exception):
    """Base of every error handover raises on purpose."""


class ConfigError(HandoverError, ValueError):
    pass


class ReadOnlyRefused(ConfigError):
    """A call that could change the org, refused before it was sent: handover runs in
    discovery-only mode (HANDOVER_SALESFORCE__READ_ONLY)."""


class StoreError(HandoverError):
    pass


class PlanIntegrityError(StoreError):
    pass


class SalesforceGatewayError(HandoverError):
    def __init__(
        self, message: str, *, status: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class AuthenticationError(SalesforceGatewayError):
    pass


class PermissionDenied(SalesforceGatewayError):
    pass


class OrgUnreachable(SalesforceGatewayError):
    """Nothing listens at the org's address (connection refused, a name that does not
    resolve): a stopped emulator, a wrong My Domain, no network. Not worth retrying."""


class TransientSalesforceError(SalesforceGatewayError):
    pass


class EvidenceError(HandoverError):
    pass


class MigrationError(HandoverError):
    pass


class WriteConflict(MigrationError):
    """A record the migration would write already exists, was not written by it, and may
    not be taken over (a permission set of the same name, a username held by someone else)."""


class SlackGatewayError(HandoverError):
    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code  # Slack's own code (channel_not_found), when it answered


class TransientSlackError(SlackGatewayError):
    pass


class PrefectApiError(HandoverError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientPrefectError(PrefectApiError):
    pass


class StackError(HandoverError):
    """A part of the local stack did not start or stop; ``part`` names it and ``log`` is
    where its output went."""

    def __init__(self, message: str, *, part: str | None = None, log: str | None = None) -> None:
        super().__init__(message)
        self.part = part
        self.log = log
