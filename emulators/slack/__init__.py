"""A local Slack: the Web API methods handover calls, and signed button clicks.

The real slack-sdk ``WebClient`` talks to it over HTTP, unmodified, with
``base_url=running.base_url``. Layout (moto style): ``models.py`` is the workspace (users,
channels, messages, user groups, tokens) with one method per Slack method; ``views.py`` the
modals (views.open / views.update and their triggers); ``entities.py`` the objects and
their JSON; ``blocks.py`` Block Kit limits; ``exceptions.py`` the error codes; ``faults.py``
the switches for 429s and outages; ``responses.py`` the wire format; ``control.py`` the
emulator's own ``/__emulator/messages`` and ``/__emulator/click``; ``server.py`` runs it;
``clicks.py`` delivers signed ``block_actions`` and ``view_submission`` to an app;
``scenario.py`` reads a scenario's ``slack_users``; ``cli.py`` is ``python -m emulators.slack``.

    running = start_in_thread()
    client = WebClient(token=running.bot_token, base_url=running.base_url)
    client.chat_postMessage(channel="#handover", text="hi")
    running.state.posted("handover")[-1].text  # "hi"
    running.stop()
"""

from .clicks import ClickResult, SignedRequest, build_click, click
from .exceptions import SlackError
from .models import Workspace
from .server import RunningSlack, serve_forever, start_in_thread

__all__ = [
    "ClickResult",
    "RunningSlack",
    "SignedRequest",
    "SlackError",
    "Workspace",
    "build_click",
    "click",
    "serve_forever",
    "start_in_thread",
]
