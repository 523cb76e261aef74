"""Keep third-party log noise (TensorFlow, XNNPACK, OpenCV's camera probing) off the user's terminal.

Our own messages say what went wrong and what to do; the libraries' INFO/WARN lines only bury them.
:func:`quiet_libraries` is called by every entry point before the libraries load.
"""

import contextlib
import importlib
import importlib.util
import logging
import os
import sys
import threading
import warnings

from emorec.common.errors import MissingLibrary
from emorec.common.invocation import CHECKOUT, python, shown_path

_lock = threading.Lock()


def quiet_libraries():
    """For a command line, before the libraries load: TensorFlow's C++ INFO/WARNING lines off, OpenCV's and
    FFmpeg's logging off, library loggers at ERROR, and warnings shown as one plain line without source code.
    Process-wide, so only the entry points (``emorec/cli``, the benchmarks) call it; library code changes none
    of this (see :func:`import_keras`, :func:`kept_logger_levels`)."""
    _quiet_tensorflow_environment()
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")     # AV_LOG_QUIET: no "moov atom not found" lines
    import cv2  # after OPENCV_LOG_LEVEL is set: cv2 reads it when it loads
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"


#: The third-party loggers that talk at INFO/WARNING where the user needs none of it.
LIBRARY_LOGGERS = ("absl", "python_multipart", "multipart", "tensorflow")


def _quiet_tensorflow_environment():
    # A default only (a user's own TF_CPP_MIN_LOG_LEVEL wins); read once, when TensorFlow's C++ side loads.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def kept_logger_levels(*names):
    """Inside the block a library may set these loggers' levels (TensorFlow's converter sets absl's back to
    WARNING); after it they are what they were before."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def silenced_stderr():
    """Discard what native code writes to file descriptor 2 inside the block (e.g. LiteRT's
    "INFO: Created TensorFlow Lite XNNPACK delegate" line); Python-level errors still propagate."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):   # no real stderr (e.g. a GUI launcher): nothing to hide
            yield
            return
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def installed(name: str) -> bool:
    """Whether ``import name`` can find the package (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):    # an import hook that refuses it, or a module without a spec
        return False


def require_training_libraries(needed_for: str, *, tensorflow: bool = False) -> None:
    """Raise :class:`errors.MissingLibrary` naming the install command when what training needs is missing:
    Keras and a backend for it (TensorFlow, or JAX for multi-device training; ``tensorflow``: TensorFlow
    itself, which exporting to LiteRT needs). A light install (``pip install emorec``) recognises through
    LiteRT alone; training, calibrating, previewing the augmentation and exporting need the ``train`` extra."""
    missing = [] if installed("keras") else ["Keras"]
    if not installed("tensorflow") and (tensorflow or not installed("jax")):
        missing.insert(0, "TensorFlow")
    if missing:
        raise MissingLibrary(f"{needed_for} needs {' and '.join(missing)}, which this install leaves out "
                             f"(recognising needs neither): {training_install_command()}")


def training_install_command() -> str:
    """The command that adds training to this install: requirements.txt in a checkout, else the extra."""
    if (CHECKOUT / "requirements.txt").is_file() and (CHECKOUT / "main.py").is_file():
        return f"{python()} -m pip install -r {shown_path(CHECKOUT / 'requirements.txt')}"
    return f"{python()} -m pip install 'emorec[train]'"


def import_tensorflow(needed_for: str = "exporting a model to LiteRT"):
    """``import tensorflow``, or :class:`errors.MissingLibrary` with the install command where it is missing."""
    require_training_libraries(needed_for, tensorflow=True)
    _quiet_tensorflow_environment()
    with silenced_stderr():
        import tensorflow
    return tensorflow


def import_keras(needed_for: str = "this command"):
    """``import keras`` (and with it TensorFlow) without the absl/oneDNN lines TensorFlow prints at import.
    Sets ``TF_CPP_MIN_LOG_LEVEL`` where it is unset, nothing else outside the import. Where either is missing,
    :class:`errors.MissingLibrary` with the install command."""
    require_training_libraries(needed_for)
    _quiet_tensorflow_environment()
    with silenced_stderr():
        import keras
        if keras.backend.backend() != "tensorflow":
            # Keras on another backend imports TensorFlow too where it is installed (to seed it), but later, aloud
            with contextlib.suppress(ImportError):
                importlib.import_module("tensorflow")
    return keras
