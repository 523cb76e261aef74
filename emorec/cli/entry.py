"""What every entry point (``main.py``/``emorec``, ``UI.py``/``emorec-ui``) does around its work: the package's
log messages on the terminal, and one line (never a traceback) for whatever stops it."""

import logging
import os
import sys

from emorec.common.errors import EmorecError, error_message


class _Console(logging.Handler):
    """The package's log records as plain lines on the current ``sys.stdout`` (looked up at each record, so
    a replaced stdout, e.g. a test's capture, gets them); warnings and errors on ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:   # a closed or broken stream must not stop the work
            self.handleError(record)


def configure_logging(level: int = logging.INFO) -> None:
    """Show the package's messages (``logging.getLogger("emorec")``) as plain lines, once per process."""
    logger = logging.getLogger("emorec")
    logger.setLevel(level)
    if not any(isinstance(h, _Console) for h in logger.handlers):
        logger.addHandler(_Console())
    logger.propagate = False


def run_entry_point(work) -> int:
    """Run an entry point's ``work()`` (which returns its exit code) the way every entry point does.

    :class:`EmorecError` → ``error: <message>`` and exit code 2; an ``OSError`` that no layer turned into one
    → the same, naming the file; Ctrl-C or ``kill`` (SIGTERM) → ``interrupted.`` and 130; anything else is
    a bug: one line saying so and exit code 1 (``EMOREC_DEBUG=1`` shows the traceback instead).
    """
    import signal
    import threading
    configure_logging()

    def terminate(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, terminate)     # `kill PID` stops as cleanly as Ctrl-C
    try:
        return work()
    except (EmorecError, OSError) as e:
        print(f"error: {error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("EMOREC_DEBUG"):
            raise
        print(error_message(e, report="please report it with the command you ran (EMOREC_DEBUG=1 shows the "
                                      "details)"), file=sys.stderr)
        return 1
