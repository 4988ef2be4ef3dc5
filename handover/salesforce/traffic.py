"""Who logged in through an app over a window, read from LoginHistory (verification: the
app's logins now come from the new user, none from the human). LoginHistory keeps each
login with its exact time, so the window needs no rounding; the Application it names is
matched here (LoginHistory cannot filter on it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from .. import ids
from ..datetimes import soql_datetime
from ..errors import SalesforceGatewayError
from ..usage.decode import application_key
from .gateway import SalesforceGateway


def app_logins(
    gateway: SalesforceGateway,
    user_ids: Iterable[str],
    app_names: Iterable[str],
    start: datetime,
    end: datetime,
) -> dict[str, int]:
    """Successful logins through the app in [start, end), by user id (18 characters)."""
    wanted = sorted({ids.to18(u) for u in user_ids if _valid(u)})
    if not wanted:
        return {}
    names = {application_key(n) for n in app_names if n}
    listed = ", ".join(f"'{u}'" for u in wanted)
    rows = gateway.query_all(
        f"SELECT UserId, Application, Status FROM LoginHistory WHERE UserId IN ({listed}) "
        f"AND LoginTime >= {soql_datetime(start)} AND LoginTime < {soql_datetime(end)}",
        what="reading the verification window's logins (LoginHistory)",
    )
    counts: Counter[str] = Counter()
    for r in rows:
        if (
            r.get("Status") == "Success"
            and application_key(str(r.get("Application") or "")) in names
        ):
            counts[ids.to18(str(r["UserId"]))] += 1
    return dict(counts)


def _valid(user_id: str) -> bool:
    if not ids.is_valid_id(user_id):
        raise SalesforceGatewayError(f"{user_id!r} is not a Salesforce user id")
    return True
