"""Every slack_sdk exception maps to a handover error; transient ones are told apart."""

from __future__ import annotations

import inspect
from urllib.error import URLError

import pytest
from slack_sdk import errors as sdk
from slack_sdk.web import SlackResponse

from handover.errors import SlackGatewayError, TransientSlackError
from handover.slack.translate import EXCEPTION_MAP, translate, translated


def test_every_slack_sdk_exception_is_mapped() -> None:
    classes = {
        c
        for _, c in inspect.getmembers(sdk, inspect.isclass)
        if issubclass(c, Exception) and c.__module__ == sdk.__name__
    }
    mapped = {c for c, _ in EXCEPTION_MAP}
    assert classes - mapped == set(), "map these in handover/slack/translate.py"


def _api_error(code: str, status: int = 200) -> sdk.SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.update",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=status,
    )
    return sdk.SlackApiError(f"The request to the Slack API failed. {code}", response)


@pytest.mark.parametrize(
    ("exc", "expected", "says"),
    [
        (_api_error("missing_scope"), SlackGatewayError, "add the missing scope"),
        (_api_error("not_in_channel"), SlackGatewayError, "/invite @handover"),
        (_api_error("ratelimited", 429), TransientSlackError, "transient"),
        (_api_error("fatal_error"), TransientSlackError, "transient"),
        (_api_error("", 503), TransientSlackError, "http_503"),
        (URLError("refused"), TransientSlackError, "connection_error"),
        (sdk.SlackRequestError("bad"), SlackGatewayError, "client_error"),
    ],
)
def test_translation(exc: Exception, expected: type, says: str) -> None:
    out = translate(exc, what="updating the gate message")
    assert type(out) is expected
    assert str(out).startswith("updating the gate message: ") and says in str(out)


def test_translated_raises_ours_and_never_the_token() -> None:
    with pytest.raises(SlackGatewayError) as info, translated("reading a user"):
        raise _api_error("invalid_auth")
    assert info.value.error_code == "invalid_auth" and "xoxb" not in str(info.value)
    assert isinstance(info.value.__cause__, sdk.SlackApiError)
