#!/usr/bin/env python3
"""Train, evaluate, preview and analyse with the emotion recognizer. Run `python main.py --help`."""

import sys

from emorec.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
