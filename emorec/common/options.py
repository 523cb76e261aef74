"""Typed options that are also command-line flags, so that each default is written once, in its field.

A field made with :func:`option` carries its help text and argparse keywords in its metadata;
:func:`add_flags` gives a parser one flag per field (``lr_patience`` → ``--lr-patience``; a boolean that
defaults to True becomes ``--no-...``; a field whose type is itself such a dataclass adds that one's flags),
and :func:`from_args` builds the dataclass back from the parsed flags. :class:`training.config.TrainConfig`,
:class:`core.options.RecognizerOptions` (with :class:`core.options.DetectorSettings` inside) and
:class:`server.options.ServeOptions` are written this way.
"""

import argparse
import dataclasses
import typing
from dataclasses import MISSING, field, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def option(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, flag: str | None = None,
           off_help: str | None = None, group: str | None = None, **argparse_keywords: Any) -> Any:
    """A dataclass field that is also a flag. ``help``: its help text (no help: the field has no flag);
    ``flag``: the flag's name when it is not the field's; ``off_help``: for a boolean that defaults to True,
    the help of its ``--no-...`` flag; ``group``: for a field holding nested options, the title of the
    ``--help`` section their flags go in; the rest go to ``add_argument``."""
    metadata = {"help": help, "flag": flag, "off_help": off_help, "group": group, "argparse": argparse_keywords}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _nested(cls: type, f: dataclasses.Field) -> type | None:
    """The options dataclass a field holds (its flags are the parent's), or None."""
    kind = _hints(cls)[f.name]
    return kind if isinstance(kind, type) and is_dataclass(kind) else None


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def flag_name(f: dataclasses.Field) -> str:
    """The flag of a field: ``--lr-patience`` for ``lr_patience`` (or the one its :func:`option` names)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def flag_of(cls: type, name: str) -> str:
    """The flag that sets field ``name`` of ``cls`` (or of an options dataclass nested in it), as a message names
    it: ``--every``, ``--no-tta`` for a boolean that defaults to True."""
    for f in fields(cls):
        inner = _nested(cls, f)
        if inner is not None:
            try:
                return flag_of(inner, name)
            except KeyError:
                continue
        if f.name == name:
            flag = flag_name(f)
            return "--no-" + flag[2:] if _default(f) is True else flag
    raise KeyError(name)


def add_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, *,
              unset_is_none: bool = False) -> None:
    """One flag per field of ``cls`` that has help. ``unset_is_none``: every flag defaults to None (and its help
    names the field's default), so that :func:`given` can tell what was given, as ``train --resume`` needs."""
    for f in fields(cls):
        inner = _nested(cls, f)
        if inner is not None:
            title = f.metadata.get("group")
            add_flags(parser.add_argument_group(title) if title else parser, inner, unset_is_none=unset_is_none)
            continue
        if not f.metadata.get("help"):
            continue
        help_text, name, default = f.metadata["help"], flag_name(f), _default(f)
        if isinstance(default, bool):
            if default:
                parser.add_argument("--no-" + name[2:], dest=f.name, action="store_false",
                                    default=None if unset_is_none else True,
                                    help=f.metadata.get("off_help") or f"turn off: {help_text}")
            else:
                parser.add_argument(name, dest=f.name, action="store_true", default=None if unset_is_none else False,
                                    help=help_text)
            continue
        keywords = dict(f.metadata["argparse"])
        if "type" not in keywords and "choices" not in keywords:
            kind = _hints(cls)[f.name]
            keywords["type"] = kind if kind in (int, float, str) else None
        if unset_is_none and default not in ("", None) and "default" not in help_text:
            help_text += f" (default: {default})"
        parser.add_argument(name, dest=f.name, default=None if unset_is_none else default, help=help_text, **keywords)


def given(cls: type, args: argparse.Namespace) -> set[str]:
    """Names of the fields of ``cls`` (nested ones too) set on the command line (with ``unset_is_none``)."""
    names = set()
    for f in fields(cls):
        inner = _nested(cls, f)
        if inner is not None:
            names |= given(inner, args)
        elif getattr(args, f.name, None) is not None:
            names.add(f.name)
    return names


def from_args(cls: type[T], args: argparse.Namespace, **values: Any) -> T:
    """A ``cls`` from parsed flags: each field's flag where it was given, ``values`` where named, and the
    field's default for the rest (nested option dataclasses likewise)."""
    built: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in values:
            built[f.name] = values[f.name]
            continue
        inner = _nested(cls, f)
        if inner is not None:
            built[f.name] = from_args(inner, args)
        elif f.init:
            value = getattr(args, f.name, None)
            if value is not None:
                built[f.name] = value
    return cls(**built)
