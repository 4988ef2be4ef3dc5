"""Query throughput of the emulator: 2,000-row pages through simple-salesforce over HTTPS.

    .venv/bin/python benchmarks/query.py [--rows 40000]

Prints rows/s and pages/s for `SELECT Id, Name, Industry, BillingCity FROM Account`
(query + queryMore over TLS), the same query through the SOQL engine in-process (no HTTP),
and, as the baseline measured in the same run, a trivial HTTPS request (GET
/services/data/), so the figures read as ratios independent of the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from simple_salesforce import Salesforce

from emulators.salesforce.scenario import Scenario
from emulators.salesforce.server import prepare, start_in_thread

SOQL = "SELECT Id, Name, Industry, BillingCity FROM Account"


def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "org": {
                "name": "Bench",
                "my_domain": "bench.my.salesforce.com",
                "start": "2026-11-02T09:00:00Z",
                "admin_username": "admin@bench.example",
            },
            "users": [
                {
                    "username": "admin@bench.example",
                    "last_name": "Admin",
                    "profile": "System Administrator",
                }
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    running = prepare(scenario(), state_dir=Path(tempfile.mkdtemp(prefix="bench-query-")))
    org = running.org
    industries = ["Logistics", "Retail", "Manufacturing", "Technology", "Other"]
    for i in range(args.rows):
        org.insert_system(
            "Account",
            {
                "Name": f"Account {i:06d}",
                "Industry": industries[i % 5],
                "BillingCity": f"City {i % 300}",
            },
        )
    start_in_thread(running)
    try:
        session = requests.Session()
        session.verify = str(running.ca_bundle)
        session.trust_env = False
        sf = Salesforce(
            instance_url=running.instance_url, session_id=running.access_token, session=session
        )

        trivial = []
        for _ in range(50):
            t = time.perf_counter()
            session.get(running.instance_url + "/services/data/").raise_for_status()
            trivial.append(time.perf_counter() - t)
        base = sorted(trivial)[len(trivial) // 2]

        ctx = org.admin_context()
        engine_best = http_best = float("inf")
        pages = 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = org.query(ctx, SOQL)
            while not result["done"]:
                result = org.query_more(ctx, result["nextRecordsUrl"].rsplit("/", 1)[1])
            engine_best = min(engine_best, time.perf_counter() - t)

            t = time.perf_counter()
            result = sf.query(SOQL)
            pages = 1
            rows = len(result["records"])
            while not result["done"]:
                result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
                pages += 1
                rows += len(result["records"])
            http_best = min(http_best, time.perf_counter() - t)
            assert rows == args.rows, rows
    finally:
        running.stop()

    per_page = http_best / pages
    print(f"rows: {args.rows:,} in {pages} pages of up to 2,000 (best of {args.repeat})")
    print(f"engine, in-process:        {args.rows / engine_best:>12,.0f} rows/s")
    print(
        f"simple-salesforce, HTTPS:  {args.rows / http_best:>12,.0f} rows/s   {pages / http_best:,.1f} pages/s   {per_page * 1000:,.1f} ms/page"
    )
    print(f"baseline, trivial request: {base * 1000:>12,.2f} ms (median of 50)")
    print(f"ratio: one 2,000-row page costs {per_page / base:,.1f}x a trivial HTTPS request")


if __name__ == "__main__":
    main()
