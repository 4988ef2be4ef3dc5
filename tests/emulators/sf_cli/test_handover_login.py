"""handover reuses the Salesforce CLI's stored login (`auth = "sf-cli"` in the orgs file),
through the real `sf` (`make sf-cli`), against the emulator the CLI logged in to."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.salesforce.server import RunningEmulator
from handover.errors import AuthenticationError, ConfigError
from handover.salesforce import SalesforceGateway
from handover.salesforce.connection import login, resolve
from tests.emulators.sf_cli.conftest import ALIAS, BIN, SfCli


@pytest.fixture
def as_the_cli_user(sf: SfCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """handover runs `sf` in the environment it was started in: the CLI user's HOME."""
    for key, value in sf.env.items():
        monkeypatch.setenv(key, value)


def orgs_file(tmp_path: Path, alias: str, loomis: RunningEmulator) -> Path:
    path = tmp_path / "orgs.toml"
    path.write_text(
        f'[orgs.loomis]\nauth = "sf-cli"\nalias = "{alias}"\nsf_cli = "{BIN / "sf"}"\n'
        f'ca_bundle = "{loomis.ca_bundle}"\n'
    )
    return path


@pytest.mark.usefixtures("as_the_cli_user")
def test_an_org_entry_reuses_the_cli_login(tmp_path: Path, loomis: RunningEmulator) -> None:
    config = resolve(orgs_file(tmp_path, ALIAS, loomis), "loomis", None)
    sf = login(config, api_version="59.0", timeout=30)
    assert sf.base_url.startswith(loomis.instance_url + "/services/")  # the "/" went once
    gateway = SalesforceGateway(sf, org_name="loomis")
    assert gateway.org_id() == loomis.org.org_id


@pytest.mark.usefixtures("as_the_cli_user")
def test_an_alias_the_cli_does_not_know_says_how_to_log_in(
    tmp_path: Path, loomis: RunningEmulator
) -> None:
    config = resolve(orgs_file(tmp_path, "nobody-here", loomis), "loomis", None)
    with pytest.raises(AuthenticationError) as caught:
        login(config, api_version="59.0", timeout=30)
    assert "sf org login web --alias nobody-here" in str(caught.value)
    assert loomis.access_token not in str(caught.value)


def test_a_missing_cli_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "orgs.toml"
    path.write_text('[orgs.x]\nauth = "sf-cli"\nalias = "a"\nsf_cli = "/nonexistent/sf"\n')
    with pytest.raises(ConfigError, match="not on PATH"):
        login(resolve(path, "x", None), api_version="59.0", timeout=5)
