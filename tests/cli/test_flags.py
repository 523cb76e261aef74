"""emorec.cli.flags: the recognizer's flags, shared by UI.py and main.py, are RecognizerOptions' fields."""

import argparse

import pytest

from emorec.cli.flags import add_recognizer_flags, recognizer_options
from emorec.core.detector import DetectorSettings
from emorec.core.options import RecognizerOptions


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_recognizer_flags(parser)
    return parser.parse_args(list(argv))


def test_the_defaults_are_the_options_defaults():
    assert recognizer_options(parse()) == RecognizerOptions()
    assert RecognizerOptions().settings == DetectorSettings() and RecognizerOptions().tta is True


def test_every_flag_reaches_the_options():
    options = recognizer_options(parse("--model", "m.h5", "--detector", "haar", "--scale-factor", "1.2",
                                       "--min-neighbors", "3", "--min-size", "30", "--detect-width", "0", "--pad",
                                       "0.1", "--no-align", "--smoothing", "0.3", "--detect-every", "2",
                                       "--full-scan-every", "4", "--no-tta"))
    assert options == RecognizerOptions(
        model="m.h5", settings=DetectorSettings(detector="haar", scale_factor=1.2, min_neighbors=3, min_size=30,
                                                detect_width=0, pad=0.1, align=False),
        smoothing=0.3, detect_every=2, full_scan_every=4, tta=False)


def test_each_field_with_a_flag_is_documented_in_help():
    parser = argparse.ArgumentParser()
    add_recognizer_flags(parser)
    text = parser.format_help()
    for flag in ("--model", "--detector", "--scale-factor", "--min-neighbors", "--min-size", "--detect-width",
                 "--pad", "--no-align", "--smoothing", "--detect-every", "--full-scan-every", "--no-tta"):
        assert flag in text
    assert "--alternate" not in text and "--carry" not in text   # internal fields have no flag


@pytest.mark.parametrize("argv", [["--scale-factor", "1"], ["--smoothing", "1"], ["--min-size", "0"],
                                  ["--detect-every", "0"], ["--pad", "-0.1"], ["--detector", "nosuch"]])
def test_values_outside_their_range_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        parse(*argv)
    assert e.value.code == 2 and argv[0] in capsys.readouterr().err
