"""How a command's answer reaches stdout: a table for people, JSON or CSV for scripts.

``-o/--output`` follows kubectl's convention and means the same in every command that has it;
folders and files to write are ``--out``/``--plot``. The JSON document of each command and the
CSV columns are listed in docs/cli.md; ``Answer`` is the one shape both come from, so a command
cannot print a table whose numbers differ from its JSON.

Rich wraps and truncates to the terminal width, and assumes 80 columns when stdout is a pipe,
which cut numbers (``1,162...``) and region names in ``| cat`` and ``| grep``. ``stdout_console``
gives a console that never truncates when stdout is not a terminal.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console

# Wide enough for any row this package prints; tables are drawn at their natural width.
_PIPE_WIDTH = 10_000


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


OUTPUT: Any = typer.Option(
    OutputFormat.TABLE,
    "--output",
    "-o",
    case_sensitive=False,
    help="table (for people), json (one document) or csv (one row per item) for scripts; "
    "schemas in docs/cli.md.",
)


def stdout_console(**options: Any) -> Console:
    """A console on stdout that wraps nothing when stdout is a pipe or a file."""
    if not sys.stdout.isatty():
        options.setdefault("width", _PIPE_WIDTH)
    return Console(**options)


@dataclass(frozen=True)
class Answer:
    """A command's result: ``document`` for JSON, ``rows`` for CSV, ``render_table`` for people.

    ``rows`` are the items of the document (its zones, its hours, its policies; the document
    itself for a single object); their keys, in order, are the CSV header unless ``columns``
    names them.
    """

    document: Mapping[str, Any]
    rows: Sequence[Mapping[str, Any]]
    render_table: Callable[[Console], None]
    columns: Sequence[str] = field(default=())


def emit(answer: Answer, output: OutputFormat) -> None:
    """Print ``answer`` in ``output`` format on stdout."""
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(answer.document, indent=2, default=str))
    elif output is OutputFormat.CSV:
        columns = list(answer.columns) or (list(answer.rows[0]) if answer.rows else [])
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in answer.rows:
            writer.writerow({key: _csv_cell(row.get(key)) for key in columns})
    else:
        answer.render_table(stdout_console())


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value
