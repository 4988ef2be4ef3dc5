"""Org connection config: several orgs by name, one clear message per mistake."""

import json
from pathlib import Path

import pytest

from handover.errors import ConfigError
from handover.salesforce.connection import from_emulator_info, load_orgs, resolve

GOOD = """
[orgs.prod]
auth = "jwt"
my_domain = "https://loomis.my.salesforce.com/"
consumer_key = "CK"
username = "handover@loomis.com"
private_key_file = "{key}"

[orgs.uat]
auth = "client_credentials"
my_domain = "loomis--uat.sandbox.my.salesforce.com"
consumer_key = "CK2"
consumer_secret_file = "{secret}"
"""


@pytest.fixture
def orgs_file(tmp_path: Path) -> Path:
    key = tmp_path / "k.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    secret = tmp_path / "s.txt"
    secret.write_text("shh")
    p = tmp_path / "orgs.toml"
    p.write_text(GOOD.format(key=key, secret=secret))
    return p


def test_several_orgs_by_name(orgs_file):
    orgs = load_orgs(orgs_file)
    assert set(orgs) == {"prod", "uat"}
    assert orgs["prod"].my_domain == "loomis.my.salesforce.com"
    orgs["prod"].check()
    assert resolve(orgs_file, "uat", None).auth == "client_credentials"


def test_choosing_among_several_needs_a_name(orgs_file):
    with pytest.raises(ConfigError, match="choose one with --org"):
        resolve(orgs_file, None, None)
    with pytest.raises(ConfigError, match="no org named 'qa'"):
        resolve(orgs_file, "qa", None)


def test_mistakes_say_what_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_orgs(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[orgs.x]\nauth = "jwt"\nmy_domain = "login.example.com"\n')
    with pytest.raises(ConfigError, match="My Domain"):
        load_orgs(bad)
    partial = tmp_path / "partial.toml"
    partial.write_text(
        '[orgs.x]\nauth = "jwt"\nmy_domain = "x.my.salesforce.com"\nconsumer_key = "CK"\n'
    )
    with pytest.raises(ConfigError, match="missing: username, private_key_file"):
        load_orgs(partial)["x"].check()
    with pytest.raises(ConfigError, match="either --org or --emulator"):
        resolve(partial, "x", tmp_path / "info.json")


def test_emulator_info_file(tmp_path):
    with pytest.raises(ConfigError, match="emulator serve"):
        from_emulator_info(tmp_path / "nope.json")
    p = tmp_path / "info.json"
    p.write_text(
        '{"instance_url": "https://127.0.0.1:1", "ca_bundle": "/x", "access_token": "tok-SECRET-123", "org_name": "Loomis"}'
    )
    cfg = from_emulator_info(p)
    assert cfg.auth == "emulator" and cfg.name == "Loomis" and "tok-SECRET-123" not in repr(cfg)


def test_an_emulator_by_its_info_file_is_read_when_chosen(tmp_path):
    """`handover up --emulators` names its emulator in an orgs file: the flows a person
    starts from the Prefect UI find their org there, read from the emulator's --info file
    only when chosen (a missing file for another org must not break this one)."""
    info = tmp_path / "salesforce.json"
    orgs = tmp_path / "orgs.toml"
    orgs.write_text(
        f'[orgs.emulator]\nauth = "emulator"\ninfo_file = "{info}"\n'
        f'[orgs.gone]\nauth = "emulator"\ninfo_file = "{tmp_path / "gone.json"}"\n'
    )
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    info.write_text(
        json.dumps(
            {"instance_url": "https://127.0.0.1:9", "ca_bundle": str(ca), "access_token": "00Dx!t",
             "org_id": "00D000000000001EAA", "org_name": "Loomis Logistics"}
        )
    )  # fmt: skip
    chosen = resolve(orgs, None, None, "emulator")
    assert (chosen.name, chosen.auth, chosen.instance_url) == (
        "emulator",
        "emulator",
        "https://127.0.0.1:9",
    )
    assert chosen.access_token is not None and chosen.access_token.get_secret_value() == "00Dx!t"
    chosen.check()
    with pytest.raises(ConfigError, match=r"gone\.json not found"):
        resolve(orgs, "gone", None)
