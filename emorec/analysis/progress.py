"""analyze's progress on stderr: tqdm bars on a terminal; plain lines, at most one per bar every
:data:`PLAIN_EVERY_S` seconds, anywhere else (a log file, a pipe, CI), where a bar's carriage returns and escape
codes would be hundreds of garbled lines."""

import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

#: Seconds between two plain progress lines of one bar.
PLAIN_EVERY_S = 30.0


def progress_bar(total: int, desc: str, unit: str, position: int = 0, leave: bool = True,
                 disable: bool = False) -> Any:
    """A bar with tqdm's ``total``, ``update(n)``, ``refresh()``, ``close()`` and ``with``: a tqdm bar when
    stderr is a terminal, else a :class:`PlainProgress`."""
    if not disable and _is_terminal(sys.stderr):
        return tqdm(total=total, desc=desc, unit=unit, position=position, leave=leave)
    return PlainProgress(total, desc, unit, disable=disable)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):   # no stderr, or a closed one
        return False


class PlainProgress:
    """Progress as plain lines, '  clip.mp4: 1200/9000 frames (13 %)', the first after ``every_s`` seconds (a
    short input prints none) and then at most one every ``every_s`` seconds; one more when it closes if any was
    printed, so a log shows where each long input ended."""

    def __init__(self, total: int | None, desc: str, unit: str, every_s: float | None = None,
                 stream: TextIO | None = None, clock=time.monotonic, disable: bool = False):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.every_s = PLAIN_EVERY_S if every_s is None else every_s
        self._stream, self._clock, self._disable = stream, clock, disable
        self._last = clock()
        self._printed_at: int | None = None      # ``n`` when the last line was printed

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self._clock()
        if now - self._last >= self.every_s:
            self._last = now
            self._print()

    def refresh(self) -> None:
        """Nothing to redraw: lines are printed as time goes by."""

    def close(self) -> None:
        if self._printed_at is not None and self._printed_at != self.n:
            self._print()

    def _print(self) -> None:
        if self._disable:
            return
        self._printed_at = self.n
        of = f"/{self.total}" if self.total else ""
        share = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        stream = self._stream or sys.stderr      # where tqdm would draw its bar
        stream.write(f"  {self.desc}: {self.n}{of} {self.unit}s{share}\n")
        stream.flush()
