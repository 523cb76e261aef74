"""Flag values: a number outside its range, or not a number, is a usage error naming what is allowed."""

import argparse

import pytest

from emorec.common.argtypes import HelpFormatter, number


@pytest.mark.parametrize("spec,text,message", [
    ((int, 1), "0", "must be at least 1, got 0"),
    ((int, 1), "1.5", "'1.5' is not an integer"),
    ((float, 0, 1, False, True), "1", "must be at least 0 and below 1, got 1"),
    ((float, 0, None, True), "0", "must be above 0, got 0"),
    ((float, 0, 1), "nan", "must be at least 0 and at most 1, got nan"),
    ((float, 0), "x", "'x' is not a number"),
])
def test_out_of_range_or_not_a_number(spec, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        number(*spec)(text)


def test_values_in_range_come_back_typed():
    assert number(int, 1)("3") == 3 and number(float, 0, 1, high_open=True)("0.5") == 0.5


def test_help_shows_a_default_only_when_it_says_something():
    p = argparse.ArgumentParser(formatter_class=HelpFormatter)
    p.add_argument("--epochs", type=int, default=60, help="epochs")
    p.add_argument("--out", default="", help="run folder")
    p.add_argument("--lr", default=0.1, help="rate (default: 0.1 unless resumed)")
    text = p.format_help()
    assert "epochs (default: 60)" in text and "run folder\n" in text and text.count("default") == 2
