"""One error tree for handover. Every message says what to do next.

HandoverError
├── ConfigError (also ValueError)      bad or missing configuration
├── StoreError                         the handover store could not be opened, written or read
│   └── PlanIntegrityError             a saved plan no longer matches its hash
├── SalesforceGatewayError             a call to the org failed
│   ├── AuthenticationError            credentials rejected or expired
│   ├── PermissionDenied               handover's own user lacks a permission
│   └── TransientSalesforceError       worth retrying (503, UNABLE_TO_LOCK_ROW, limits)
└── EvidenceError                      not enough evidence to act on
"""

from __future__ import annotations


class HandoverError(Exception):
    """Base of every error handover raises on purpose."""


class ConfigError(HandoverError, ValueError):
    pass


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


class TransientSalesforceError(SalesforceGatewayError):
    pass


class EvidenceError(HandoverError):
    pass
