"""Keep third-party log noise (TensorFlow, XNNPACK, OpenCV's camera probing) off the user's terminal.

Our own messages say what went wrong and what to do; the libraries' INFO/WARN lines only bury them.
:func:`quiet_libraries` is called by every entry point before the libraries load.
"""

import contextlib
import importlib
import logging
import os
import sys
import threading
import warnings

_lock = threading.Lock()


def quiet_libraries():
    """TensorFlow's C++ INFO/WARNING lines off (must run before TensorFlow is imported), OpenCV's and FFmpeg's
    logging off, library loggers at ERROR, and warnings shown as one plain line without source code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")     # AV_LOG_QUIET: no "moov atom not found" lines
    import cv2
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    for name in ("absl", "python_multipart", "multipart", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"


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


def import_keras():
    """``import keras`` (and with it TensorFlow) without the absl/oneDNN lines TensorFlow prints at import."""
    quiet_libraries()
    with silenced_stderr():
        import keras
        if keras.backend.backend() != "tensorflow":
            # Keras on another backend imports TensorFlow too where it is installed (to seed it), but later, aloud
            with contextlib.suppress(ImportError):
                importlib.import_module("tensorflow")
    return keras
