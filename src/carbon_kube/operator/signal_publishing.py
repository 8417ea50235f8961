"""The leader's signal poll: each zone's signal, published as a ConfigMap every interval.

What a zone's signal is comes from ``planning.signal_poll`` (pure of Kubernetes); its document
form from ``providers.published``. This module only polls on the executor (the source does
blocking HTTP), writes the objects and keeps the signal metrics. One zone's failure never stops
the others: its last published document stays, and its growing age flags it stale.
"""

from __future__ import annotations

import logging
from typing import Any

from carbon_kube.domain.annotations import SIGNAL_LABEL
from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import KubeApiError, KubeClient
from carbon_kube.kube.resources import CONFIG_MAPS
from carbon_kube.observability.metrics import (
    FORECAST_ONLINE_MAPE,
    PROVIDER_DATA_AGE_SECONDS,
    SIGNAL_IN_USE,
    SIGNAL_PUBLISHES,
    SIGNAL_STALE,
)
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.settings import ControllerClock, SignalPublishing
from carbon_kube.planning.signal_poll import poll_zone
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.construction import default_client
from carbon_kube.providers.forecast_archive import ForecastArchive
from carbon_kube.providers.published import ZoneSignal, encode, object_name
from carbon_kube.providers.recent_weather import RecentWeather
from carbon_kube.providers.weather_openmeteo import OpenMeteoWeatherProvider

__all__ = ["SignalPublisher", "signal_object"]

_log = logging.getLogger(__name__)
# The model every forecast must beat online: the value a day earlier.
BASELINE = "persistence"


def signal_object(signal: ZoneSignal, namespace: str) -> dict[str, Any]:
    """The ConfigMap that publishes ``signal``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": object_name(signal.zone),
            "namespace": namespace,
            "labels": {SIGNAL_LABEL: "true", "app.kubernetes.io/managed-by": "carbon-kube"},
        },
        "data": encode(signal),
    }


class SignalPublisher:
    """Polls ``source`` for every configured zone and writes the zone's ConfigMap."""

    def __init__(
        self,
        client: KubeClient,
        clock: ControllerClock,
        settings: SignalPublishing,
        executor: ApiExecutor,
        source: IntensityProvider,
    ) -> None:
        self._client = client
        self._clock = clock
        self._settings = settings
        self._executor = executor
        self._source = source
        self._published: dict[Zone, ZoneSignal] = {}
        self._archive = None if settings.archive is None else ForecastArchive(settings.archive)
        self._weather = (
            None
            if settings.weather == "none"
            else RecentWeather(
                OpenMeteoWeatherProvider(
                    http=default_client(),
                    clock=clock,
                    forecast_url=settings.openmeteo_forecast_url,
                    archive_url=settings.openmeteo_archive_url,
                )
            )
        )

    def published(self, zone: Zone) -> ZoneSignal | None:
        """The last signal this replica published for ``zone``."""
        return self._published.get(zone)

    async def publish_all(self) -> None:
        """One poll of every zone (the controller's periodic tick)."""
        for zone in self._settings.zones:
            await self._publish(zone)

    async def _publish(self, zone: Zone) -> None:
        settings = self._settings
        now = self._clock.now()
        try:
            signal = await self._executor.call(
                lambda: poll_zone(
                    self._source,
                    zone,
                    now,
                    history=settings.history,
                    horizon=settings.horizon,
                    model=settings.model,
                    previous=self._published.get(zone),
                    archive=self._archive,
                    weather=self._weather,
                )
            )
        except CarbonKubeError as error:
            SIGNAL_PUBLISHES.labels(zone, "no-data").inc()
            SIGNAL_STALE.labels(zone).set(1)
            _log.warning("no signal to publish for %s: %s", zone, error)
            return
        body = signal_object(signal, settings.namespace)
        try:
            await self._executor.call(lambda: self._write(body))
        except KubeApiError as error:
            SIGNAL_PUBLISHES.labels(zone, "write-failed").inc()
            _log.warning("could not publish the signal of %s: %s", zone, error)
            return
        self._published[zone] = signal
        SIGNAL_PUBLISHES.labels(zone, "stale" if signal.stale else "fresh").inc()
        SIGNAL_STALE.labels(zone).set(1 if signal.stale else 0)
        SIGNAL_IN_USE.labels(zone, signal.source, signal.model).set(1)
        if signal.baseline_online_mape_pct is not None:
            FORECAST_ONLINE_MAPE.labels(zone, BASELINE).set(signal.baseline_online_mape_pct)
        if signal.online_mape_pct is not None:
            FORECAST_ONLINE_MAPE.labels(zone, signal.model).set(signal.online_mape_pct)
        history = signal.history
        age_s = (now - (history.end - history.step)).total_seconds()
        PROVIDER_DATA_AGE_SECONDS.labels(zone, signal.source).set(max(age_s, 0.0))

    def _write(self, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        namespace = self._settings.namespace
        try:
            self._client.patch(CONFIG_MAPS, name, body, namespace)
        except KubeApiError as error:
            if not error.is_not_found:
                raise
            self._client.create(CONFIG_MAPS, body, namespace)
