"""Command-line value checks and the help formatter, shared by every command line and by the flags of
:class:`emorec.training.config.TrainConfig`."""

import argparse
import re


def number(kind, low, high=None, low_open=False, high_open=False):
    """An argparse type: ``kind`` (int or float) between ``low`` and ``high`` (``*_open``: the bound itself is
    excluded); anything else is a usage error that names the allowed range."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if v != v or (v <= low if low_open else v < low) or \
                (high is not None and (v >= high if high_open else v > high)):
            lo = f"above {low}" if low_open else f"at least {low}"
            hi = "" if high is None else f" and {'below' if high_open else 'at most'} {high}"
            raise argparse.ArgumentTypeError(f"must be {lo}{hi}, got {text}")
        return v
    return parse


class HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to a flag's help only when X says something (not None/False/""), the help text
    does not already state its default in parentheses, and the flag is not a switch that turns something off
    (``--no-tta``'s default True would read as if it were on)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, "", argparse.SUPPRESS) and not re.search(r"\(default\b", text) \
                and action.option_strings and not isinstance(action, argparse._StoreFalseAction):
            text += " (default: %(default)s)"
        return text
