#!/usr/bin/env python3
"""Live facial emotion recognition window. Run `python UI.py --help`."""

import sys

from emorec.cli.window import main

if __name__ == "__main__":
    sys.exit(main())
