"""slack_sdk's exceptions -> handover errors, in one place, from one table.

What a person must fix (a missing scope, a bot not in the channel) is told apart from what
passes on its own (a 429 that outlasted the retries, Slack's 5xx, the network), and the
message says what to do next. Nothing above this module looks at slack_sdk's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import URLError

from slack_sdk import errors as sdk

from ..errors import SlackGatewayError, TransientSlackError
from .client import error_code, failure_hint

# Slack error codes that pass on their own (the Web API's documented "try again" codes).
TRANSIENT_CODES = frozenset(
    {
        "ratelimited",
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
        "connection_error",
    }
)

# slack_sdk exception class -> handover class (ordered: most specific first).
# tests/unit/test_slack_translate.py fails if slack_sdk gains a class missing here.
EXCEPTION_MAP: list[tuple[type[Exception], type[SlackGatewayError]]] = [
    (sdk.SlackApiError, SlackGatewayError),  # Slack answered {"ok": false, "error": code}
    (sdk.SlackRequestError, SlackGatewayError),  # slack_sdk refused to send the request
    (sdk.SlackClientNotConnectedError, TransientSlackError),  # Socket Mode, not used here
    (sdk.SlackTokenRotationError, SlackGatewayError),
    (sdk.SlackClientConfigurationError, SlackGatewayError),
    (sdk.SlackObjectFormationError, SlackGatewayError),
    (sdk.BotUserAccessError, SlackGatewayError),
    (sdk.SlackClientError, SlackGatewayError),
]


def translate(exc: Exception, *, what: str) -> SlackGatewayError:
    """The handover error for a failed Slack call; ``what`` names the call for the message.
    The message never holds a token: only Slack's error code and what to do about it."""
    code = error_code(exc)
    if code in TRANSIENT_CODES or code.startswith("http_5"):
        return TransientSlackError(
            f"{what}: {code}{failure_hint(code)} (transient; try again)", error_code=code
        )
    for sdk_cls, ours in EXCEPTION_MAP:
        if isinstance(exc, sdk_cls):
            return ours(f"{what}: {code}{failure_hint(code)}", error_code=code)
    return SlackGatewayError(f"{what}: {code}{failure_hint(code)}", error_code=code)


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except SlackGatewayError:
        raise
    except (sdk.SlackClientError, URLError, OSError) as exc:
        raise translate(exc, what=what) from exc
