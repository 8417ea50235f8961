"""The savings report: one HTML or Markdown page from a simulation's folder.

The HTML page is self-contained: no file or network fetch when it is opened, the CSS is inline
and the charts are PNGs in ``data:`` URIs, so it can be mailed, attached to CI runs or archived
on its own. The Markdown page links its charts as PNG files beside it (``<page>-chart-N.png``),
because code hosts do not show ``data:`` images in Markdown. Every number comes from
``summary.json`` and ``jobs.csv``; the page adds no claim of its own. The page carries no
timestamp, so the same folder always renders the same bytes.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.plans import REPORTED_LEVERS
from carbon_kube.sim.outputs import BASELINE_POLICY, SimulationOutputs, best_policy
from carbon_kube.sim.plots import render_chart
from carbon_kube.sim.timeline_chart import render_zone_timelines
from carbon_kube.sim.timelines import choose_step
from carbon_kube.storage.atomic import write_files_atomically


class PageFormat(StrEnum):
    HTML = "html"
    MARKDOWN = "md"


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    caption: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True, slots=True)
class ZoneRow:
    zone: str
    baseline_jobs: int
    baseline_co2_kg: float
    policy_jobs: int
    policy_co2_kg: float


@dataclass(frozen=True, slots=True)
class SavingsReport:
    """What the page shows, independent of its format."""

    title: str
    workload: str
    forecast: str
    summaries: list[dict[str, Any]]
    policy: str | None
    zone_rows: list[ZoneRow]
    charts: list[Chart]
    caveats: list[str]


_SUMMARY_HEADERS = (
    "policy",
    "jobs",
    "energy kWh",
    "kg CO2eq",
    "baseline kg",
    "saved %",
    "saved kg: time",
    "region",
    "time+region",
    "pause",
    "deadline misses",
    "mean delay h",
    "p95 delay h",
)


def build_report(outputs: SimulationOutputs, policy: str | None = None) -> SavingsReport:
    """Tables and charts for ``outputs``; ``policy`` picks the timeline (default: best saving)."""
    if policy is not None and policy not in outputs.policies:
        raise InputError(
            f"policy {policy!r} is not in this run; it has {', '.join(outputs.policies)}",
            field="--policy",
        )
    chosen = policy or best_policy(outputs.summaries)
    inputs = outputs.summaries[0].get("inputs") or {}
    workload = str(inputs.get("jobs_file") or outputs.directory)
    forecast = str(inputs.get("forecast", "unknown"))
    jobs = outputs.jobs
    title = f"Carbon-Kube savings: {int(outputs.summaries[0]['jobs']):,} jobs"
    has_levers = all("savings_by_lever_kg" in s for s in outputs.summaries)
    # An older or foreign summary.json may lack the lever split: its panel stays empty (NaN
    # bars draw nothing) and the caption says so, rather than showing zeros.
    chart_summaries = [
        s if "savings_by_lever_kg" in s else {**s, "savings_by_lever_kg": _NO_LEVERS}
        for s in outputs.summaries
    ]
    charts = [
        Chart(
            "Emissions and savings per policy",
            "Left: kg CO2eq per policy against the carbon-agnostic baseline (dashed). Right: "
            + (
                "the saving split by lever: time (later start), region (other grid zone), both, "
                "pause (interruptible work paused between its segments)."
                if has_levers
                else "empty: this summary.json has no savings_by_lever_kg."
            ),
            render_chart(chart_summaries, title),
        )
    ]
    zone_rows: list[ZoneRow] = []
    has_baseline_jobs = bool((jobs["policy"] == BASELINE_POLICY).any())
    if chosen is not None and chosen != BASELINE_POLICY and has_baseline_jobs:
        step = choose_step(jobs)
        charts.append(
            Chart(
                f"Emissions per grid zone over time: {BASELINE_POLICY} vs {chosen}",
                "Cumulative kg CO2eq emitted in each zone (each job's emissions spread evenly "
                f"over its run, {'daily' if step.days else 'hourly'} bins). Panel titles give "
                "the zone's totals before and after.",
                render_zone_timelines(jobs, BASELINE_POLICY, chosen, step),
            )
        )
        zone_rows = _zone_rows(outputs, chosen)
    return SavingsReport(
        title=title,
        workload=workload,
        forecast=forecast,
        summaries=outputs.summaries,
        policy=chosen if zone_rows else None,
        zone_rows=zone_rows,
        charts=charts,
        caveats=caveats(outputs.summaries),
    )


_REGION_POLICIES = ("spatial", "spatiotemporal")


def caveats(summaries: Sequence[dict[str, Any]]) -> list[str]:
    """What a reader must know to read the rows honestly (the README says the same)."""
    notes = []
    moved = [str(s["policy"]) for s in summaries if s["policy"] in _REGION_POLICIES]
    capacity = summaries[0].get("capacity_vcpus") if summaries else None
    if moved and not capacity:
        notes.append(
            f"The {' and '.join(moved)} rows assume every zone has unlimited capacity (the run "
            "had no --capacity): work moves to the cleanest grid without limit, an upper bound, "
            "not a forecast of your fleet."
        )
    return notes


def chart_file_names(page: Path, report: SavingsReport) -> list[str]:
    """The PNG files a Markdown page at ``page`` links, one per chart."""
    return [f"{page.stem}-chart-{index}.png" for index in range(1, len(report.charts) + 1)]


def write_report(page: Path, report: SavingsReport, page_format: PageFormat) -> list[Path]:
    """Write the page (and, for Markdown, its chart PNGs) atomically; returns what was written."""
    if not page.parent.is_dir():
        raise InputError(f"folder {str(page.parent)!r} does not exist; create it", field="--out")
    if page_format is PageFormat.HTML:
        text = render_html(report)
        files: dict[Path, Callable[[Path], object]] = {}
    else:
        names = chart_file_names(page, report)
        text = render_markdown(report, names)
        files = {
            page.parent / name: partial(Path.write_bytes, data=chart.png)
            for name, chart in zip(names, report.charts, strict=True)
        }
    files[page] = partial(Path.write_text, data=text, encoding="utf-8")
    write_files_atomically(files)
    return list(files)


def render_html(report: SavingsReport) -> str:
    """One HTML5 document; every string from the data is escaped."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="meta">Workload: {e(report.workload)}<br>Forecast: {e(report.forecast)}'
        f"{' (perfect knowledge: an upper bound)' if report.forecast == 'oracle' else ''}</p>",
        "<h2>Savings per policy</h2>",
        _html_table(_SUMMARY_HEADERS, _summary_rows(report.summaries)),
        *(f'<p class="caveat">{e(caveat)}</p>' for caveat in report.caveats),
    ]
    for chart in report.charts:
        parts += [
            f"<figure><figcaption><strong>{e(chart.title)}</strong><br>{e(chart.caption)}"
            "</figcaption>",
            f'<img src="{chart.data_uri()}" alt="{e(chart.title)}"></figure>',
        ]
    if report.zone_rows and report.policy:
        parts += [
            f"<h2>Per grid zone: {e(BASELINE_POLICY)} vs {e(report.policy)}</h2>",
            _html_table(_zone_headers(report.policy), _zone_cells(report.zone_rows)),
        ]
    parts += [f'<p class="meta">{e(_ATTRIBUTION)}</p>', "</main></body></html>"]
    return "\n".join(parts) + "\n"


