"""``python -m emulators.salesforce.workloads``: run scenario workloads against a running
emulator and print a summary per workload (never a token, password, key or secret).

    python -m emulators.salesforce.workloads --info var/emulator.json \\
        --scenario emulators/scenarios/loomis.yaml --workload "MuleSoft NetSuite Sync" --calls 50
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..scenario import load_scenario
from .runner import run_workload


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.salesforce.workloads",
        description="Run scenario workloads against a running emulator.",
    )
    parser.add_argument("--info", required=True, type=Path, help="the emulator's --info JSON file")
    parser.add_argument(
        "--scenario",
        required=True,
        type=Path,
        help="the scenario YAML the emulator was started with",
    )
    parser.add_argument(
        "--workload", action="append", help="a workload name (repeatable; default: all)"
    )
    parser.add_argument("--calls", type=int, default=20, help="calls per workload (default 20)")
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        default=None,
        help="default: the info file's credentials_dir",
    )
    args = parser.parse_args(argv)
    info = json.loads(args.info.read_text())
    scenario = load_scenario(args.scenario)
    names = args.workload or [w.name for w in scenario.workloads]
    failed = False
    for name in names:
        try:
            result = run_workload(
                info, scenario, name, calls=args.calls, credentials_dir=args.credentials_dir
            )
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(result.summary())
        failed |= not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
