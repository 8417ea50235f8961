"""Fetch raw series from Prometheus' HTTP API (``/api/v1/query_range``) with httpx.

Prometheus answers at most 11,000 points per series, so a long range is fetched in chunks of
at most ``MAX_POINTS`` steps; the chunks share no instant (each starts one step after the
previous one ends). A Prometheus that cannot be reached or fails (5xx) is a
``ProviderTemporaryError`` (exit 3, like every network source); answers a user can fix (a URL
that is not Prometheus, a refused query) are ``InputError`` naming the URL (exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from carbon_kube.domain.errors import InputError, ProviderTemporaryError

__all__ = ["MAX_POINTS", "RangeSeries", "query_range"]

MAX_POINTS: Final = 10_000


@dataclass(frozen=True, slots=True)
class RangeSeries:
    """One series: its labels and its (unix seconds, value) samples in time order."""

    labels: dict[str, str]
    samples: list[tuple[float, float]]


def query_range(
    client: httpx.Client,
    base_url: str,
    expr: str,
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> list[RangeSeries]:
    """Every series ``expr`` returns over [start, end] at ``step``, chunks merged."""
    merged: dict[tuple[tuple[str, str], ...], RangeSeries] = {}
    for chunk_start, chunk_end in _chunks(start, end, step):
        for raw in _fetch(client, base_url, expr, chunk_start, chunk_end, step):
            labels = {str(k): str(v) for k, v in raw["metric"].items()}
            key = tuple(sorted(labels.items()))
            series = merged.setdefault(key, RangeSeries(labels, []))
            series.samples.extend((float(t), float(v)) for t, v in raw["values"])
    return sorted(merged.values(), key=lambda s: sorted(s.labels.items()))


def _chunks(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    span = step * (MAX_POINTS - 1)
    steps = math.floor((end - start) / step)
    chunk_start = start
    last = start + step * steps
    while chunk_start <= last:
        chunk_end = min(chunk_start + span, last)
        yield chunk_start, chunk_end
        chunk_start = chunk_end + step


def _fetch(
    client: httpx.Client,
    base_url: str,
    expr: str,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> list[dict[str, Any]]:
    url = base_url.rstrip("/") + "/api/v1/query_range"
    params = {
        "query": expr,
        "start": f"{start.timestamp():.3f}",
        "end": f"{end.timestamp():.3f}",
        "step": f"{step.total_seconds():g}",
    }
    try:
        answer = client.get(url, params=params)
    except httpx.HTTPError as error:
        raise ProviderTemporaryError(
            "prometheus", f"cannot reach Prometheus at {base_url}: {error}"
        ) from None
    if answer.status_code >= 500:
        raise ProviderTemporaryError(
            "prometheus", f"Prometheus at {base_url} failed: HTTP {answer.status_code}"
        )
    try:
        body = answer.json()
    except ValueError:
        raise InputError(
            f"{url} answered HTTP {answer.status_code} with no JSON: is it Prometheus?"
        ) from None
    if answer.status_code != 200 or body.get("status") != "success":
        raise InputError(
            f"Prometheus at {base_url} refused {expr!r}: {body.get('error', answer.status_code)}"
        )
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        kind = data.get("resultType")
        raise InputError(f"Prometheus at {base_url} answered {kind!r}, not a matrix")
    result: list[dict[str, Any]] = data.get("result") or []
    return result
