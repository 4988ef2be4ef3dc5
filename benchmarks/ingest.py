"""Ingestion benchmark: handover's ApiTotalUsage ingestion vs a naive baseline.

Generates an ApiTotalUsage CSV of N rows (realistic columns, cardinalities and quoting:
every value quoted, embedded quotes, commas and the odd newline), then runs, each in its
own process so peak RSS is its own:

* handover  - ``UsageStore.ingest_event_log`` into a temporary SQLite store (the real
              path: parse, aggregate, write aggregates + the ingested-file record);
* baseline  - ``csv.DictReader`` + dict counting per (day, hour, user, app, client,
              family, entity, method, status);
* duckdb    - the limit: a bare DuckDB group-by of the same file on the key columns (user,
              app id, client, family, entity, method, status, hour), nothing else;
* duckdb-read - the floor: DuckDB reading the 11 columns handover's aggregates need (the
              limit's 8, the REST path, the source IP, the app's name), no grouping;
* with ``--candidates``, the other ways considered: stdlib ``csv.reader`` by header index,
  polars' own streaming engine (``scan_csv`` + ``group_by``), and DuckDB doing handover's
  whole streaming pass (path shapes by the same expressions, IPs, app names, hours).

Prints rows/s, peak RSS and CPU seconds (the whole child process) of each, handover's
rows/s as a ratio of the bare DuckDB group-by's (target >= 0.8x, with peak RSS <= 300 MB
at 5 M rows), the floor as a ratio of the limit (how much of the gap is reading more
columns) and, as before, handover's speed-up over the naive baseline.

    python benchmarks/ingest.py                 # 5 M rows
    python benchmarks/ingest.py --rows 200000   # a quick smoke run
    python benchmarks/ingest.py --repeat 3      # best of 3 per contender (a busy machine)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# The order of a published sample (reference §2.4); the parser finds columns by name.
HEADER = [
    "EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "API_FAMILY",
    "API_VERSION", "API_RESOURCE", "CLIENT_NAME", "HTTP_METHOD", "CLIENT_IP",
    "COUNTS_AGAINST_API_LIMIT", "CONNECTED_APP_ID", "ENTITY_NAME", "STATUS_CODE",
    "CONNECTED_APP_NAME", "USER_NAME", "TIMESTAMP_DERIVED",
]  # fmt: skip
DAY = date(2026, 11, 1)
ORG = "00D5g0000012345"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B64 = B62 + "-_"
OBJECTS = [
    "Account", "Contact", "Opportunity", "Lead", "Case", "Order", "OrderItem", "Product2",
    "Pricebook2", "PricebookEntry", "Task", "Event", "User", "Campaign", "CampaignMember",
    "ContentDocument", "ContentVersion", "Quote", "QuoteLineItem", "Contract", "Asset",
    "Invoice__c", "Shipment__c", "Carrier__c", "Route__c", "Stop__c", "Rate__c",
    *[f"Custom{i}__c" for i in range(33)],
]  # fmt: skip
APPS = (
    "MuleSoft NetSuite Sync", "Marketing Cloud Connector", "Tableau, BI extract", "Zapier",
    "Slack for Salesforce", 'Acme "Orders" Bridge', "Salesforce Mobile", "Workbench",
    "Data Loader", "Outlook Integration", "DocuSign", "Jira Cloud", "HubSpot", "Gong",
    "Outreach", "ZoomInfo", "Segment", "Fivetran", "Airbyte", "Census",
)  # fmt: skip
CLIENTS = ("Workbench/29.0.9i", "DataLoaderBulkUI/", "MuleSoft, v4.4", 'sfdx "toolbelt"',
           "simple-salesforce/1.12.10", "jsforce-2.0", "Fivetran", "legacy\nclient")  # fmt: skip
SOAP_OPS = ("query", "create", "update", "upsert", "delete", "retrieve", "describeSObjects",
            "queryAll", "queryMore", "getUserInfo")  # fmt: skip
REST_OPS = ("query", "create", "update", "upsert", "retrieve", "describe", "delete")


# ---------------------------------------------------------------------- the data


def _q(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "5g0" + "".join(rng.choices(B62, k=9))


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))


def _users(rng: random.Random, count: int) -> tuple[list[tuple], list[float]]:
    """A dozen integrations carry most traffic; each user keeps its app, client, a few
    source IPs and a few (object, operation) kinds, as real integrations do."""
    prefixes = {o: f"a{i:02d}" for i, o in enumerate(OBJECTS)}
    apps = [(_id(rng, "0H4"), name) for name in APPS]
    users, weights = [], []
    for i in range(count):
        heavy = i < 12
        app = rng.choice(apps) if rng.random() < 0.7 else None
        client = rng.choice(CLIENTS) if rng.random() < 0.5 else ""
        fams = [rng.choices(("REST", "SOAP", "Bulk"), (6, 3, 1))[0]] if heavy else ["REST", "SOAP"]
        kinds = []
        for obj in rng.sample(OBJECTS, rng.randint(2, 6) if heavy else rng.randint(1, 3)):
            for fam in fams:
                ops = (
                    ["bulk"]
                    if fam == "Bulk"
                    else rng.sample(SOAP_OPS if fam == "SOAP" else REST_OPS, rng.randint(1, 3))
                )
                kinds += [(fam, obj, op, prefixes[obj]) for op in ops]
        ips = [_ip(rng) for _ in range(rng.randint(1, 4))]
        users.append((_id(rng, "005"), f"user{i}@loomis.example.com", app, client, kinds, ips))
        weights.append(300.0 if heavy else 20.0 if i < 50 else 1.0)
    return users, weights


def _call(rng: random.Random, fam: str, obj: str, op: str, prefix: str) -> tuple[str, str, str]:
    """(API_RESOURCE, HTTP_METHOD, STATUS_CODE) of one call."""
    if fam == "SOAP":
        return op, "POST", "200"
    if fam == "Bulk":
        return f"/59.0/job/{_id(rng, '750')}/batch", "POST", "201"
    if op == "query":
        return "/v59.0/query", "GET", "200"
    if op == "create":
        return f"/v59.0/sobjects/{obj}", "POST", "201"
    if op == "upsert":
        return f"/v59.0/sobjects/{obj}/Ext_Id__c/EXT-{rng.randrange(10**7):07d}", "PATCH", "204"
    if op == "describe":
        return f"/v59.0/sobjects/{obj}/describe", "GET", "200"
    method = {"update": "PATCH", "retrieve": "GET", "delete": "DELETE"}[op]
    return f"/v59.0/sobjects/{obj}/{_id(rng, prefix)}", method, "200" if op == "retrieve" else "204"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """One day of ApiTotalUsage, time-ordered, quoted like the real files (reference §2.3)."""
    rng = random.Random(seed)
    users, weights = _users(rng, 300)
    start = datetime.combine(DAY, datetime.min.time(), UTC)
    step = 86_400_000 / max(rows, 1)
    second = (-1, "", "")
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(_q(h) for h in HEADER) + "\n")
        done = 0
        while done < rows:
            n = min(20_000, rows - done)
            buf = []
            for j, (uid, uname, app, client, kinds, ips) in enumerate(
                rng.choices(users, weights=weights, k=n)
            ):
                sec, ms = divmod(int((done + j) * step), 1000)
                if sec != second[0]:
                    t = start + timedelta(seconds=sec)
                    second = (sec, f"{t:%Y%m%d%H%M%S}", f"{t:%Y-%m-%dT%H:%M:%S}")
                fam, obj, op, prefix = rng.choice(kinds)
                res, method, status = _call(rng, fam, obj, op, prefix)
                if rng.random() < 0.015:
                    status = rng.choice(("400", "401", "404", "500", "503"))
                buf.append(
                    f'"ApiTotalUsage","{second[1]}.{ms:03d}",'
                    f'"{"".join(rng.choices(B64, k=21))}-","{ORG}","{uid}","{fam}","59.0",'
                    f'{_q(res)},{_q(client)},"{method}","{rng.choice(ips)}",'
                    f'"{"1" if rng.random() < 0.98 else "0"}","{app[0] if app else ""}",'
                    f'"{"" if op == "getUserInfo" else obj}","{status}",'
                    f'{_q(app[1] if app else "")},"{uname}","{second[2]}.{ms:03d}Z"\n'
                )
            out.write("".join(buf))
            done += n


# ---------------------------------------------------------------------- contenders


def run_handover(path: Path) -> tuple[int, float]:
    """The timed part is ``ingest_event_log`` alone: imports and creating the store are a
    fixed cost of a run, not of a file's size."""
    from handover.usage import EventLogFileMeta, UsageStore
    from handover.usage.parse import tune_polars

    tune_polars(os.environ)  # as the CLI and the flows do
    with tempfile.TemporaryDirectory() as tmp:
        store = UsageStore(f"sqlite:///{tmp}/bench.db")
        meta = EventLogFileMeta("0AT5g00000BENCH", "ApiTotalUsage", DAY, path.stat().st_size)
        t0 = time.perf_counter()
        result = store.ingest_event_log(ORG, meta, path)
        seconds = time.perf_counter() - t0
        store.close()
    return result.rows, seconds


