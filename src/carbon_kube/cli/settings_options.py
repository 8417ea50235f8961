"""Typer options built from a settings model's fields: the default, help and checks are the field's.

A component's settings model states each default, description and range once; an option made
by ``field_option`` shows that default and help and validates its value through the field's
own validators as the command line is parsed, so a bad value is refused with one line naming
the option (exit 2, via ``cli.app.run_guarded``) before anything starts. Dataclass settings
(owned by their components) lend their defaults the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from carbon_kube.domain.errors import InputError

__all__ = ["field_default", "field_option"]

_UNSET: Any = object()


def field_default(settings: type[Any], name: str) -> Any:
    """The default of field ``name`` of a pydantic model or a dataclass (``...`` if required)."""
    if isinstance(settings, type) and issubclass(settings, BaseModel):
        info = settings.model_fields[name]
        return ... if info.is_required() else info.get_default(call_default_factory=True)
    for item in dataclasses.fields(settings):
        if item.name == name:
            if item.default is not dataclasses.MISSING:
                return item.default
            if item.default_factory is not dataclasses.MISSING:
                return item.default_factory()
            return ...
    raise KeyError(f"{settings.__name__} has no field {name!r}")


def field_option(
    settings: type[BaseModel],
    name: str,
    *flags: str,
    default: Any = _UNSET,
    help: str | None = None,
    **extra: Any,
) -> Any:
    """``typer.Option`` for field ``name`` of ``settings``, checked by the field's validators."""
    info = settings.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[annotation, *info.metadata]
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    option = flags[0] if flags else "--" + name.replace("_", "-")

    def check(value: Any) -> Any:
        if value is None:
            return value
        try:
            return adapter.validate_python(value)
        except InputError as error:
            raise InputError(error.message, field=option) from None
        except ValidationError as error:
            raise InputError(error.errors()[0]["msg"], field=option) from None

    return typer.Option(
        field_default(settings, name) if default is _UNSET else default,
        *flags,
        help=help if help is not None else info.description,
        callback=check,
        **extra,
    )
