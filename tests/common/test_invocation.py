"""emorec.common.invocation: messages name the interpreter and the command as the user started them."""

import sys
from pathlib import Path

from emorec.common.invocation import command, python

ROOT = Path(__file__).resolve().parents[2]


def test_messages_name_the_interpreter_that_is_running(tmp_path, monkeypatch, capsys):
    # a bare `python main.py` is, on many machines, a system Python without OpenCV: ModuleNotFoundError: cv2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    monkeypatch.setattr(sys, "argv", ["main.py"])
    assert python() == ".venv/bin/python" and command() == f".venv/bin/python {ROOT / 'main.py'}"
    monkeypatch.setenv("PATH", str(tmp_path / ".venv" / "bin"))       # an activated environment: its name is enough
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch(mode=0o755)
    assert python() == "python"
    monkeypatch.setattr(sys, "argv", [str(tmp_path / ".venv" / "bin" / "emorec")])   # the installed console script
    assert command() == "emorec" and command("UI.py") == "emorec-ui"


def test_no_message_in_the_package_says_a_bare_python_or_pip():
    """Every string that reaches a user (docstrings aside) names the running interpreter, through
    emorec.common.invocation."""
    import ast
    import re
    bare = re.compile(r"(?<![\w/.-])python3? (main|UI)\.py|(?<!-m )pip install")
    found = []
    for path in sorted((ROOT / "emorec").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and bare.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:80]}")
    assert found == []
