"""Errors with Salesforce's real codes. The HTTP layer turns each into its wire format.

Hierarchy::

    EmulatorError
    ├── SalesforceError      REST/JSON: [{"message", "errorCode", "fields"?}] with an HTTP status
    │   └── SoqlError        MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE (400)
    ├── OAuthError           {"error", "error_description"} (HTTP 400 by default)
    └── SoapFault            a SOAP fault (login, Metadata API)
"""

from __future__ import annotations


class EmulatorError(Exception):
    pass


class SalesforceError(EmulatorError):
    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict]:
        err: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            err["fields"] = self.fields
        return [err]

    def collection_error(self) -> dict:
        """The form used inside sObject Collections results (statusCode, not errorCode)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields or []}


class SoqlError(SalesforceError):
    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(400, error_code, message)


class OAuthError(EmulatorError):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class SoapFault(EmulatorError):
    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# Common constructors, named after the situations they describe.


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_session() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> SalesforceError:
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def insufficient_access(
    message: str = "insufficient access rights on object id",
) -> SalesforceError:
    return SalesforceError(403, "INSUFFICIENT_ACCESS_OR_READONLY", message)


def entity_is_deleted() -> SalesforceError:
    return SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
