"""Write docs/cli.md from the command tree (exit codes, -o schemas, environment variables).

How to run
    .venv/bin/python scripts/cli_reference.py

tests/unit/cli/test_cli_reference.py fails when docs/cli.md differs from what this writes.
"""

from __future__ import annotations

from pathlib import Path

from carbon_kube.cli.reference import render_cli_reference
from carbon_kube.storage.atomic import write_text_atomically

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def main() -> None:
    write_text_atomically(TARGET, render_cli_reference())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
