"""Reading a file a user named: every way it can be unreadable becomes one line naming it.

Every command that takes a file argument (intensity, job traces, region maps, forecasts,
weather, overrides, a simulation to report on) reads it through here, so a folder given where a
file was expected, a missing or private file, a ``.gz`` that is not gzip or was cut short, and
binary data where text was expected are answered the same way everywhere: an ``InputError``
that names the file and says what to do, never a traceback. Parsers then see bytes or text
that are known to be whole.

Files are read into memory before parsing: the largest input here (a million-job trace, about
100 MB of CSV) fits easily, and a truncated compressed file is then found before any row is
used, instead of half-way through a run. The command line checks its file arguments this way
as it parses them (``preload_user_file``); the bytes it read are handed to the first reader
of the same unchanged file, so checking early costs no second read.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

from carbon_kube.domain.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"


# Checked at parse time, waiting for their reader: (path, size, mtime) -> content.
_PRELOADED: dict[tuple[str, int, int], bytes] = {}


def preload_user_file(path: Path, *, text: bool) -> None:
    """Check ``path`` as its reader will (and, with ``text``, that it is UTF-8), keep the bytes."""
    data = _read(path)
    if text:
        _decode(data, path)
    key = _identity(path)
    if key is not None:
        _PRELOADED[key] = data


def read_user_bytes(path: Path) -> bytes:
    """The whole content of ``path``, decompressed when it is gzip (by name or by content)."""
    key = _identity(path)
    if key is not None and key in _PRELOADED:
        return _PRELOADED.pop(key)
    return _read(path)


def _identity(path: Path) -> tuple[str, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), status.st_size, status.st_mtime_ns)


def _read(path: Path) -> bytes:
    if not path.exists():
        raise InputError("file not found; check the path", source=path)
    if path.is_dir():
        raise InputError("is a folder; expected a file", source=path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    if path.name.lower().endswith(".gz") or data.startswith(_GZIP_MAGIC):
        return _gunzip(data, path)
    return data


def read_user_text(path: Path) -> str:
    """The content of ``path`` as UTF-8 text (a leading byte-order mark is dropped)."""
    return _decode(read_user_bytes(path), path)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start} is {data[error.start : error.start + 1]!r}); "
            "is this a binary file?",
            source=path,
        ) from None


def check_row_widths(text: str, path: Path, *, width: int | None = None, sep: str = ",") -> None:
    """Every non-blank row has exactly as many fields as the header (or ``width``).

    pandas pads a short row with empty cells, which a parser cannot tell from a value the user
    left empty on purpose; a short row is almost always a cut or mis-edited line, so it is an
    error naming that line (as a row with too many fields already is).
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    expected = width
    what = "the header" if width is None else "the format"
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if expected is None:
            expected = len(row)
            continue
        if len(row) != expected:
            fewer_or_more = "fewer" if len(row) < expected else "more"
            raise InputError(
                f"row has {len(row)} fields, {fewer_or_more} than the {expected} of {what}",
                source=path,
                line=reader.line_num,
            )


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except gzip.BadGzipFile:
        raise InputError(
            "not a gzip file (the name ends in .gz); decompress it or give the plain file",
            source=path,
        ) from None
    except EOFError:
        raise InputError(
            "compressed data ends early: the file is truncated (copy or download it again)",
            source=path,
        ) from None
    except zlib.error as error:
        raise InputError(f"corrupt gzip data ({error})", source=path) from None
