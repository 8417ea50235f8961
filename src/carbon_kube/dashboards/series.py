"""Sample names of Carbon-Kube's metrics, derived from the metric objects themselves.

Why derive rather than type them: ``observability.metrics`` is the one place names are
spelled, and the exposition format adds suffixes (``_total`` for counters, ``_bucket``,
``_sum`` and ``_count`` for histograms) that are easy to get wrong by hand. A renamed metric
changes the dashboards on the next ``carbon-kube dashboards generate``, and the drift test
then says so.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

HistogramPart = Literal["bucket", "sum", "count"]


def counter(metric: Counter) -> str:
    """``carbon_kube_x_total``: the name Prometheus stores a counter's samples under."""
    return _family_name(metric) + "_total"


def gauge(metric: Gauge) -> str:
    return _family_name(metric)


def histogram(metric: Histogram, part: HistogramPart) -> str:
    """One of a histogram's three sample series (``le`` buckets, sum, count)."""
    return f"{_family_name(metric)}_{part}"


def _family_name(metric: Counter | Gauge | Histogram) -> str:
    # describe() returns the one family the collector exposes, named without suffixes.
    (family,) = metric.describe()
    return family.name
