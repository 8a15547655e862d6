"""The policy of the two servers riskwatch runs (the API on uvicorn, the dashboard on Voila):
the defaults and rules of their config sections (``api``, ``dashboard``), and who may reach them.

Loopback is open by default. A token (config key ``api.token`` or the environment variable
``RISKWATCH_API_TOKEN``, which wins) is required before either server binds to any other address,
and once set it is enforced on every address. ``riskwatch.config`` validates both sections with
:func:`check_sections`, as it validates ``drift`` with the drift policy. Standard library only:
the cron tick loads the config.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Mapping

TOKEN_KEY = "api.token"
TOKEN_VARIABLE = "RISKWATCH_API_TOKEN"
MIN_TOKEN_LENGTH = 16

DEFAULT_API: dict[str, Any] = {
    "host": "127.0.0.1",         # loopback unless you mean it
    "port": 8000,
    "max_upload_bytes": 200_000_000,
    "url": "",                   # where `runner.py apicalls` finds the server; empty: host:port
    "token": "",                 # bearer token for the API and the dashboard; RISKWATCH_API_TOKEN wins
}
DEFAULT_DASHBOARD: dict[str, Any] = {
    "host": "127.0.0.1",         # anything but loopback needs a token
    "cull_idle_timeout": 600,    # seconds a page's kernel may sit idle before Voila shuts it down (0: never)
    "cull_interval": 60,         # seconds between checks for idle kernels
    "cull_connected": False,     # also cull kernels of pages still open (their widgets stop answering)
    "preheat": True,             # keep one kernel started with the imports done, waiting for the next page
}


class ServerSettingError(ValueError):
    """A server setting is wrong; ``key`` names the config key (or the environment variable)."""

    def __init__(self, key: str, why: str):
        self.key, self.why = key, why
        super().__init__(f"{key} {why}")


class TokenRequired(ValueError):
    """A server would be reachable beyond this machine without a token."""


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be used, or None (an empty token means "no token")."""
    if token and (len(token) < MIN_TOKEN_LENGTH or not token.isascii() or not token.isprintable()
                  or any(c.isspace() for c in token)):
        return (f"must be at least {MIN_TOKEN_LENGTH} printable ASCII characters without spaces "
                f"(e.g. `openssl rand -hex 24`)")
    return None


def check_sections(api: Mapping[str, Any], dashboard: Mapping[str, Any]) -> None:
    """Raise ServerSettingError for the first value of the merged sections that cannot work."""
    why = token_problem(api["token"])
    if why:
        raise ServerSettingError(TOKEN_KEY, why)
    if not dashboard["host"].strip():
        raise ServerSettingError("dashboard.host", "must be an address to bind, e.g. 127.0.0.1")
    for key, lowest in (("cull_idle_timeout", 0), ("cull_interval", 1)):
        value = dashboard[key]
        if not isinstance(value, int) or value < lowest:
            raise ServerSettingError(f"dashboard.{key}", f"must be a whole number of seconds >= {lowest}, "
                                                         f"got {value!r}")


def access_token(api: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> str:
    """The token in force: ``RISKWATCH_API_TOKEN`` when set, else ``api.token``; "" when none."""
    token = environ.get(TOKEN_VARIABLE, "")
    if not token:
        return api["token"]
    why = token_problem(token)
    if why:
        raise ServerSettingError(f"environment variable {TOKEN_VARIABLE}", why)
    return token


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; any other name or address (0.0.0.0 too) is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def require_token_beyond_loopback(host: str, token: str, server: str) -> None:
    """Refuse to expose ``server`` on a non-loopback ``host`` without a token (TokenRequired)."""
    if not token and not is_loopback(host):
        raise TokenRequired(f"refusing to serve the {server} on {host} without a token: set config key "
                            f"{TOKEN_KEY} or the environment variable {TOKEN_VARIABLE} (at least "
                            f"{MIN_TOKEN_LENGTH} characters), or bind to 127.0.0.1")
