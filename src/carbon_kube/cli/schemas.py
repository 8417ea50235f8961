"""The JSON each command prints with ``-o json``: a contract for scripts, in one place.

docs/cli.md shows these schemas (``scripts/cli_reference.py`` writes it from here), and the
tests validate every command's real output against them, so the documentation cannot promise
a field the command does not print. Fields may be added; a field is never renamed or dropped
without a major version.
"""

from __future__ import annotations

from typing import Any

_TIME = {"type": "string", "format": "date-time"}
_NUMBER = {"type": "number"}
_MAYBE_NUMBER = {"type": ["number", "null"]}
_MAYBE_STRING = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], *, extra: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
        "additionalProperties": extra,
    }


_ZONE_REGION = _object(
    {
        "cloud": {"type": "string"},
        "region": {"type": "string"},
        "zone": {"type": "string"},
        "where": {"type": "string"},
        "embedded": {"type": "boolean"},
    }
)

_POLICY_SUMMARY = _object(
    {
        "policy": {"type": "string"},
        "jobs": {"type": "integer"},
        "energy_kwh": _NUMBER,
        "co2_kg": _NUMBER,
        "baseline_co2_kg": _NUMBER,
        "savings_pct": _NUMBER,
        "deadline_misses": {"type": "integer"},
        "mean_delay_s": _NUMBER,
        "p95_delay_s": _NUMBER,
        "savings_by_lever_kg": _object(
            {"time": _NUMBER, "region": _NUMBER, "time+region": _NUMBER, "pause": _NUMBER}
        ),
    }
)

# Command path (as typed after ``carbon-kube``) -> JSON Schema of its ``-o json`` document.
OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "zones": _object(
        {
            "regions": {"type": "array", "items": _ZONE_REGION},
            "embedded_year": {"type": "integer"},
            "embedded_zones": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "string"},
        }
    ),
    "intensity show": _object(
        {
            "zone": {"type": "string"},
            "start": _TIME,
            "end": _TIME,
            "values": {"type": "integer"},
            "step_s": {"type": "integer"},
            "mean_g_per_kwh": _NUMBER,
            "min_g_per_kwh": _NUMBER,
            "p10_g_per_kwh": _NUMBER,
            "p50_g_per_kwh": _NUMBER,
            "p90_g_per_kwh": _NUMBER,
            "max_g_per_kwh": _NUMBER,
            "source": {"type": "string"},
            "column": {"type": "string"},
        }
    ),
    "forecast show": _object(
        {
            "zone": {"type": "string"},
            "model": {"type": "string"},
            "origin": _TIME,
            "stale": {"type": "boolean"},
            "history": _object({"source": {"type": "string"}, "start": _TIME, "end": _TIME}),
            "steps": {
                "type": "array",
                "items": _object(
                    {
                        "time": _TIME,
                        "p10_g_per_kwh": _NUMBER,
                        "p50_g_per_kwh": _NUMBER,
                        "p90_g_per_kwh": _NUMBER,
                    }
                ),
            },
            "notes": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "simulate": _object(
        {
            "policies": {"type": "array", "items": _POLICY_SUMMARY},
            "jobs": {"type": "integer"},
            "forecast": {"type": "string"},
            "skipped_jobs": {"type": "array", "items": {"type": "string"}},
            "files": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "plan": _object(
        {
            "zone": {"type": "string"},
            "release_at": _TIME,
            "latest_start": _TIME,
            "decided_at": _TIME,
            "reason": {"type": "string"},
            "lever": {"type": "string"},
            "forecast_g_per_kwh": _MAYBE_NUMBER,
            "source": _MAYBE_STRING,
            "model": _MAYBE_STRING,
            "stale": {"type": "boolean"},
            "expected_co2_g": _MAYBE_NUMBER,
            "baseline_co2_g": _MAYBE_NUMBER,
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    ),
    "lab status": _object(
        {
            "server_url": {"type": "string"},
            "server_version": _MAYBE_STRING,
            "apiserver_ready": {"type": "boolean"},
            "nodes_ready": {"type": "integer"},
            "nodes_total": {"type": "integer"},
            "virtual_now": _TIME,
            "speedup": _NUMBER,
            "healthy": {"type": "boolean"},
            "components": {
                "type": "array",
                "items": _object(
                    {
                        "component": {"type": "string"},
                        "pid": {"type": "integer"},
                        "alive": {"type": "boolean"},
                        "log": {"type": "string"},
                    }
                ),
            },
        }
    ),
}

# The CSV header each command prints with ``-o csv`` (one row per item of its document).
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "zones": ("cloud", "region", "zone", "where", "embedded"),
    "intensity show": tuple(OUTPUT_SCHEMAS["intensity show"]["properties"]),
    "forecast show": ("time", "p10_g_per_kwh", "p50_g_per_kwh", "p90_g_per_kwh"),
    "simulate": (
        "policy",
        "jobs",
        "energy_kwh",
        "co2_kg",
        "baseline_co2_kg",
        "savings_pct",
        "saved_time_kg",
        "saved_region_kg",
        "saved_both_kg",
        "saved_pause_kg",
        "deadline_misses",
        "mean_delay_s",
        "p95_delay_s",
    ),
    "plan": tuple(OUTPUT_SCHEMAS["plan"]["properties"]),
    "lab status": ("component", "pid", "alive", "log"),
}
