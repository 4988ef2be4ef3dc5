"""The `handover emulator serve` contract, checked from outside as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from simple_salesforce import Salesforce

SCENARIO = Path(__file__).parent / "scenarios" / "serve.yaml"
HANDOVER = Path(sys.executable).parent / "handover"


def test_serve_writes_info_and_answers_over_https(tmp_path):
    info_path = tmp_path / "info.json"
    proc = subprocess.Popen(
        [
            str(HANDOVER),
            "emulator",
            "serve",
            "--scenario",
            str(SCENARIO),
            "--info",
            str(info_path),
            "--backfill-days",
            "3",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not info_path.exists():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "no --info file within 60 s"
            time.sleep(0.2)
        info = json.loads(info_path.read_text())
        assert {"instance_url", "ca_bundle", "org_id", "admin_username", "access_token"} <= set(
            info
        )
        assert info["instance_url"].startswith("https://127.0.0.1:")
        session = requests.Session()
        session.verify = info["ca_bundle"]
        session.trust_env = False
        sf = Salesforce(
            instance_url=info["instance_url"], session_id=info["access_token"], session=session
        )
        me = sf.query(f"SELECT Id, Username FROM User WHERE Username = '{info['admin_username']}'")
        assert me["totalSize"] == 1
        assert sf.query("SELECT Id FROM Organization")["records"][0]["Id"] == info["org_id"]
        # Three backfilled days of free logs, of which a 1-day-retention org lists only yesterday's.
        files = sf.query("SELECT EventType, LogDate FROM EventLogFile")["records"]
        assert {f["EventType"] for f in files} == {"ApiTotalUsage", "Login"}
        logins = sf.query("SELECT COUNT() FROM LoginHistory WHERE LoginTime = LAST_N_DAYS:3")[
            "totalSize"
        ]
        assert logins > 0
        # Plain HTTP is refused: TLS only.
        try:
            requests.get(
                info["instance_url"].replace("https", "http") + "/services/data/", timeout=5
            )
            raise AssertionError("plain HTTP must not be served")
        except requests.exceptions.ConnectionError:
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert not info_path.exists(), "the info file is removed when the emulator stops"
