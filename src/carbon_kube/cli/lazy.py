"""A root command that imports a sub-command's module only when that sub-command runs.

Every command used to import every other command's libraries at start (pandas, matplotlib,
LightGBM, kubernetes, aiohttp): 2-3 s of CPU for ``--version``. The root group here knows each
sub-command by name, module and one-line help, so ``carbon-kube --version`` and
``carbon-kube --help`` import no command module at all, and ``carbon-kube zones`` imports the
zones module and what it needs, nothing else. The one-line help lives here, not in the
command's module (whose docstring is the long help of ``carbon-kube <command> --help``),
because it is what ``--help`` lists without importing anything. typer 0.29 carries its own
copy of click, so the classes here are typer's, not the ``click`` package's.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from typer._click import Command, Context, HelpFormatter
from typer.core import TyperCommand, TyperGroup

from carbon_kube.cli import settings_sources


@dataclass(frozen=True)
class LazyCommand:
    """Where a sub-command lives (``module:attribute``, a ``typer.Typer`` or a function)."""

    target: str
    short_help: str

    def load(self, name: str) -> Command:
        module_name, attribute = self.target.split(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        if isinstance(obj, typer.Typer):
            command: Command = typer.main.get_group(obj)
            command.name = name
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(obj)
            command = typer.main.get_command(single)
        command.short_help = self.short_help
        settings_sources.bind_environment(command)
        return command


class LazyGroup(TyperGroup):
    """A typer group whose sub-commands come from ``LAZY_COMMANDS``, imported on first use."""

    lazy_commands: Mapping[str, LazyCommand] = {}

    def __init__(self, **attrs: object) -> None:
        super().__init__(**attrs)  # type: ignore[arg-type]
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.lazy_commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        entry = self.lazy_commands.get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            return TyperCommand(cmd_name, help=entry.short_help, short_help=entry.short_help)
        if cmd_name not in self.commands:
            self.commands[cmd_name] = entry.load(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        with self._listing_only():
            super().format_help(ctx, formatter)

    @contextmanager
    def _listing_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False


def load_all(group: TyperGroup, ctx: Context) -> dict[str, Command]:
    """Every sub-command, loaded (for tests and docs that walk the whole tree)."""
    commands = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None:
            commands[name] = command
    return commands
