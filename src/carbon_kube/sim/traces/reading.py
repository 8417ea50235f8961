"""Reading trace files into string columns, and parsing numbers with a location on failure.

Each malformed value raises ``InputError`` naming the file, the 1-based line of the file (header
included) and the field, so ``carbon-kube traces convert`` prints one line and exits with 2.
Missing values that a source documents as possible (e.g. Alibaba's empty CPU requests) are not
errors here: callers ask for ``allow_empty`` and decide what a gap means.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.arrays import BoolArray, FloatArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.limits import Limit
from carbon_kube.storage.reading import check_row_widths, read_user_text


def read_table(
    path: Path, *, header: bool, names: Sequence[str] | None = None, sep: str = ","
) -> pd.DataFrame:
    """All cells as strings (``.gz`` is decompressed); a ragged or unreadable file is an error.

    With ``header=False``, ``names`` gives the columns and a row with more fields is an error
    (pandas names its line); a row with fewer fields has empty strings, which the parsers
    reject as missing values with the exact line.
    """
    text = read_user_text(path)
    check_row_widths(text, path, width=None if header else len(names or []), sep=sep)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=0 if header else None,
            names=None if header else list(names or []),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(f"cannot read as a table: {error}", source=path) from None
    frame.index = pd.RangeIndex(len(frame))
    return frame


def require_columns(frame: pd.DataFrame, wanted: Sequence[str], path: Path, hint: str) -> None:
    """Every column in ``wanted`` is present, else an error listing what the file has."""
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; found {list(frame.columns)!r}. {hint}",
            source=path,
            line=1,
        )


def parse_numbers(
    frame: pd.DataFrame,
    column: str,
    *,
    path: Path,
    first_line: int,
    allow_empty: bool = False,
) -> FloatArray:
    """``column`` as floats; empty cells become NaN only when ``allow_empty``.

    ``first_line`` is the file line of the first data row (2 with a header, 1 without).
    """
    text = frame[column].astype(str).str.strip()
    empty = (text == "").to_numpy()
    numbers = pd.to_numeric(text.where(~empty, "nan"), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if allow_empty:
        bad &= ~empty
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        shown = frame[column].iloc[row]
        what = "a missing value" if empty[row] else repr(shown)
        raise InputError(
            f"expected a finite number, got {what}",
            source=path,
            line=row + first_line,
            field=column,
        )
    return numbers.astype(np.float64)


@dataclass(frozen=True, slots=True)
class RowCheck:
    """Rejects rows of one file: the first offending row becomes an ``InputError``."""

    path: Path
    first_line: int

    def within(self, values: FloatArray, limit: Limit, *, column: str, unit_s: float = 1.0) -> None:
        """Refuse the first row outside ``limit``; ``unit_s`` converts the file's unit first.

        Every converter bounds its times and sizes here, before they become int64 seconds or
        calendar dates (1e300 hours would overflow both).
        """
        scaled = values * unit_s
        low_ok = scaled > limit.low if limit.low_exclusive else scaled >= limit.low
        self.reject(
            ~(low_ok & (scaled <= limit.high)),
            f"expected {limit.describe()}"
            + ("" if unit_s == 1.0 else f" after conversion to seconds (x{unit_s:g})"),
            values=values,
            column=column,
        )

    def reject(self, bad: BoolArray, message: str, *, values: FloatArray, column: str) -> None:
        """Raise for the first row where ``bad`` holds; ``message`` says what is wrong."""
        if bool(np.any(bad)):
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{message}, got {values[row]:g}",
                source=self.path,
                line=row + self.first_line,
                field=column,
            )