def _timed(fn: Callable[[Path], int]) -> Callable[[Path], tuple[int, float]]:
    def run(path: Path) -> tuple[int, float]:
        t0 = time.perf_counter()
        rows = fn(path)
        return rows, time.perf_counter() - t0

    return run


def run_baseline(path: Path) -> int:
    counts: dict[tuple[str, ...], int] = {}
    rows = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ts = row["TIMESTAMP"]
            key = (ts[:8], ts[8:10], row["USER_ID"], row["CONNECTED_APP_ID"],
                   row["CONNECTED_APP_NAME"], row["CLIENT_NAME"], row["API_FAMILY"],
                   row["ENTITY_NAME"], row["HTTP_METHOD"], row["STATUS_CODE"])  # fmt: skip
            counts[key] = counts.get(key, 0) + 1
            rows += 1
    return rows


def run_csv_reader(path: Path) -> int:
    """Candidate: stdlib csv.reader by header index, tuples as keys."""
    counts: dict[tuple[str, ...], int] = {}
    rows = 0
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = [header.index(c) for c in ("USER_ID", "CONNECTED_APP_ID", "CLIENT_NAME",
                "API_FAMILY", "ENTITY_NAME", "HTTP_METHOD", "STATUS_CODE")]  # fmt: skip
        its = header.index("TIMESTAMP")
        for row in reader:
            key = (row[its][:10], *[row[i] for i in cols])
            counts[key] = counts.get(key, 0) + 1
            rows += 1
    return rows


