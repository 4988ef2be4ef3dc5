"""``python -m emulators.slack --port N --info FILE --actions-url URL [--scenario FILE]``
(and ``handover emulator slack``, which calls ``run``): serve the Slack emulator until
Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .scenario import SlackScenarioError, workspace_from_scenario
from .server import RunningSlack, serve_forever


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emulators.slack", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--info", type=Path, help="write the connection info JSON here once serving")
    p.add_argument(
        "--actions-url",
        help="the app's Request URL, where clicks are delivered (e.g. the approval service's "
        "http://127.0.0.1:8787/slack/actions)",
    )
    p.add_argument("--scenario", type=Path, help="scenario YAML whose slack_users to serve")
    return p


def run(*, port: int, info: Path | None, actions_url: str | None, scenario: Path | None) -> int:
    """Serve; 0 after a clean stop, 2 when the scenario cannot make a workspace."""
    try:
        workspace = workspace_from_scenario(scenario)
    except SlackScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def ready(running: RunningSlack) -> None:
        print(f"Slack emulator for {workspace.team_name} at {running.base_url}", file=sys.stderr)
        if info is not None:
            print(f"connection info: {info}", file=sys.stderr)

    try:
        serve_forever(
            workspace, port=port or None, info_path=info, actions_url=actions_url, on_ready=ready
        )
    except RuntimeError as exc:
        print(f"error: {exc}. Try --port 0.", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run(port=args.port, info=args.info, actions_url=args.actions_url, scenario=args.scenario)
