"""Command-line flags from the sports' option models, so the CLI knows no sport by name.

Each field of an installed sport's option model for a use case becomes a flag of that command
(``shots_weight`` -> ``--shots-weight``), its help naming the sports that take it. A command collects the
flags a user gave into ``options``; the application layer validates them against the chosen sport, so a flag
another sport owns is an error that names the flag and the sport.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from formguide.core.options import flag
from formguide.core.sport import available_sports, get_sport

__all__ = ["sport_option_parameters", "with_sport_options"]


def _plain_type(annotation: Any) -> tuple[type, str]:
    """The click-friendly type of a field annotation and a hint of its choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        return _plain_type(args[0])
    if origin is Literal:
        return str, " (" + " | ".join(map(str, typing.get_args(annotation))) + ")"
    if origin in (list, tuple, collections.abc.Sequence) and args:  # a repeatable flag: --flag A --flag B
        inner, choices = _plain_type(args[0])
        return list[inner], choices + " (repeatable)"  # type: ignore[valid-type]
    if annotation in (int, float, str, bool):
        return annotation, ""
    return str, ""


def sport_option_parameters(use_case: str) -> list[inspect.Parameter]:
    """One keyword parameter (a typer option defaulting to None) per option field of any installed sport."""
    fields: dict[str, dict[str, Any]] = {}
    for name in sorted(available_sports()):
        model = get_sport(name).options.model(use_case)
        for field_name, info in model.model_fields.items():
            kind, choices = _plain_type(info.annotation)
            entry = fields.setdefault(field_name, {"type": kind, "choices": choices, "help": info.description or "",
                                                   "sports": [], "defaults": {}})
            if entry["type"] != kind:
                raise TypeError(f"option {field_name!r} of {use_case} has different types in different sports")
            entry["sports"].append(name)
            entry["defaults"][name] = None if info.default_factory is not None else info.default
    params = []
    for field_name, e in sorted(fields.items()):
        known = {s: d for s, d in e["defaults"].items() if d is not None}
        defaults = (str(next(iter(known.values()))) if len(set(map(str, known.values()))) == 1 and
                    len(known) == len(e["sports"]) else ", ".join(f"{s} {d}" for s, d in known.items()))
        text = f"{e['help'].rstrip('.')}{e['choices']}. [{', '.join(e['sports'])}" + (
            f"; default {defaults}]" if defaults else "]")
        decl = f"{flag(field_name)}/--no-{field_name.replace('_', '-')}" if e["type"] is bool else flag(field_name)
        repeated = typing.get_origin(e["type"]) is list
        option = typer.Option(decl, help=text, rich_help_panel="Sport options", show_default=False,
                              metavar=f"<{typing.get_args(e['type'])[0].__name__}>" if repeated else None)
        params.append(inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[e["type"] | None, option]))
    return params


def with_sport_options(use_case: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the sport option flags of ``use_case``; they reach it as ``options`` (given flags only).

    The decorated function takes its own parameters plus ``options: dict``.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(func).parameters.values() if p.name != "options"]
        extra = sport_option_parameters(use_case)
        names = {p.name for p in extra}
        clash = names & {p.name for p in own}
        if clash:
            raise TypeError(f"sport options {sorted(clash)} clash with the {use_case} command's own options")
        hints = typing.get_type_hints(func, include_extras=True)

        def command(**kwargs: Any) -> None:
            options = {k: kwargs.pop(k) for k in list(kwargs) if k in names and kwargs[k] is not None}
            for k in names:
                kwargs.pop(k, None)
            func(**kwargs, options=options)

        command.__name__ = func.__name__
        command.__doc__ = func.__doc__
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
                  for p in own] + extra
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