def run_polars_streaming(path: Path) -> int:
    """Candidate: polars' own streaming engine over the file."""
    import polars as pl

    ts = pl.col("TIMESTAMP")
    keys = ["USER_ID", "CONNECTED_APP_ID", "CLIENT_NAME", "API_FAMILY", "ENTITY_NAME",
            "HTTP_METHOD", "STATUS_CODE"]  # fmt: skip
    out = (
        pl.scan_csv(path, infer_schema=False)
        .group_by([ts.str.slice(0, 10).alias("dh"), *keys])
        .agg(pl.len().alias("n"), ts.min().alias("first"), ts.max().alias("last"))
        .collect(engine="streaming")
    )
    return int(out["n"].sum())


# The key columns of the limit: what any ingestion must group by, and nothing more.
DUCKDB_KEYS = ["USER_ID", "CONNECTED_APP_ID", "CLIENT_NAME", "API_FAMILY", "ENTITY_NAME",
               "HTTP_METHOD", "STATUS_CODE"]  # fmt: skip


def run_duckdb(path: Path) -> int:
    """The limit: a bare DuckDB group-by of the file on the key columns and the hour, every
    column read as text, in a memory budget like handover's."""
    con = _duckdb()
    keys = ", ".join(DUCKDB_KEYS)
    (rows,) = con.execute(
        f"SELECT sum(n) FROM (SELECT substr(TIMESTAMP, 1, 10) AS dh, {keys}, count(*) AS n, "
        "min(TIMESTAMP), max(TIMESTAMP) "
        f"FROM read_csv(?, header = true, all_varchar = true) GROUP BY dh, {keys})",
        [str(path)],
    ).fetchone() or (0,)
    con.close()
    return int(rows)


# What handover's aggregates need from each row: the limit's columns, plus the REST path
# (operations), the source IP and the connected app's name.
HANDOVER_COLUMNS = ["TIMESTAMP", *DUCKDB_KEYS, "API_RESOURCE", "CLIENT_IP", "CONNECTED_APP_NAME"]


def _duckdb() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = '256MB'")
    con.execute("SET threads = 2")
    return con


def run_duckdb_read(path: Path) -> int:
    """The floor: DuckDB reading the columns handover needs and nothing else, no grouping.
    No ingestion of these columns can be faster than reading them."""
    con = _duckdb()
    lengths = ", ".join(f"sum(length({c}))" for c in HANDOVER_COLUMNS)
    con.execute(f"SELECT count(*), {lengths} FROM read_csv(?, header = true, all_varchar = true)",
                [str(path)])  # fmt: skip
    (rows, *_) = con.fetchone() or (0,)
    con.close()
    return int(rows)


