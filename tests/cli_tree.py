"""The command tree of ``carbon-kube``, walked from the typer app itself.

The tests of each class of user mistake (tests/unit/cli/test_every_command.py) enumerate the
commands and options from here, so a command added to the app is tested without a new test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer.core import TyperOption

from carbon_kube.cli.paths import CheckedPath, PathRole
from carbon_kube.cli.reference import leaf_commands


@dataclass(frozen=True)
class CommandOption:
    """One option of one leaf command."""

    command: tuple[str, ...]
    option: TyperOption

    @property
    def flag(self) -> str:
        return max(self.option.opts, key=len)

    @property
    def role(self) -> PathRole | None:
        parser = self.option.type_descriptor.parameter_info.parser
        return parser.role if isinstance(parser, CheckedPath) else None

    @property
    def annotation(self) -> Any:
        return self.option.type_descriptor.annotation

    def __str__(self) -> str:
        return f"{' '.join(self.command)} {self.flag}"


def options(*, role: PathRole | None = None) -> list[CommandOption]:
    """Every option of every leaf command (``--help`` aside), optionally of one path role."""
    found = []
    for path, command in leaf_commands():
        for param in command.params:
            if isinstance(param, TyperOption) and param.name != "help":
                item = CommandOption(path, param)
                if role is None or item.role is role:
                    found.append(item)
    return found


def commands_with(flag: str) -> set[str]:
    """Commands (``"intensity show"``) that have option ``flag``."""
    return {" ".join(item.command) for item in options() if flag in item.option.opts}
