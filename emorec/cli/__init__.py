"""The command lines of main.py and UI.py: flags in, the package's functions called, messages out."""
