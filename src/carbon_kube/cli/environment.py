"""The only place that reads the environment: API credentials and the cache location.

Everything below the CLI receives these as values (``providers.construction.Credentials``,
a cache ``Path``), so the library never depends on the process's environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from carbon_kube.providers import electricitymaps, entsoe, watttime
from carbon_kube.providers.caching import default_cache_path
from carbon_kube.providers.construction import Credentials

__all__ = ["cache_path", "has_electricitymaps_token", "read_credentials"]


def read_credentials() -> Credentials:
    """Tokens and passwords from their environment variables; blank counts as not set."""
    return Credentials(
        electricitymaps_token=_value(electricitymaps.TOKEN_ENV_VAR),
        watttime_username=_value(watttime.USERNAME_ENV_VAR),
        watttime_password=_value(watttime.PASSWORD_ENV_VAR),
        entsoe_token=_value(entsoe.TOKEN_ENV_VAR),
    )


def has_electricitymaps_token() -> bool:
    """Whether ``forecast show --source auto`` may pick the live Electricity Maps API."""
    return _value(electricitymaps.TOKEN_ENV_VAR) is not None


def cache_path(given: Path | None) -> Path:
    """``--cache`` if given, else under ``$XDG_CACHE_HOME`` (or ``~/.cache``)."""
    return given or default_cache_path(os.environ.get("XDG_CACHE_HOME"), Path.home())


def _value(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None
