from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon_kube.storage.atomic import (
    write_atomically,
    write_bytes_atomically,
    write_files_atomically,
    write_text_atomically,
)


@pytest.fixture
def umask_027() -> Iterator[int]:
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_file_has_the_permissions_of_any_new_file(tmp_path: Path, umask_027: int) -> None:
    target = tmp_path / "report.html"
    write_text_atomically(target, "<p>é</p>")
    assert target.read_text(encoding="utf-8") == "<p>é</p>"
    assert _mode(target) == 0o666 & ~umask_027  # not mkstemp's private 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(target) == _mode(plain)


def test_text_bytes_and_callback_variants_write_the_whole_content(tmp_path: Path) -> None:
    write_bytes_atomically(tmp_path / "a.bin", b"\x00\x01")
    write_atomically(tmp_path / "b.csv", lambda temp: temp.write_text("x,y\n1,2\n"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.csv").read_text() == "x,y\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.csv"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "jobs.csv"
    target.write_text("previous\n")

    def fail_halfway(temp: Path) -> None:
        temp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, fail_halfway)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["jobs.csv"]


def test_files_written_together_are_all_kept_unchanged_when_one_fails(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("old summary")

    def fail(temp: Path) -> None:
        raise OSError("no space left")

    with pytest.raises(OSError, match="no space"):
        write_files_atomically(
            {
                tmp_path / "summary.json": lambda temp: temp.write_text("new summary"),
                tmp_path / "jobs.csv": fail,
            }
        )
    assert (tmp_path / "summary.json").read_text() == "old summary"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
