"""Backfill benchmark: 30 days of history with a 5,000 calls/hour workload, Event Monitoring on.

    .venv/bin/python benchmarks/backfill.py              # emulators/scenarios/loomis.yaml
    .venv/bin/python benchmarks/backfill.py --synthetic  # one 5,000/h REST workload only

Prints the events generated, seconds, events/s, peak RSS and the compressed bytes the store
holds, and, measured in the same run on a sample, the naive path (one ApiCall object per
call through EventStore.record_api_call) as a ratio. The requirement: under 60 s on a
2-core machine, with bounded memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.salesforce.backfill import MemoryTarget, backfill
from emulators.salesforce.clock import SimClock
from emulators.salesforce.eventlog.events import ApiCall, new_key, new_request_id
from emulators.salesforce.eventlog.store import EventStore
from emulators.salesforce.ids import IdFactory
from emulators.salesforce.scenario import Scenario, load_scenario

LOOMIS = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "loomis.yaml"


def synthetic() -> Scenario:
    return Scenario.model_validate(
        {
            "org": {
                "name": "Bench",
                "my_domain": "bench.my.salesforce.com",
                "event_monitoring": True,
                "start": "2026-11-02T09:00:00Z",
                "admin_username": "admin@bench.example",
            },
            "workloads": [
                {
                    "name": "order-sync",
                    "app": "Order Sync",
                    "username": "dana@bench.example",
                    "ground_truth": "integration_under_human",
                    "auth": "jwt_bearer",
                    "source_ips": ["203.0.113.21", "203.0.113.22"],
                    "schedule": {
                        "calls_per_hour": 5000,
                        "login_every_minutes": 120,
                        "jitter": 0.05,
                    },
                    "calls": [
                        {
                            "object": "Account",
                            "operation": "query",
                            "fields": ["Id", "Name", "BillingCity"],
                        },
                        {
                            "object": "Order",
                            "operation": "upsert",
                            "external_id_field": "ERP_Order_Id__c",
                            "weight": 3,
                        },
                        {"object": "OrderItem", "operation": "create", "weight": 3},
                        {"object": "Order", "operation": "update", "weight": 1.5},
                        {"object": "OrderItem", "operation": "delete", "weight": 0.2},
                    ],
                }
            ],
        }
    )


def new_target(sc: Scenario) -> MemoryTarget:
    ids = IdFactory(1)
    store = EventStore(
        org_id=ids.new("00D"),
        event_monitoring=sc.org.event_monitoring,
        retention_days=sc.retention_days,
        ids=ids,
    )
    return MemoryTarget(store, SimClock(sc.org.start), ids)


def naive(sc: Scenario, n: int) -> float:
    """Seconds for n calls the naive way: an ApiCall each, recorded one by one, then sealed."""
    target = new_target(sc)
    w = next(w for w in sc.workloads if w.api_family == "REST")
    user = target.user_by_username(w.username) or {}
    app = target.connected_app_by_name(w.app) or {}
    rng = random.Random(1)
    day = datetime.combine(target.clock.today() - timedelta(days=1), datetime.min.time(), UTC)
    ids = IdFactory(9)
    started = time.perf_counter()
    for i in range(n):
        spec = rng.choices(w.calls, weights=[c.weight for c in w.calls])[0]
        when = day + timedelta(milliseconds=i * 86_400_000 // n)
        path = f"/v59.0/sobjects/{spec.object}" + (
            f"/{ids.new('801')}" if spec.operation in ("update", "delete") else ""
        )
        target.events.record_api_call(
            ApiCall(
                timestamp=when,
                request_id=new_request_id(when, rng),
                user_id=user["Id"],
                username=w.username,
                session_key=new_key(rng),
                login_key=new_key(rng),
                api_family="REST",
                api_version="59.0",
                api_resource=path,
                http_method={"query": "GET", "create": "POST", "delete": "DELETE"}.get(
                    spec.operation, "PATCH"
                ),
                uri="/services/data" + path,
                entity_name=spec.object,
                operation=spec.operation,
                status_code=200,
                client_ip=w.source_ips[0],
                client_name=w.client_name,
                connected_app_id=app.get("Id"),
                connected_app_name=w.app,
                user_agent=w.user_agent,
                counts_against_limit=True,
                rows_processed=rng.randrange(50),
                run_time_ms=rng.randrange(20, 300),
                cpu_time_ms=rng.randrange(5, 100),
            )
        )
    target.events.published_files(target.clock.now())  # compress, as the backfill does
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the pool's workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--synthetic", action="store_true", help="one 5,000/h workload instead of loomis.yaml"
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: automatic)")
    parser.add_argument("--sample", type=int, default=50_000, help="calls for the naive baseline")
    args = parser.parse_args()

    sc = synthetic() if args.synthetic or not LOOMIS.exists() else load_scenario(LOOMIS)
    target = new_target(sc)
    cpu_before = _cpu_seconds()
    report = backfill(target, sc, args.days, workers=args.workers)
    cpu = _cpu_seconds() - cpu_before
    stats = target.events.stats()
    rows = sum(report.rows_by_type.values())
    rss_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    # The naive baseline, single process, on a sample; compared with a serial fast run of
    # one day so that both sides use one core.
    naive_s = naive(sc, args.sample)
    one_day = backfill(new_target(sc), sc, 1, workers=1)

    source = "synthetic (one 5,000/h workload)" if sc.org.name == "Bench" else f"{LOOMIS.name}"
    print(
        f"scenario              {source}, {args.days} days, Event Monitoring {sc.org.event_monitoring}"
    )
    for name, calls in report.calls_by_workload.items():
        print(f"  {name:<28} {calls:>10,} calls")
    print(f"API calls             {report.api_calls:,}")
    print(
        f"logins                {report.logins:,} (+ {report.token_refreshes:,} refresh-token uses)"
    )
    print(f"event rows            {rows:,}  {dict(report.rows_by_type)}")
    print(
        f"seconds               {report.seconds:.1f} wall, {cpu:.1f} CPU in all processes "
        f"(workers: {report.workers}; the wall time depends on other load on the machine)"
    )
    print(
        f"events/s              {rows / report.seconds:,.0f} rows/s, {report.api_calls / report.seconds:,.0f} calls/s"
    )
    print(f"peak RSS              main {rss_main:,.0f} MiB, worker {rss_children:,.0f} MiB")
    print(
        f"held                  {stats['compressed_bytes'] / 2**20:,.1f} MiB compressed "
        f"for {stats['body_bytes'] / 2**20:,.1f} MiB of CSV ({stats['body_bytes'] / max(1, stats['compressed_bytes']):.1f}x)"
    )
    fast_per_call = one_day.seconds / max(1, one_day.api_calls)
    naive_per_call = naive_s / args.sample
    print(
        f"naive baseline        {args.sample:,} calls in {naive_s:.1f} s = {naive_per_call * 1e6:.1f} us/call; "
        f"templates, 1 process: {fast_per_call * 1e6:.1f} us/call -> {naive_per_call / fast_per_call:.1f}x faster"
    )
    print(f"naive, extrapolated   {naive_per_call * report.api_calls:.0f} s for this backfill")


if __name__ == "__main__":
    main()