def render_markdown(report: SavingsReport, chart_files: Sequence[str]) -> str:
    """GitHub-flavoured Markdown; charts are the PNG files ``chart_files``, beside the page."""
    lines = [
        f"# {report.title}",
        "",
        f"Workload: {_md(report.workload)}  ",
        f"Forecast: {_md(report.forecast)}"
        + (" (perfect knowledge: an upper bound)" if report.forecast == "oracle" else ""),
        "",
        "## Savings per policy",
        "",
        *_md_table(_SUMMARY_HEADERS, _summary_rows(report.summaries)),
    ]
    for caveat in report.caveats:
        lines += ["", f"> {_md(caveat)}"]
    for chart, name in zip(report.charts, chart_files, strict=True):
        lines += ["", f"### {_md(chart.title)}", "", _md(chart.caption), ""]
        lines.append(f"![{_md(chart.title)}]({name})")
    if report.zone_rows and report.policy:
        lines += ["", f"## Per grid zone: {BASELINE_POLICY} vs {_md(report.policy)}", ""]
        lines += _md_table(_zone_headers(report.policy), _zone_cells(report.zone_rows))
    lines += ["", _ATTRIBUTION, ""]
    return "\n".join(lines)


_NO_LEVERS = {str(lever): math.nan for lever in REPORTED_LEVERS}

