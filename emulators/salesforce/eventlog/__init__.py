"""The event log of the emulated org: API calls and logins become EventLogFile CSV files.

``events`` holds what the backend reports, ``csvfmt`` turns it into the real files' rows
(``columns`` lists them), ``store`` buckets rows per day and publishes the daily files,
``templates``, ``synth`` and ``logins`` generate history in bulk for the backfill.
"""

from .events import ApiCall, LoginEvent, new_key, new_request_id
from .store import EventStore

__all__ = ["ApiCall", "EventStore", "LoginEvent", "new_key", "new_request_id"]
