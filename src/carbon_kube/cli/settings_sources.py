"""Where an option's value comes from: the flag, ``CARBON_KUBE_<OPTION>``, ``--config``, default.

A service in a container is configured by environment; a team shares a YAML file; a person
types flags. Every option of every command accepts all three, with one precedence, the one
click already implements: a flag beats the environment variable, which beats the file, which
beats the built-in default. The file's values become the options' defaults, so
``carbon-kube --config team.yaml simulate --help`` shows what will be used.

The file is a YAML mapping of option names, spelled as on the command line (``latency-risk``),
in Python (``latency_risk``) or as in the Helm values (``latencyRisk``). Nested mappings
(``threshold: {latencyRisk: 0.2}``, or one section per command) are read by their leaves:
a name sets that option in every command that has it. A name that is no option of any command
is an error naming the file, its line and the closest option names: a typo must not be ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import yaml
from typer._click import Command
from typer.core import TyperGroup, TyperOption

from carbon_kube.domain.errors import InputError
from carbon_kube.storage.reading import read_user_text

ENV_PREFIX = "CARBON_KUBE_"

EPILOG = (
    "Every option can also come from the environment (CARBON_KUBE_<OPTION>, e.g. "
    "CARBON_KUBE_WATTS_PER_VCPU; shown in each option's help) or from --config FILE "
    "(YAML, option names as keys). Precedence: flag > environment > config file > default. "
    "Exit codes, output formats and JSON schemas: docs/cli.md."
)

LEAF_EPILOG = (
    "Each option also reads the environment variable shown and carbon-kube --config FILE; "
    "precedence: flag > environment > config file > default. Exit codes and -o formats: "
    "docs/cli.md."
)

# Root options and click's own are not settings.
_NOT_SETTINGS = frozenset({"help", "version", "config"})


def environment_variable(option_name: str) -> str:
    """``watts_per_vcpu`` -> ``CARBON_KUBE_WATTS_PER_VCPU``."""
    return ENV_PREFIX + option_name.upper()


def bind_environment(command: Command) -> None:
    """Give every option of ``command`` (and its sub-commands) its ``CARBON_KUBE_`` variable.

    Options that already read a conventional variable (``--kubeconfig`` reads ``KUBECONFIG``)
    read ours as well, ours first.
    """
    for leaf in _leaves_of(command):
        if not leaf.epilog:
            leaf.epilog = LEAF_EPILOG
    for option in _options(command):
        ours = environment_variable(str(option.name))
        if option.envvar is None:
            option.envvar = ours
        elif isinstance(option.envvar, str) and option.envvar != ours:
            option.envvar = [ours, option.envvar]
        option.show_envvar = True


def apply(ctx: typer.Context, config: Path | None) -> None:
    """Make the values in ``config`` the defaults of the command about to run."""
    if config is None:
        return
    values = read_config(config)
    if not values:
        return
    group = ctx.command
    if not isinstance(group, TyperGroup):
        return
    known: set[str] = set()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None:
            known.update(str(option.name) for option in _options(command))
    for name, (_, line, key) in values.items():
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(
                f"{key!r} is not an option of any command{hint}", source=config, line=line
            )
    invoked = ctx.invoked_subcommand
    command = group.get_command(ctx, invoked) if invoked else None
    if command is None:
        return
    for option in _options(command):
        if option.name in values:
            value, _, _ = values[str(option.name)]
            option.default = value
            option.required = False


def read_config(path: Path) -> dict[str, tuple[Any, int, str]]:
    """Option name -> (value, line, key as written), from the YAML mapping in ``path``."""
    text = read_user_text(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(
            f"not valid YAML: {getattr(error, 'problem', error)}",
            source=path,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            "expected a mapping of option names to values",
            source=path,
            line=root.start_mark.line + 1,
        )
    values: dict[str, tuple[Any, int, str]] = {}
    for key, node in _leaves(root):
        line = node.start_mark.line + 1
        value = yaml.SafeLoader(yaml.serialize(node)).get_single_data()
        name = _option_name(key)
        if name in values:
            raise InputError(
                f"{key!r} sets {name} again (first on line {values[name][1]})",
                source=path,
                line=line,
            )
        values[name] = (value, line, key)
    return values


def _leaves(node: yaml.MappingNode) -> Iterator[tuple[str, yaml.Node]]:
    for key_node, value_node in node.value:
        if isinstance(value_node, yaml.MappingNode):
            yield from _leaves(value_node)
        else:
            yield str(key_node.value), value_node


def _option_name(key: str) -> str:
    """``latencyRisk``, ``latency-risk`` and ``latency_risk`` all name ``latency_risk``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key.strip())
    return snake.replace("-", "_").lower()


def _options(command: object) -> Iterator[TyperOption]:
    for param in getattr(command, "params", []):
        if isinstance(param, TyperOption) and param.name not in _NOT_SETTINGS:
            yield param
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            yield from _options(sub)


def _leaves_of(command: Command) -> Iterator[Command]:
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            yield from _leaves_of(sub)
    else:
        yield command
