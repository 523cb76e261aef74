"""Every module, class, function or attribute a docstring or comment names with a Sphinx role
(:func:`x`, :class:`x`, :meth:`x`, :mod:`x`, :attr:`x`, :data:`x`, :exc:`x`) exists: a rename or a move
that leaves a stale reference behind fails here.

A target resolves as Sphinx would look for it, relaxed: a full dotted path (``emorec.core.faces.Faces``);
a name seen from the module that writes it (its own or an imported name, ``errors.OutputError``); a path
under the module's package or under ``emorec`` (``common.options.add_flags``), or from a module named by its
last component (``recognizer.Recognizer``); a member of the class the reference sits in (``:meth:`commit```); with a
leading dot, a member of any class of the module (``:meth:`.image```).
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "emorec"
ROLE = re.compile(r":(func|class|meth|mod|attr|data|exc|obj):`([^`]+)`")


def module_names():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


# A module is also named by its last component alone (``recognizer.Recognizer``), as the package's
# docstrings do where the name is unambiguous.
SHORT_NAMES: dict[str, list[str]] = {}
for _name, _ in module_names():
    SHORT_NAMES.setdefault(_name.rpartition(".")[2], []).append(_name)


def member(obj, name):
    """``obj.name`` for a module, class or function, counting a class's annotated and dataclass fields and the
    attributes its methods set on ``self``; a missing name raises AttributeError."""
    if hasattr(obj, name):
        return getattr(obj, name)
    if inspect.isclass(obj):
        for klass in obj.__mro__:
            if name in getattr(klass, "__annotations__", {}):
                return name
            try:
                source = inspect.getsource(klass)
            except (OSError, TypeError):
                continue
            if re.search(rf"\bself\.{re.escape(name)}\s*(:[^=]+)?=", source):
                return name
    if inspect.ismodule(obj):
        try:   # a submodule not imported by its package
            return importlib.import_module(f"{obj.__name__}.{name}")
        except ImportError:
            pass
    raise AttributeError(name)


def resolve(start, dotted):
    obj = start
    for name in dotted.split("."):
        obj = member(obj, name)
    return obj


def resolves(target, module, klass):
    target = target.lstrip("~!").removesuffix("()")
    if target.startswith("."):
        target = target[1:]
        scopes = [module] + [c for _, c in inspect.getmembers(module, inspect.isclass)
                             if c.__module__ == module.__name__]
        return any(_try(scope, target) for scope in scopes)
    package = module.__name__ if module.__file__.endswith("__init__.py") else module.__name__.rpartition(".")[0]
    scopes = [c for c in (klass,) if c is not None] + [module]
    head, _, rest = target.partition(".")
    for full in [f"{package}.{head}", f"emorec.{head}", head] + SHORT_NAMES.get(head, []):
        try:
            scopes.append(importlib.import_module(full))
        except ImportError:
            continue
        if rest and _try(scopes[-1], rest):
            return True
        if not rest:
            return True
    return any(_try(scope, target) for scope in scopes)


def _try(scope, dotted):
    try:
        resolve(scope, dotted)
    except AttributeError:
        return False
    return True


def class_at(tree, module):
    """{line number: the innermost class whose body holds it} for a module's source."""
    at = {}

    def visit(node, path):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                inner = [*path, child.name]
                for line in range(child.lineno, child.end_lineno + 1):
                    at[line] = inner
                visit(child, inner)
            else:
                visit(child, path)
    visit(tree, [])
    return {line: _class(module, names) for line, names in at.items()}


def _class(module, names):
    obj = module
    for name in names:
        obj = getattr(obj, name, None)
    return obj if inspect.isclass(obj) else None


def references():
    for name, path in module_names():
        source = path.read_text()
        for number, line in enumerate(source.splitlines(), 1):
            for role, target in ROLE.findall(line):
                yield name, path, number, role, target


def test_every_role_reference_resolves():
    stale = []
    classes = {}
    for name, path, number, role, target in references():
        module = importlib.import_module(name)
        if name not in classes:
            classes[name] = class_at(ast.parse(path.read_text()), module)
        if not resolves(target, module, classes[name].get(number)):
            stale.append(f"{path.relative_to(ROOT)}:{number}: :{role}:`{target}`")
    assert not stale, "references to nothing (renamed or moved?):\n" + "\n".join(stale)


@pytest.mark.parametrize("target, ok", [("emorec.core.faces.Faces", True), ("Faces", True),
                                        ("boxes.crop_faces", True), ("common.labels.EMOTIONS", True),
                                        ("Recognizer.observe", True), (".observe", True),
                                        ("analyze.analyze_one", False), ("models.build", False),
                                        ("Recognizer.no_such_method", False), ("HaarDetector", False)])
def test_the_resolver_itself(target, ok):
    module = importlib.import_module("emorec.core.recognizer")
    assert resolves(target, module, None) is ok
