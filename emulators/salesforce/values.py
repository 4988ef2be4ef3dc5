"""Field values between JSON (the wire) and Python (the store), with Salesforce's errors."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from typing import Any

from .exceptions import SalesforceError
from .ids import is_valid_id, to18
from .schema import FieldDef

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def format_datetime(value: datetime) -> str:
    """Salesforce's REST datetime form: 2024-05-01T13:04:05.000+0000."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def to_json(fdef: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _parse_datetime(text: str) -> datetime:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", t):
        t = t[:-2] + ":" + t[-2:]
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _deserialize_error(kind: str, value: Any) -> SalesforceError:
    shown = value if isinstance(value, str) else repr(value)
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {shown} or request may be missing a required field",
    )


def from_json(object_name: str, fdef: FieldDef, value: Any) -> Any:
    """Coerce a JSON value for ``fdef``; raises the error Salesforce gives for bad input."""
    if value is None or (value == "" and fdef.type not in ("string", "textarea")):
        return None
    t = fdef.type
    try:
        if t == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise _deserialize_error("boolean", value)
        if t == "int":
            if isinstance(value, bool):
                raise _deserialize_error("int", value)
            return int(value)
        if t in ("double", "currency", "percent"):
            if isinstance(value, bool):
                raise _deserialize_error("double", value)
            return float(value)
        if t == "date":
            return date.fromisoformat(str(value)[:10])
        if t == "datetime":
            return _parse_datetime(str(value))
        if t in ("reference", "id"):
            if not isinstance(value, str) or not is_valid_id(value):
                raise SalesforceError(
                    400,
                    "MALFORMED_ID",
                    f"{fdef.label or fdef.name}: id value of incorrect type: {value}",
                    [fdef.name],
                )
            return to18(value)
        if t == "base64":
            return base64.b64decode(value)
    except SalesforceError:
        raise
    except (TypeError, ValueError):
        raise _deserialize_error(
            {"date": "date", "datetime": "datetime"}.get(t, t), value
        ) from None
    text = value if isinstance(value, str) else str(value)
    if fdef.length and len(text) > fdef.length:
        raise SalesforceError(
            400,
            "STRING_TOO_LONG",
            f"{fdef.label or fdef.name}: data value too large: {text[:40]} (max length={fdef.length})",
            [fdef.name],
        )
    if t == "email" and text and not _EMAIL.match(text):
        raise SalesforceError(
            400,
            "INVALID_EMAIL_ADDRESS",
            f"{fdef.label or fdef.name}: invalid email address: {text}",
            [fdef.name],
        )
    if (
        t == "picklist"
        and fdef.restricted_picklist
        and fdef.picklist_values
        and text not in fdef.picklist_values
    ):
        raise SalesforceError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{fdef.label or fdef.name}: bad value for restricted picklist field: {text}",
            [fdef.name],
        )
    return text
