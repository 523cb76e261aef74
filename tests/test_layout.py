"""The package's shape: layers that only import downwards, modules short enough to read in one sitting, no
import cycle, one exception hierarchy, no printing in library code, no process-wide state changed by an import,
no sys.path patching."""

import ast
import io
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "emorec"

#: Each subpackage's layer: a module may import its own subpackage and lower layers, never a higher or a
#: sibling one (training, desktop and analysis are siblings on one layer).
LAYERS = {"common": 0, "network": 1, "core": 2, "training": 3, "desktop": 3, "analysis": 3, "server": 4, "cli": 5}
MAX_MODULE_LINES = 350


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def imports(tree):
    """Every emorec module ``tree`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"relative import at line {node.lineno}: import from emorec.<subpackage>")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "emorec":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "emorec"}
    return found


def layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_subpackage_has_a_layer():
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(LAYERS)


def test_layers_only_import_downwards():
    wrong = []
    for name, tree in modules().items():
        for target in imports(tree):
            a, b = layer(name), layer(target)
            if a and b and a != b and LAYERS[b] >= LAYERS[a]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_every_module_reads_in_one_sitting():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by what they do): {long}"


def test_no_import_cycle():
    graph = {name: {t for t in imports(tree) if t != name} for name, tree in modules().items()}
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_every_exception_is_an_emorec_error():
    """Everything a user can fix raises from the one hierarchy: any exception class the package defines
    derives from EmorecError, and library code raises no bare ValueError."""
    import emorec.common.errors as errors
    strays, bare = [], []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                                                      for b in node.bases):
                module = __import__(name, fromlist=["_"])
                if not issubclass(getattr(module, node.name), errors.EmorecError):
                    strays.append(f"{name}.{node.name}")
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                    getattr(node.exc.func, "id", "") in ("ValueError", "RuntimeError", "TypeError", "Exception"):
                bare.append(f"{name}:{node.lineno}")
    assert not strays and not bare, (strays, bare)


def test_library_code_logs_instead_of_printing():
    printing = [f"{name}:{node.lineno}" for name, tree in modules().items() if layer(name) != "cli"
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"]
    assert not printing, "print() outside emorec/cli (use logging):\n" + "\n".join(printing)


def test_nothing_patches_sys_path():
    sources = [p for d in ("emorec", "tests", "bench") for p in (ROOT / d).rglob("*.py")
               if ".fer-venv" not in p.parts] + [ROOT / "main.py", ROOT / "UI.py"]   # bench/setup_fer_venv.sh's venv
    patched = [str(p.relative_to(ROOT)) for p in sources if "sys.path." + "insert" in p.read_text()
               or "sys.path." + "append" in p.read_text()]
    assert not patched


STATE = """
import logging, os, signal, sys, warnings
def state():
    mask = os.umask(0o022); os.umask(mask)
    return (mask, warnings.formatwarning, tuple(warnings.filters), signal.getsignal(signal.SIGINT),
            signal.getsignal(signal.SIGTERM), tuple(logging.getLogger().handlers), logging.getLogger().level,
            tuple(logging.getLogger("emorec").handlers), sorted(k for k in os.environ if k not in before_env))
import importlib
split = sys.argv.index("--")
for name in sys.argv[1:split]:      # the libraries first: what they do at import is not ours to judge
    importlib.import_module(name)
before_env = set(os.environ)
before = state()
for name in sys.argv[split + 1:]:
    importlib.import_module(name)
after = state()
print("same" if before == after else f"changed: {before} -> {after}")
"""


@pytest.mark.parametrize("group", ["common network core training analysis", "desktop server cli"])
def test_importing_the_package_changes_no_process_wide_state(group):
    trees = {n: t for n, t in modules().items() if layer(n) in group.split()}
    libraries = sorted({alias.name.split(".")[0] if isinstance(node, ast.Import) else node.module.split(".")[0]
                        for tree in trees.values() for node in tree.body
                        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
                        for alias in node.names} - set(sys.stdlib_module_names) - {"emorec"})
    out = subprocess.run([sys.executable, "-c", STATE, *libraries, "--", *trees], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "same"


#: Third-party libraries a function may import without saying why: heavy (seconds of import time, or log noise)
#: or optional (an install may leave them out), so importing them at the top would slow or break everything else.
LAZY_LIBRARIES = frozenset({"keras", "tensorflow", "jax", "ray", "matplotlib", "tkinter", "uvicorn", "fastapi_offline",
                            "ai_edge_litert"})


def unexplained_function_imports(path, source):
    """``path:line module`` for each import inside a function of ``source`` that is neither of a
    :data:`LAZY_LIBRARIES` library nor commented (on its line, or alone on the line above)."""
    commented, comment_only = set(), set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            commented.add(tok.start[0])
            if not tok.line[:tok.start[1]].strip():
                comment_only.add(tok.start[0])
    found = {}
    for fn in ast.walk(ast.parse(source, path)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "."]
            else:
                continue
            if (all(n.split(".")[0] in LAZY_LIBRARIES for n in names) or node.lineno in commented
                    or node.lineno - 1 in comment_only):
                continue
            found[node.lineno] = f"{path}:{node.lineno} {', '.join(names)}"   # a nested function is walked twice
    return [found[line] for line in sorted(found)]


def test_function_level_imports_have_a_reason():
    """An import inside a function hides a dependency and runs on every call: each one is of a heavy or
    optional library, in emorec/cli (each subcommand imports what it needs, so ``--help`` stays fast), or
    says on its line or the line above why it cannot be at the top of the module."""
    wrong = []
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(ROOT)
        if rel.parts[:2] == ("emorec", "cli"):
            continue
        wrong += unexplained_function_imports(rel.as_posix(), p.read_text(encoding="utf-8"))
    assert not wrong, ("imports inside functions with no reason given (move them to the top of the module, or "
                       "comment why they must stay):\n" + "\n".join(wrong))
