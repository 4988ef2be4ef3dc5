"""Pre-rendered records for bulk generation (the backfill writes millions of rows).

A template is the CSV record of a prototype ApiCall, rendered by ``csvfmt`` like any live
call, with the per-call parts turned into ``%``-format slots: ``%(ts)s`` (TIMESTAMP),
``%(tsd)s`` (TIMESTAMP_DERIVED), ``%(rid)s`` (REQUEST_ID), ``%(rec)s`` / ``%(rec15)s`` (the
record id, or an external-id value). Per-session parts (SESSION_KEY, LOGIN_KEY, CLIENT_IP)
are sentinels substituted once per session by :meth:`CallTemplate.bind`. Because the
template comes from the same encoder, a generated record is byte-identical to what
``EventStore.record_api_call`` writes for the equivalent call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..ids import to18
from .columns import column_index
from .csvfmt import api_call_values, quote, render
from .events import B64, ApiCall, request_id_prefix

# Sentinels: characters no real value of these columns contains.
SESSION_KEY = "@@SK@@"
LOGIN_KEY = "@@LK@@"
CLIENT_IP = "@@IP@@"
EXTERNAL_VALUE = "@@EXT@@"

# TIMESTAMP pieces: "HHMMSS" and "HH:MM:SS" per second of the day, "SSS" per millisecond.
SECONDS_COMPACT = [f"{s // 3600:02d}{s // 60 % 60:02d}{s % 60:02d}" for s in range(86_400)]
SECONDS_ISO = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
MILLIS = [f"{i:03d}" for i in range(1000)]
# REQUEST_ID pieces: the last two time characters (4096 seconds) and the millisecond.
ID_TIME_LOW = [B64[(v >> 6) & 63] + B64[v & 63] for v in range(4096)]
ID_MILLIS = [B64[ms >> 6] + B64[ms & 63] for ms in range(1000)]


def id_time_high(epoch_second: int) -> str:
    """The first three time characters of a REQUEST_ID (they change every 4096 s)."""
    return request_id_prefix(epoch_second)[:3]


def record_placeholder(key_prefix: str) -> str:
    """An 18-character id standing for 'the record of this call' in a prototype."""
    return to18(key_prefix + "PHzzPHzzPHzz")


def _escape(value: str) -> str:
    return value.replace("%", "%%")


@dataclass(frozen=True, slots=True)
class CallTemplate:
    atu: str  # the ApiTotalUsage record
    paid_type: str | None  # RestApi / API / BulkApi, or None without Event Monitoring
    paid: str | None

    def bind(self, session_key: str, login_key: str, client_ip: str) -> tuple[str, str | None]:
        """The session's templates: only the per-call slots are left."""
        subs = [
            (quote(SESSION_KEY), _escape(quote(session_key))),
            (quote(LOGIN_KEY), _escape(quote(login_key))),
            (quote(CLIENT_IP), _escape(quote(client_ip))),
        ]
        out = []
        for text in (self.atu, self.paid):
            if text is not None:
                for old, new in subs:
                    text = text.replace(old, new)
            out.append(text)
        return out[0] or "", out[1]


def build_template(
    proto: ApiCall, org15: str, *, paid: bool, record: str | None = None
) -> CallTemplate:
    """`proto` carries the sentinels above for the session parts; `record` is the
    placeholder id (or EXTERNAL_VALUE) its uri / api_resource / batch_id contains."""
    proto = replace(proto, session_key=SESSION_KEY, login_key=LOGIN_KEY, client_ip=CLIENT_IP)
    rendered: dict[str, str] = {}
    for event_type, values in api_call_values(proto, org15, paid=paid):
        idx = column_index(event_type)
        values = [_escape(v) for v in values]
        values[idx["TIMESTAMP"]] = "%(ts)s"
        values[idx["TIMESTAMP_DERIVED"]] = "%(tsd)s"
        values[idx["REQUEST_ID"]] = "%(rid)s"
        if record is not None:
            # 18 before 15: the 15-character form is a prefix of the 18-character one.
            slots = (
                [(record, "%(rec)s")]
                if record == EXTERNAL_VALUE
                else [(record, "%(rec)s"), (record[:15], "%(rec15)s")]
            )
            for i, v in enumerate(values):
                for old, new in slots:
                    v = v.replace(old, new)
                values[i] = v
        rendered[event_type] = render(values)
    paid_type = next((t for t in rendered if t != "ApiTotalUsage"), None)
    return CallTemplate(
        rendered["ApiTotalUsage"], paid_type, rendered[paid_type] if paid_type else None
    )