_ATTRIBUTION = (
    "Savings are against carbon-agnostic scheduling (each job starts at submit in its home "
    "zone) on the same intensity data, and are attributed to the lever that produced them; "
    "energy is the same under every policy except the restart overhead of split jobs."
)

_CSS = (
    "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:0;"
    "background:#fafafa;color:#222}main{max-width:1150px;margin:0 auto;padding:1.5rem}"
    "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.meta{color:#555}"
    "table{border-collapse:collapse;font-size:.85rem;background:#fff}"
    "th,td{border:1px solid #ddd;padding:.3rem .55rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#eef2f7}"
    "figure{margin:1.5rem 0}img{max-width:100%;height:auto;background:#fff}"
    "figcaption{margin-bottom:.5rem;font-size:.9rem}"
)


def _summary_rows(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for s in summaries:
        by_lever = s.get("savings_by_lever_kg") or {}
        rows.append(
            [
                str(s["policy"]),
                f"{int(s['jobs']):,}",
                f"{float(s['energy_kwh']):,.2f}",
                f"{float(s['co2_kg']):,.3f}",
                f"{float(s['baseline_co2_kg']):,.3f}",
                f"{float(s['savings_pct']):.2f}",
                *(
                    f"{float(by_lever[lever]):,.3f}" if lever in by_lever else "n/a"
                    for lever in map(str, REPORTED_LEVERS)
                ),
                f"{int(s['deadline_misses']):,}",
                f"{float(s['mean_delay_s']) / 3600:.2f}",
                f"{float(s['p95_delay_s']) / 3600:.2f}",
            ]
        )
    return rows


def _zone_rows(outputs: SimulationOutputs, policy: str) -> list[ZoneRow]:
    jobs = outputs.jobs
    grouped = jobs.groupby(["policy", "zone"])["co2_g"].agg(["count", "sum"]).reset_index()
    counts: dict[tuple[str, str], int] = {}
    grams: dict[tuple[str, str], float] = {}
    for name, zone, count, total_g in grouped.itertuples(index=False):
        counts[(str(name), str(zone))] = int(count)
        grams[(str(name), str(zone))] = float(total_g)
    zones = sorted(set(jobs.loc[jobs["policy"].isin([BASELINE_POLICY, policy]), "zone"]))

    def cell(name: str, zone: str) -> tuple[int, float]:
        return counts.get((name, zone), 0), grams.get((name, zone), 0.0) / 1000.0

    return [ZoneRow(zone, *cell(BASELINE_POLICY, zone), *cell(policy, zone)) for zone in zones]


def _zone_headers(policy: str) -> tuple[str, ...]:
    return ("zone", f"{BASELINE_POLICY} jobs", "kg CO2eq", f"{policy} jobs", "kg CO2eq")


def _zone_cells(rows: Sequence[ZoneRow]) -> list[list[str]]:
    return [
        [
            r.zone,
            f"{r.baseline_jobs:,}",
            f"{r.baseline_co2_kg:,.3f}",
            f"{r.policy_jobs:,}",
            f"{r.policy_co2_kg:,.3f}",
        ]
        for r in rows
    ]


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in headers) + " |"]
    lines.append("|" + "|".join(":--" if i == 0 else "--:" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


def _md(text: str) -> str:
    """Text safe inside Markdown tables and headings: pipes, brackets and HTML escaped."""
    escaped = html.escape(text, quote=False)
    for char in ("\\", "|", "[", "]", "*", "_", "`"):
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\n", " ")
