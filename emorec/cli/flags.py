"""The recognizer's flags, shared by UI.py, analyze and serve: the fields of
:class:`core.options.RecognizerOptions` (and of the :class:`core.detector.DetectorSettings` inside it)."""

import argparse

from emorec.common.options import add_flags, from_args
from emorec.core.options import RecognizerOptions


def add_recognizer_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    group = parser.add_argument_group(RecognizerOptions.FLAGS_TITLE)
    add_flags(group, RecognizerOptions)
    return group


def recognizer_options(args: argparse.Namespace) -> RecognizerOptions:
    """The :class:`core.options.RecognizerOptions` the parsed flags give."""
    return from_args(RecognizerOptions, args)
