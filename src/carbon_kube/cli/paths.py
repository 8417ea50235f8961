"""Path options that are checked when the command line is parsed, before any work starts.

A long simulation that fails at its last step because ``--out`` names a file, a folder the
user may not write or ``/proc`` would lose minutes and leave nothing useful; a job trace that
turns out to be a folder would fail with a traceback deep in pandas. Every path option of every
command therefore declares what it is (``INPUT_FILE``, ``INPUT_TEXT``, ``INPUT_PATH``,
``OUTPUT_FILE``, ``OUTPUT_FOLDER``) through ``parser=``, and the check is one line naming the
path (exit 2). An input file is read as its reader will read it (a ``.gz`` that is not gzip or
was cut short, binary data where text is expected), and the bytes are handed to that reader.
The test of each class of bad path enumerates the options by these roles, so a new command is
covered by declaring its options with them.

Writability is probed by creating (and removing) a temporary file in the nearest existing
folder: permission bits alone do not tell root, read-only mounts or ``/proc`` apart.
"""

from __future__ import annotations

import enum
import tempfile
from pathlib import Path

from carbon_kube.domain.errors import InputError
from carbon_kube.storage.reading import preload_user_file


class PathRole(enum.Enum):
    """What a path option names; the tests pick bad values per role."""

    INPUT_FILE = "input file"
    INPUT_TEXT = "input text file"
    INPUT_PATH = "input file or folder"
    OUTPUT_FILE = "output file"
    OUTPUT_FOLDER = "output folder"


class CheckedPath:
    """A ``parser=`` for path options: the path, checked for its role (``InputError`` if not).

    typer gives a parser only the value, so messages name the path, which is what the user
    typed; ``role`` is how the tests find every path option of a kind.
    """

    def __init__(self, role: PathRole) -> None:
        self.role = role

    def __call__(self, value: object) -> Path:
        path = value if isinstance(value, Path) else Path(str(value)).expanduser()
        if self.role in (PathRole.INPUT_FILE, PathRole.INPUT_TEXT):
            check_input_file(path)
            preload_user_file(path, text=self.role is PathRole.INPUT_TEXT)
        elif self.role is PathRole.INPUT_PATH:
            if not path.exists():
                raise InputError("not found", source=path)
        elif self.role is PathRole.OUTPUT_FILE:
            check_output_file(path)
        else:
            check_output_folder(path)
        return path


INPUT_FILE = CheckedPath(PathRole.INPUT_FILE)
INPUT_TEXT = CheckedPath(PathRole.INPUT_TEXT)
INPUT_PATH = CheckedPath(PathRole.INPUT_PATH)
OUTPUT_FILE = CheckedPath(PathRole.OUTPUT_FILE)
OUTPUT_FOLDER = CheckedPath(PathRole.OUTPUT_FOLDER)


def check_input_file(path: Path) -> None:
    """``path`` is an existing regular file (its content is checked when it is read)."""
    if not path.exists():
        raise InputError("file not found", source=path)
    if path.is_dir():
        raise InputError("is a folder; expected a file", source=path)


def check_output_file(path: Path) -> None:
    """``path`` can be created or replaced: not a folder, and its folder can be written."""
    if path.is_dir():
        raise InputError("is a folder; expected a file name to write", source=path)
    _check_writable_folder(path.parent, for_path=path)


def check_output_folder(path: Path) -> None:
    """``path`` is a folder, or can be created as one, and files can be written in it."""
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder; give a folder", source=path)
    _check_writable_folder(path, for_path=path)


def _check_writable_folder(folder: Path, *, for_path: Path) -> None:
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{existing} is a file, not a folder", source=for_path)
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".carbon-kube-probe."):
            pass
    except OSError as error:
        raise InputError(
            f"cannot write in {existing} ({error.strerror or error})", source=for_path
        ) from None
