"""How a message tells the user to run this program: with the interpreter that is running it (often
``.venv/bin/python``), never a bare ``python`` that may be a system Python without OpenCV or TensorFlow."""

import os
import shlex
import shutil
import sys
from pathlib import Path

#: The entry-point scripts at the top of a checkout, and the console scripts an installed package has instead.
CONSOLE_SCRIPTS = {"main.py": "emorec", "UI.py": "emorec-ui"}
#: The folder above the package: a checkout's root (with main.py) when run from one.
CHECKOUT = Path(__file__).resolve().parents[2]


def shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies inside it, else absolute; quoted for a shell."""
    path = Path(path).absolute()
    try:
        text = str(path.relative_to(Path.cwd()))
    except ValueError:
        text = str(path)
    return shlex.quote(text)


def python() -> str:
    """The running interpreter as a user types it: its name when that name on the PATH is this interpreter
    (an activated virtual environment), else its path (``.venv/bin/python`` from the checkout)."""
    exe = Path(sys.executable or "python3")
    found = shutil.which(exe.name)
    if found and Path(found).absolute() == exe.absolute():
        return exe.name
    return shown_path(exe)


def prog(script: str = "main.py") -> str:
    """The name ``usage:`` lines give the program: ``emorec`` / ``emorec-ui`` when this process was started
    that way, else the script's name (main.py, UI.py)."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return CONSOLE_SCRIPTS[script] if started in CONSOLE_SCRIPTS.values() else script


def command(script: str = "main.py") -> str:
    """How to run ``script`` (main.py or UI.py) again: ``emorec`` / ``emorec-ui`` when this process was started
    that way, else '<this interpreter> <the script>', e.g. ``.venv/bin/python main.py``."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if started in CONSOLE_SCRIPTS.values():
        return CONSOLE_SCRIPTS[script]
    path = CHECKOUT / script
    return f"{python()} {shown_path(path) if path.is_file() else script}"
