"""The servers' policy: which addresses need a token, where the token comes from, and the config
sections it validates (issue 14, items 4 and 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_config
from riskwatch.config import ConfigError, load_config
from riskwatch.server_policy import (DEFAULT_DASHBOARD, TOKEN_VARIABLE, ServerSettingError, TokenRequired,
                                     access_token, is_loopback, require_token_beyond_loopback)

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("10.1.2.3", False), ("example-host", False),
])
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_token_is_required_beyond_loopback_only() -> None:
    require_token_beyond_loopback("127.0.0.1", "", "API")
    require_token_beyond_loopback("0.0.0.0", TOKEN, "API")
    with pytest.raises(TokenRequired) as caught:
        require_token_beyond_loopback("0.0.0.0", "", "dashboard")
    message = str(caught.value)
    assert "\n" not in message and "api.token" in message and TOKEN_VARIABLE in message and "dashboard" in message


def test_the_environment_variable_wins_and_is_checked() -> None:
    api = {"token": ""}
    assert access_token(api, {}) == ""
    assert access_token({"token": TOKEN}, {}) == TOKEN
    assert access_token({"token": TOKEN}, {TOKEN_VARIABLE: "from-the-environment-1"}) == "from-the-environment-1"
    with pytest.raises(ServerSettingError, match=TOKEN_VARIABLE):
        access_token(api, {TOKEN_VARIABLE: "short"})


def test_defaults_cull_idle_dashboard_kernels(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path))
    assert cfg.api["token"] == "" and cfg.dashboard == DEFAULT_DASHBOARD
    assert cfg.dashboard["cull_idle_timeout"] > 0 and cfg.dashboard["cull_interval"] > 0


@pytest.mark.parametrize("section, value, key", [
    ("api", {"token": "too-short"}, "api.token"),
    ("api", {"token": "has a space in the middle"}, "api.token"),
    ("api", {"token": "ñon-ascii-token-0123456"}, "api.token"),
    ("dashboard", {"cull_idle_timeout": -1}, "dashboard.cull_idle_timeout"),
    ("dashboard", {"cull_idle_timeout": 1.5}, "dashboard.cull_idle_timeout"),
    ("dashboard", {"cull_interval": 0}, "dashboard.cull_interval"),
    ("dashboard", {"cull_connected": "yes"}, "dashboard.cull_connected"),
    ("dashboard", {"host": " "}, "dashboard.host"),
    ("dashboard", {"cull_timeout": 5}, "dashboard.cull_timeout"),
])
def test_bad_server_settings_name_the_key(tmp_path: Path, section: str, value: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, **{section: value}))
    assert caught.value.key == key