def run_duckdb_handover(path: Path) -> tuple[int, float]:
    """Candidate: DuckDB doing handover's streaming pass (parse.py ``_grouped``): path
    shapes by the same two regular expressions, source IP and app name, hours summed.
    Timed without the import that gives it the expressions (handover's, with polars)."""
    from handover.usage.parse import EXTERNAL_VALUE, ID_SEGMENT

    t0 = time.perf_counter()
    con = _duckdb()
    keys = ", ".join(DUCKDB_KEYS)
    shape = (f"regexp_replace(regexp_replace(API_RESOURCE, '{ID_SEGMENT}', '/{{id}}', 'g'), "
             f"'{EXTERNAL_VALUE}', '\\1{{value}}')")  # fmt: skip
    hours = "".join(
        f", count(*) FILTER (WHERE substr(TIMESTAMP, 9, 2) = '{h:02d}')" for h in range(24)
    )
    (rows,) = con.execute(
        f"SELECT sum(n) FROM (SELECT substr(TIMESTAMP, 1, 8) AS day, {keys}, CLIENT_IP, "
        f"{shape} AS shape, count(*) AS n, min(TIMESTAMP), max(TIMESTAMP), "
        f"max(CONNECTED_APP_NAME){hours} "
        f"FROM read_csv(?, header = true, all_varchar = true) GROUP BY ALL)",
        [str(path)],
    ).fetchone() or (0,)
    con.close()
    return int(rows), time.perf_counter() - t0


CONTENDERS: dict[str, Callable[[Path], tuple[int, float]]] = {
    "handover": run_handover,
    "baseline": _timed(run_baseline),
    "duckdb": _timed(run_duckdb),
    "duckdb-read": _timed(run_duckdb_read),
    "duckdb-handover": run_duckdb_handover,
    "csv.reader": _timed(run_csv_reader),
    "polars-streaming": _timed(run_polars_streaming),
}


def measure(name: str, path: Path) -> dict[str, float]:
    """Run one contender in a child process: wall time inside it, peak RSS from wait4."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", name, "--csv", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode})")
    data = json.loads(out.strip().splitlines()[-1])
    data["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    data["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole child, startup included
    return data


def best_of(name: str, path: Path, repeat: int) -> dict[str, float]:
    """The fastest of ``repeat`` runs (each its own process), with the highest peak RSS
    seen: on a shared machine one run can be slowed by others, never sped up."""
    runs = [measure(name, path) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows to generate (default 5 M)")
    ap.add_argument("--csv", type=Path, help="use (or create) this CSV instead of a temp file")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per contender; the fastest counts (default 1)")  # fmt: skip
    ap.add_argument("--candidates", action="store_true", help="also run the parsers not chosen")
    ap.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        rows, seconds = CONTENDERS[args.child](args.csv)
        print(json.dumps({"rows": rows, "seconds": seconds}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or Path(tmp) / "ApiTotalUsage.csv"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, args.rows, args.seed)
            print(f"generated {args.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB "
                  f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        # The same file, one after the other: the limit and handover are compared as run.
        names = ["duckdb", "duckdb-read", "handover", "baseline"]
        if args.candidates:
            names += ["csv.reader", "polars-streaming", "duckdb-handover"]
        results = {name: best_of(name, path, max(args.repeat, 1)) for name in names}
    print(f"{'contender':<18}{'rows':>12}{'seconds':>10}{'rows/s':>14}{'peak RSS MB':>14}"
          f"{'CPU s':>8}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:<18}{r['rows']:>12,}{r['seconds']:>10.2f}{r['rows'] / r['seconds']:>14,.0f}"
              f"{r['peak_rss_mb']:>14.0f}{r['cpu_seconds']:>8.1f}")  # fmt: skip
    h, b, d, f = (results[n] for n in ("handover", "baseline", "duckdb", "duckdb-read"))

    def speed(r: dict[str, float]) -> float:
        return r["rows"] / r["seconds"]

    print(f"handover / baseline: {speed(h) / speed(b):.1f}x rows/s (the naive ratio)")
    print(
        f"handover / duckdb group-by: {speed(h) / speed(d):.2f}x rows/s (target >= 0.8x); "
        f"handover peak RSS {h['peak_rss_mb']:.0f} MB (target <= 300 MB)"
    )
    print(f"the floor, reading handover's {len(HANDOVER_COLUMNS)} columns alone: "
          f"{speed(f) / speed(d):.2f}x of the group-by on {len(DUCKDB_KEYS) + 1}; "
          f"handover = {speed(h) / speed(f):.2f}x of the floor")  # fmt: skip


if __name__ == "__main__":
    main()
