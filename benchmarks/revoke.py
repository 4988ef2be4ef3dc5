"""Emergency revoke: from the command to the last token revoked, on the emulator (target
< 5 s). The audit test org (tests/audit/scenario.yaml) with N extra refresh tokens of its
campaign app minted through the real web-server flow, then `handover revoke --app` run as
a person runs it (a new process: Python's start, the CLI's imports, the login, the
revoke, the ledger). Baseline, in the same run: `handover status --json`, the same CLI's
start-up and store with no org call at all.

    .venv/bin/python benchmarks/revoke.py [--tokens 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulators.salesforce.client import session_for  # noqa: E402
from emulators.salesforce.scenario import load_scenario  # noqa: E402
from emulators.salesforce.server import prepare, start_in_thread  # noqa: E402

HANDOVER = Path(sys.executable).parent / "handover"
APP_KEY, APP_SECRET = "AUDIT_CAMPAIGN_CONSUMER_KEY", "AUDIT_CAMPAIGN_CONSUMER_SECRET"
CALLBACK = "https://campaigns.example.com/oauth/callback"
PEOPLE = ("mia@audit.test", "leo@audit.test", "ana@audit.test")


def mint(info: dict, username: str) -> None:
    """One more refresh token of the campaign app for ``username`` (authorize + code)."""
    s = session_for(info)
    host = info["my_domain"]
    resp = s.get(
        f"https://{host}/services/oauth2/authorize",
        params={"response_type": "code", "client_id": APP_KEY, "redirect_uri": CALLBACK},
        headers={"X-Emulator-User": username},
        allow_redirects=False,
    )
    code = parse_qs(urlsplit(resp.headers["location"]).query)["code"][0]
    token = s.post(
        f"https://{host}/services/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": APP_KEY,
              "client_secret": APP_SECRET, "redirect_uri": CALLBACK},
    )  # fmt: skip
    assert token.status_code == 200, token.text


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=60, help="extra tokens to mint")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="revoke-bench-"))
    running = prepare(load_scenario(ROOT / "tests" / "audit" / "scenario.yaml"),
                      state_dir=work / "org")  # fmt: skip
    start_in_thread(running)
    info_path = work / "info.json"
    running.write_info(info_path)
    info = json.loads(info_path.read_text())
    for i in range(args.tokens):
        mint(info, PEOPLE[i % len(PEOPLE)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    env.update(HANDOVER_STORE__URL=f"sqlite:///{work / 'store.db'}", PREFECT_HOME=str(work / "p"),
               PREFECT_LOGGING_LEVEL="WARNING")  # fmt: skip
    baseline, _ = timed([str(HANDOVER), "status", "--json"], env, work)
    wall, out = timed(
        [str(HANDOVER), "revoke", "--app", "Campaign Sync", "--emulator", str(info_path),
         "--json"], env, work,
    )  # fmt: skip
    report = json.loads(out)["revoke"]
    left = running.org.find("OauthToken", AppName="Campaign Sync")
    running.stop()
    print(f"tokens revoked: {report['tokens_revoked']} of {args.tokens + 3} "
          f"({len(report['users'])} users); left in the org: {len(left)}")  # fmt: skip
    print(
        f"command to last token revoked: {wall:.2f} s wall (target < 5 s: "
        f"{'met' if wall < 5 else 'NOT met'}); the revoke itself {report['seconds']:.2f} s"
    )
    print(f"baseline `handover status --json`: {baseline:.2f} s; revoke = {wall / baseline:.1f}x")


if __name__ == "__main__":
    main()
