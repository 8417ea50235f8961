"""The simulator's typed knobs as ``carbon-kube simulate`` takes them, each checked once.

What policies know of the future (``forecast`` and the quantile planned on), the threshold, the
deadline margin and the duration error: their defaults are the engine's
(``sim.engine.SimulationSettings``, ``policy.threshold``, ``policy.margins``) and their
ranges are stated here, so the command line shows and checks exactly these. ``simulation``
turns them into the engine's settings. Nothing here reads files or the environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from carbon_kube.domain.errors import InputError
from carbon_kube.energy.power import PowerModel
from carbon_kube.planning.settings import LatencyRisk, ThresholdGPerKwh
from carbon_kube.policy.capacity import CapacityLimits
from carbon_kube.policy.margins import DEFAULT_LATENCY_RISK
from carbon_kube.policy.threshold import DEFAULT_THRESHOLD_G_PER_KWH
from carbon_kube.sim.engine import SimulationSettings
from carbon_kube.sim.model_forecasts import FORECAST_NAMES, MODEL_FORECASTS

__all__ = ["QUANTILES", "SimulateSettings"]

# The quantiles a model forecast carries (p10, p50, p90).
QUANTILES = (0.1, 0.5, 0.9)


def _engine_default(name: str) -> Any:
    """The engine's default for ``name``: written once, in ``SimulationSettings``."""
    return SimulationSettings.__dataclass_fields__[name].default


def _forecast_name(value: str) -> str:
    if value not in FORECAST_NAMES:
        raise InputError(
            f"expected one of {', '.join(FORECAST_NAMES)}, got {value!r}", field="--forecast"
        )
    return value


def _quantile(value: float) -> float:
    if value not in QUANTILES:
        raise InputError("expected 0.1, 0.5 or 0.9", field="--forecast-quantile")
    return value


# exp(3 z) already spans 1/20x to 20x at two standard deviations: beyond is no estimate.
_MAX_DURATION_SIGMA = 3.0


def _sigma(value: float) -> float:
    if not 0.0 <= value <= _MAX_DURATION_SIGMA:
        raise InputError(
            f"expected sigma >= 0 and <= {_MAX_DURATION_SIGMA:g}, got {value:g}",
            field="--duration-error",
        )
    return value


class SimulateSettings(BaseModel):
    """The knobs of one simulation run besides jobs, intensity, power and capacity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    forecast: Annotated[str, AfterValidator(_forecast_name)] = Field(
        default=_engine_default("forecast"),
        description="What policies know of the future: oracle (upper bound), persistence, "
        "seasonal-naive, provider (the source's own forecast, see --provider-forecast) or "
        "lightgbm (forecast 72 h from each decision, data before it only; blended with "
        "--provider-forecast and using --weather when given).",
    )
    forecast_quantile: Annotated[float, AfterValidator(_quantile)] = Field(
        default=_engine_default("forecast_quantile"),
        description="Plan on this quantile of a model forecast: 0.5 (median), 0.9 "
        "(risk-averse), 0.1.",
    )
    threshold_g_per_kwh: ThresholdGPerKwh = DEFAULT_THRESHOLD_G_PER_KWH
    latency_risk: LatencyRisk = Field(
        default=DEFAULT_LATENCY_RISK,
        description="Deadline margin as a share of each job's expected duration (0..1): plans "
        "start by deadline - (1 + risk) x duration, so runs up to that much longer still meet "
        "their deadline (Helm threshold.latencyRisk).",
    )
    duration_error_sigma: Annotated[float, AfterValidator(_sigma)] = Field(
        default=_engine_default("duration_error_sigma"),
        description="Let jobs run longer or shorter than planned: actual = expected x "
        "exp(sigma x z), z ~ N(0,1) seeded (an assumption; no shipped trace has "
        "estimate/actual pairs).",
    )

    @model_validator(mode="after")
    def _quantiles_need_a_model(self) -> SimulateSettings:
        if self.forecast_quantile != 0.5 and self.forecast not in MODEL_FORECASTS:
            raise InputError(
                f"forecast {self.forecast} has no quantiles; use {' or '.join(MODEL_FORECASTS)}",
                field="--forecast-quantile",
            )
        return self

    def simulation(
        self,
        policies: tuple[str, ...],
        power: PowerModel,
        *,
        resume_overhead: timedelta,
        pauses: bool,
        capacity: CapacityLimits | None,
        replan_every: timedelta | None,
        replan_tolerance: timedelta = timedelta(0),
    ) -> SimulationSettings:
        """The engine's settings for these knobs and the run's other inputs."""
        return SimulationSettings(
            policies=policies,
            power=power,
            forecast=self.forecast,
            forecast_quantile=self.forecast_quantile,
            threshold_g_per_kwh=self.threshold_g_per_kwh,
            resume_overhead=resume_overhead,
            pauses=pauses,
            capacity=capacity,
            latency_risk=self.latency_risk,
            duration_error_sigma=self.duration_error_sigma,
            replan_every=replan_every,
            replan_tolerance=replan_tolerance,
        )
