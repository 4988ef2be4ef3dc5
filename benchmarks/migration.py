"""Migration benchmark: one migration's machine time, then 20 migrations at once on one
worker, on the stack a person runs (`handover up --emulators`).

    .venv/bin/python benchmarks/migration.py [--at-once 20]

The org is Loomis (every workload's volume divided by 25) plus N+1 warehouse sites, each a
client-credentials integration running as a person's API Only admin account, like
Loomis' WMS: N+1 findings with ready plans. Nobody waits for people: every gate is
approved the moment its message is posted (the autopilot clicks as Loomis' approvers), and
the verification window is simulated (the org's clock moved with the workloads running).

Figures printed:
- the plan flow's time for one finding (the baseline, measured in this run);
- one migration: wall time from `handover migrate` to its outcome; Prefect's run time
  (the time the worker's flow process ran, over every suspend and resume); the time the
  emulator spent simulating the window; machine time = run time less that simulation
  (the requirement: under 30 s); each as a ratio to the plan flow;
- N migrations at once on the one worker: wall time until all ended, their machine times
  (median, max), and how many migrations per minute that makes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulators.salesforce.scenario import Scenario, load_scenario  # noqa: E402
from handover.cli import prefect_api  # noqa: E402
from handover.cli.autopilot import Autopilot, Event  # noqa: E402
from handover.cli.stack import StackPaths, UpRecord, free_port, read_record  # noqa: E402

LOOMIS = ROOT / "emulators" / "scenarios" / "loomis.yaml"
HANDOVER = Path(sys.executable).with_name("handover")
DAYS = 14


def with_sites(scenario: Scenario, count: int, scale: float = 25) -> Scenario:
    """Loomis, scaled, with ``count`` warehouse sites shaped like its WMS integration."""
    wms = next(w for w in scenario.workloads if w.name == "WMS Order Fulfilment")
    app = next(a for a in scenario.connected_apps if a.name == wms.app)
    rosa = next(u for u in scenario.users if u.username == wms.username)
    workloads = [
        w.model_copy(
            update={
                "schedule": w.schedule.model_copy(
                    update={"calls_per_hour": max(2.0, w.schedule.calls_per_hour / scale)}
                )
            }
        )
        for w in scenario.workloads
    ]
    users, apps = list(scenario.users), list(scenario.connected_apps)
    for i in range(1, count + 1):
        username = f"site{i:02d}.admin@loomis-logistics.com"
        users.append(
            rosa.model_copy(update={"username": username, "first_name": "Site", "last_name": f"Admin {i:02d}", "email": None, "alias": None})
        )  # fmt: skip
        name = f"Warehouse Site {i:02d}"
        apps.append(
            app.model_copy(update={"name": name, "label": None, "consumer_key": f"3MVG9BenchSite{i:02d}{'x' * 60}", "consumer_secret": f"{i:064X}", "client_credentials_user": username})
        )  # fmt: skip
        workloads.append(
            wms.model_copy(update={"name": f"WMS Site {i:02d}", "app": name, "username": username,
                                   "schedule": workloads[0].schedule.model_copy(update={"calls_per_hour": 4.0, "login_every_minutes": 60})})
        )  # fmt: skip
    org = scenario.org.model_copy(
        update={
            "user_licenses": [
                lic.model_copy(update={"total": lic.total + count + 10})
                for lic in scenario.org.user_licenses
            ],
            "permission_set_licenses": [
                lic.model_copy(update={"total": lic.total + count + 10})
                for lic in scenario.org.permission_set_licenses
            ],
        }
    )
    return scenario.model_copy(
        update={"org": org, "users": users, "connected_apps": apps, "workloads": workloads}
    )


def handover(project: Path, env: dict[str, str], *args: str, timeout: float = 900) -> str:
    proc = subprocess.run(
        [str(HANDOVER), *args], cwd=project, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(
            f"handover {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def machine_seconds(record: UpRecord, migration_id: str, pilot: Autopilot) -> float:
    status = pilot.ledger.migration(migration_id)
    assert status is not None and status.flow_run_id is not None
    run = prefect_api.read_run(record.prefect_api_url, status.flow_run_id)
    return float(run.total_run_time.total_seconds())


def start(record: UpRecord, finding_id: str) -> str:
    from handover.cli import migrate as m

    where = m.Target(
        record.prefect_api_url, record.ui_url, record.store_url, record.salesforce_info
    )
    request = m.Request(finding_id, emulator_info=record.salesforce_info)
    migration_id = m.new_id(request)
    m.start(where, request.parameters(migration_id))
    return migration_id


def drive(
    record: UpRecord, ids: list[str]
) -> tuple[float, float, dict[str, Any], dict[str, float]]:
    """(wall seconds, seconds the emulator simulated windows, statuses, machine seconds)."""
    simulated = [0.0]

    def on_event(event: Event) -> None:
        if event.kind == "clock" and event.summary:
            simulated[0] += float(event.summary["wall_seconds"])

    pilot = Autopilot(record, on_event=on_event)
    try:
        started = time.perf_counter()
        ended = pilot.drive(ids, timeout=1800, poll=0.2)
        wall = time.perf_counter() - started
        machine = {i: machine_seconds(record, i, pilot) for i in ids}
    finally:
        pilot.close()
    return wall, simulated[0], ended, machine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--at-once", type=int, default=20, help="migrations started together")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp:
        project = Path(tmp)
        import yaml

        scenario = with_sites(load_scenario(LOOMIS), args.at_once + 1)
        (project / "bench.yaml").write_text(
            yaml.safe_dump(scenario.model_dump(mode="json", exclude_unset=True), sort_keys=False)
        )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("HANDOVER_", "PREFECT_API"))
        }
        env |= {
            "PREFECT_HOME": str(project / ".prefect"), "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "HANDOVER_STACK__PREFECT_PORT": str(free_port()),
            "HANDOVER_APPROVALS__PORT": str(free_port()),
            "HANDOVER_APPROVALS__REAPER_INTERVAL_SECONDS": "1",
            "HANDOVER_STACK__WORKER_QUERY_SECONDS": "1",
            "HANDOVER_VERIFY__POLL_SECONDS": "600",
            "HANDOVER_VERIFY__MIN_EXPECTED_CALLS": "30",
        }  # fmt: skip
        print(
            f"handover up --emulators ({args.at_once + 1} warehouse sites, {DAYS} days) …",
            flush=True,
        )
        t = time.perf_counter()
        handover(
            project,
            env,
            "up",
            "--emulators",
            "--scenario",
            "bench.yaml",
            "--backfill-days",
            str(DAYS),
        )
        print(f"  up in {time.perf_counter() - t:.0f} s", flush=True)
        try:
            record = read_record(StackPaths(project / ".handover"))
            assert record is not None and record.salesforce_info
            info = record.salesforce_info
            findings = json.loads(
                handover(
                    project,
                    env,
                    "discover",
                    "--emulator",
                    info,
                    "--window-days",
                    str(DAYS),
                    "--json",
                )
            )
            sites = sorted(
                (f for f in findings if f["app_name"].startswith("Warehouse Site")),
                key=lambda f: f["app_name"],
            )
            assert len(sites) == args.at_once + 1, [f["app_name"] for f in findings]
            plan_seconds = []
            for f in sites:
                t = time.perf_counter()
                plan = json.loads(
                    handover(
                        project,
                        env,
                        "plan",
                        "--finding",
                        f["finding_id"],
                        "--emulator",
                        info,
                        "--json",
                    )
                )
                plan_seconds.append(time.perf_counter() - t)
                assert plan["status"] == "ready", plan.get("blockers")
            baseline = statistics.median(plan_seconds)
            print(
                f"plan flow (`handover plan`, median of {len(sites)}): {baseline:.1f} s — the baseline",
                flush=True,
            )

            wall, simulated, ended, machine = drive(record, [start(record, sites[0]["finding_id"])])
            [(one_id, status)] = ended.items()
            assert status.outcome == "successful", status
            one = machine[one_id] - simulated
            print(
                f"one migration (4 gates clicked at once, window simulated): wall {wall:.1f} s · "
                f"run time {machine[one_id]:.1f} s · window simulation {simulated:.1f} s · "
                f"machine time {one:.1f} s = {one / baseline:.1f}x the plan flow "
                f"({'under' if one < 30 else 'OVER'} the 30 s target)",
                flush=True,
            )

            ids = [start(record, f["finding_id"]) for f in sites[1:]]
            wall, simulated, ended, machine = drive(record, ids)
            outcomes = Counter(str(s.outcome) for s in ended.values())
            each = [machine[i] for i in ids]
            for i, s in ended.items():
                if s.outcome != "successful":
                    run = prefect_api.read_run(record.prefect_api_url, s.flow_run_id or "")
                    print(
                        f"  {i}: {s.outcome} ({s.outcome_reason}); run {prefect_api.state_name(run)}: {run.state.message if run.state else ''}"
                    )
            print(
                f"{len(ids)} migrations at once on one worker: {dict(outcomes)} in {wall:.0f} s wall "
                f"({len(ids) / wall * 60:.1f} migrations/min; {wall / len(ids):.1f} s each on average "
                f"= {wall / len(ids) / baseline:.1f}x the plan flow); run time each: median "
                f"{statistics.median(each):.1f} s, max {max(each):.1f} s; window simulated once: "
                f"{simulated:.1f} s",
                flush=True,
            )
        finally:
            handover(project, env, "down", timeout=120)


if __name__ == "__main__":
    main()
