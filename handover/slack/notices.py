"""Notices in a migration's Slack thread (how it ended; the alert when verification failed
and it was rolled back). The wording is ``templates/slack/migration_notice.json.j2``; the
thread is the one the migration's first gate opened."""

from __future__ import annotations

import json

from handover.blockkit import block_kit_problems
from handover.render import environment

from .digest import RenderedMessage
from .gatebook import GateBook
from .gateway import SlackGateway
from .revoke_now import revoke_value
from .text import clip, mrkdwn

NOTICE = "slack/migration_notice.json.j2"


def render_notice(
    kind: str,
    *,
    migration_id: str,
    app_name: str,
    human: str,
    new_user: str,
    outcome: str | None,
    reason: str | None,
    reasons: list[str],
    run_url: str | None,
) -> RenderedMessage:
    rendered = environment().get_template(NOTICE).render(
        kind=kind, migration_id=migration_id, app_name=app_name, human=human,
        new_user=new_user, outcome=outcome, reason=reason, reasons=reasons,
        run_url=run_url, revoke_value=revoke_value(migration_id), mrkdwn=mrkdwn, clip=clip,
    )  # fmt: skip
    message = RenderedMessage.model_validate(json.loads(rendered))
    problems = block_kit_problems(message.blocks, text=message.text)
    if problems:
        raise ValueError(f"{NOTICE} broke Block Kit limits: {'; '.join(problems)}")
    return message


def post_notice(
    book: GateBook, slack: SlackGateway, migration_id: str, channel: str, message: RenderedMessage
) -> None:
    """Post in the migration's thread (in the channel when no gate opened one)."""
    thread = book.thread_of(migration_id)
    slack.post(
        thread[0] if thread else channel,
        text=message.text,
        blocks=message.blocks,
        thread_ts=thread[1] if thread else None,
    )
