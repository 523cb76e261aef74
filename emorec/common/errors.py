"""The package's one exception hierarchy.

Every problem a user can fix raises a subclass of :class:`EmorecError` whose message names the problem
and the fix. Each entry point (``main.py``, ``UI.py``, the window's worker thread, ``analyze``) catches
:class:`EmorecError` once and shows the message; library code never exits the process.
"""

import errno
import os
import sys
import traceback


class EmorecError(Exception):
    """Base class: a problem with the user's input, files or machine, explained in the message."""


class DataError(EmorecError):
    """A dataset that cannot be used as given; the message names the file, the row or path, and the fix."""


class ModelError(EmorecError):
    """A model file that is missing, unreadable or of the wrong shape; the message says what to do."""


class SourceError(EmorecError):
    """A camera, video or image that cannot be opened or has stopped; the message says what to do instead."""


class DetectorError(EmorecError):
    """The face detector (Haar cascade) could not be loaded; the message names the file and the fix."""


class TrainingError(EmorecError):
    """A training run that cannot start or go on as asked; the message says what to do."""


class MissingLibrary(EmorecError):
    """An optional library a command needs is not installed (e.g. TensorFlow in a light install); the message
    gives the install command."""


class InputError(EmorecError, ValueError):
    """A bad argument: a command-line flag out of range, or an array of the wrong dtype or shape."""


class OutputError(EmorecError):
    """Results cannot be written (disk full, read-only, a file where a folder should be)."""


class Cancelled(EmorecError):
    """Work stopped on request: raised inside a running job's progress update when the job is deleted."""


def output_error(path, error, what="write"):
    """An :class:`OutputError` for an ``OSError`` raised while writing ``path``, naming the fix."""
    code = getattr(error, "errno", None)
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", None):
        why = "the disk is full; free some space (or choose another folder) and run again"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "no permission to write there (read-only or someone else's folder); choose another folder"
    elif code == errno.ENOTDIR:
        why = "part of that path is a file, not a folder; choose another path"
    elif code == errno.EEXIST or code == errno.EISDIR:
        why = "a file or folder of that name is in the way; choose another path"
    else:
        why = getattr(error, "strerror", None) or str(error)
    return OutputError(f"cannot {what} {path}: {why}.")


def error_message(error, path=None, what="use", report="please report it (EMOREC_DEBUG=1 shows the details)"):
    """One line for the user about ``error``, never a traceback: an :class:`EmorecError`'s own message; an
    ``OSError`` that no layer turned into one worded by :func:`output_error` (its file, else ``path``, and
    ``what`` was being done to it); anything else is a bug: its type, its text on one line (300 characters
    at most) and ``report``, what the user should do about it. With ``EMOREC_DEBUG`` set, a bug's traceback
    also goes to stderr, wherever it was caught."""
    if isinstance(error, EmorecError):
        return str(error)
    if isinstance(error, OSError):
        return str(output_error(error.filename or path or "a file", error, what))
    if os.environ.get("EMOREC_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    text = " ".join(str(error).split())[:300].rstrip(".")
    return f"internal error: {type(error).__name__}{': ' + text if text else ''}. This is a bug in emorec: {report}."
