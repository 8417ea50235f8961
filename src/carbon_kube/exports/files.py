"""The metrics-export folder: ``manifest.json`` plus ``samples.csv``, written atomically.

Format (version 1, documented in docs/observability.md):

* ``manifest.json``: ``format`` ("carbon-kube-metrics-export"), ``version``, the Prometheus
  URL, ``start``/``end`` (RFC 3339, UTC), ``step_seconds``, ``exported_at`` and, per query,
  its name, PromQL, kind (counter or gauge), unit, description and series/sample counts.
* ``samples.csv``: one row per sample: ``query``, ``series`` (the series' labels as
  ``{a="x",b="y"}``, identifying it), ``timestamp`` (RFC 3339 UTC), one column per label the
  notebook groups by (``kind``, ``lever``, ``zone``, ``provider``; empty when absent) and
  ``value``.

The folder is built under a temporary sibling name and renamed into place, so a reader never
sees half an export. ``counter_increase`` turns raw counter samples into increases, counting
a drop (a restarted process) as a reset to zero, as Prometheus' ``increase()`` does.
"""

from __future__ import annotations

import io
import json
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pandas as pd

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import Precision, format_rfc3339
from carbon_kube.exports.prometheus import RangeSeries
from carbon_kube.exports.queries import ExportedQuery
from carbon_kube.storage.reading import check_row_widths, read_user_text

__all__ = [
    "FORMAT",
    "LABEL_COLUMNS",
    "MANIFEST",
    "SAMPLES",
    "MetricsExport",
    "check_destination",
    "counter_increase",
    "cumulative_increase",
    "is_metrics_export",
    "read_metrics_export",
    "write_metrics_export",
]

FORMAT: Final = "carbon-kube-metrics-export"
VERSION: Final = 1
MANIFEST: Final = "manifest.json"
SAMPLES: Final = "samples.csv"
LABEL_COLUMNS: Final = ("kind", "lever", "zone", "provider")
_COLUMNS: Final = ("query", "series", "timestamp", *LABEL_COLUMNS, "value")


@dataclass(frozen=True, slots=True)
class MetricsExport:
    """An export read back: its manifest and every sample (``timestamp`` tz-aware UTC)."""

    manifest: dict[str, Any]
    samples: pd.DataFrame

    def of(self, query: str) -> pd.DataFrame:
        """The samples of one query (empty frame when Prometheus had none)."""
        return self.samples[self.samples["query"] == query]


def _series_key(labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return "{" + inner + "}"


def check_destination(out: Path, *, overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless ``overwrite`` (checked before any fetching, too)."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", source=out)
    if out.exists() and not overwrite and any(out.iterdir()):
        raise InputError("the folder exists and is not empty (pass --overwrite)", source=out)


def write_metrics_export(
    out: Path,
    fetched: Sequence[tuple[ExportedQuery, list[RangeSeries]]],
    *,
    prometheus_url: str,
    start: datetime,
    end: datetime,
    step: timedelta,
    exported_at: datetime,
    overwrite: bool = False,
) -> Path:
    """Write ``out`` (a folder) from fetched series; refuse to replace one unless told."""
    check_destination(out, overwrite=overwrite)
    rows: list[tuple[Any, ...]] = []
    queries: list[dict[str, Any]] = []
    for query, series_list in fetched:
        samples = 0
        for series in series_list:
            key = _series_key(series.labels)
            labels = tuple(series.labels.get(column, "") for column in LABEL_COLUMNS)
            for at_s, value in series.samples:
                stamp = format_rfc3339(datetime.fromtimestamp(at_s, UTC), Precision.EXACT)
                rows.append((query.name, key, stamp, *labels, value))
                samples += 1
        queries.append(
            {
                "name": query.name,
                "expr": query.expr,
                "kind": query.kind,
                "unit": query.unit,
                "description": query.description,
                "series": len(series_list),
                "samples": samples,
            }
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "prometheus": prometheus_url,
        "start": format_rfc3339(start, Precision.EXACT),
        "end": format_rfc3339(end, Precision.EXACT),
        "step_seconds": step.total_seconds(),
        "exported_at": format_rfc3339(exported_at, Precision.EXACT),
        "samples_file": SAMPLES,
        "queries": queries,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        frame = pd.DataFrame(rows, columns=list(_COLUMNS))
        frame.to_csv(staging / SAMPLES, index=False)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    retired = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def is_metrics_export(folder: Path) -> bool:
    """True when ``folder`` holds a metrics export (its manifest), not a simulator output."""
    return (folder / MANIFEST).is_file()


def read_metrics_export(folder: Path) -> MetricsExport:
    """Read an export back; a missing or foreign folder is an ``InputError``."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError("no metrics export here (manifest.json missing)", source=folder)
    try:
        manifest = json.loads(read_user_text(manifest_path))
    except json.JSONDecodeError as error:
        raise InputError(f"manifest.json is not JSON: {error}", source=manifest_path) from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InputError(
            f"not a {FORMAT} version {VERSION} manifest "
            f"(format {manifest.get('format')!r}, version {manifest.get('version')!r})",
            source=manifest_path,
        )
    samples_path = folder / str(manifest.get("samples_file", SAMPLES))
    text = read_user_text(samples_path)
    check_row_widths(text, samples_path)
    samples = pd.read_csv(
        io.StringIO(text), dtype=dict.fromkeys((*_COLUMNS[:2], *LABEL_COLUMNS), "string")
    )
    missing = [c for c in _COLUMNS if c not in samples.columns]
    if missing:
        raise InputError(f"samples file lacks columns {missing}", source=samples_path)
    samples["timestamp"] = pd.to_datetime(samples["timestamp"], utc=True)
    for column in LABEL_COLUMNS:
        samples[column] = samples[column].fillna("")
    samples["value"] = samples["value"].astype(float)
    return MetricsExport(manifest, samples)


def counter_increase(samples: pd.DataFrame) -> pd.DataFrame:
    """Each counter sample's increase since the series' previous sample (0 for its first).

    A value below the previous one means the process restarted and the counter began again
    at zero, so the whole new value is the increase.
    """
    ordered = samples.sort_values(["series", "timestamp"]).copy()
    previous = ordered.groupby("series", sort=False)["value"].shift()
    delta = ordered["value"] - previous
    ordered["increase"] = delta.where(delta >= 0, ordered["value"]).where(previous.notna(), 0.0)
    return ordered


def cumulative_increase(samples: pd.DataFrame, by: str) -> pd.DataFrame:
    """Counter increase summed per value of label ``by``, accumulated over time.

    Rows are the export's instants, columns the label values; a series that has no sample
    at an instant adds nothing there.
    """
    increases = counter_increase(samples)
    table = increases.pivot_table(
        index="timestamp", columns=by, values="increase", aggfunc="sum", fill_value=0.0
    )
    return table.sort_index().cumsum()
