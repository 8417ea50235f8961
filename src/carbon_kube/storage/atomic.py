"""Atomic file writes: a reader sees the previous file or the new one, never half of it.

The content goes to a hidden temporary file in the *same folder* (``.<name>.<random>.partial``;
a rename is only atomic within one file system), is flushed to disk with ``fsync``, gets the
permissions any new file would get (``0666 & ~umask``: ``mkstemp`` alone makes it private,
0600) and is renamed over the target with ``Path.replace`` (``os.replace``). On any failure the
temporary file is removed and the previous file, if any, is left as it was.

Why a package of its own at the bottom layer: this is file I/O, which the decision layers
(domain, energy, policy, forecasting) must not do, yet the simulator, the CLI, the dashboards,
the lab and the providers all write files. It imports nothing from carbon_kube, so any layer may
use it without the layers contract bending. It does not create folders or decide names: the
callers own their paths and their error messages about them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

_NEW_FILE_MODE = 0o666


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` with a temporary path beside ``path``, then rename it into place.

    ``write`` receives a path, not a stream, so libraries that open files themselves (pandas,
    matplotlib) can be used; it must write the whole content there (what it returns is ignored).
    """
    write_files_atomically({path: write})


def write_text_atomically(path: Path, text: str) -> None:
    """``path`` holds exactly ``text`` (UTF-8), or keeps what it had."""
    write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """``path`` holds exactly ``data``, or keeps what it had."""
    write_atomically(path, lambda temp: temp.write_bytes(data))


def write_files_atomically(files: Mapping[Path, Callable[[Path], object]]) -> None:
    """Write every file to its temporary sibling first; rename them only when all are complete.

    A failure while writing any of them leaves every target as it was: outputs that belong
    together (a summary and its jobs table) are never mixed from two runs by a failed write.
    The renames themselves are one per file, so a crash between two of them can still mix.
    """
    mode = _NEW_FILE_MODE & ~_current_umask()
    staged: list[tuple[Path, Path]] = []
    try:
        for path, write in files.items():
            temp = _temporary_sibling(path)
            staged.append((temp, path))
            write(temp)
            _flush_to_disk(temp)
            temp.chmod(mode)
        for temp, path in staged:
            temp.replace(path)  # os.replace: atomic within the folder
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise


def _temporary_sibling(path: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    return Path(name)


def _flush_to_disk(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


def _current_umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    current = os.umask(0o022)
    os.umask(current)
    return current
