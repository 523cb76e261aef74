"""What ``analyze`` shows on the terminal when it is done: a line per input, the counts and the failures.
Library code logs; only the command line prints."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emorec.analysis.outputs import InputRecord
    from emorec.core.detector import DetectorSettings

LISTED = 20     # results printed to the terminal; index.csv lists them all


def report(records: "list[InputRecord]", out: str | Path, settings: "DetectorSettings | None" = None) -> int:
    """Print a line per finished input, the counts and the failures; returns the exit code (1 if any failed).
    ``settings``: the detector's, to name the smallest face looked for when an input had none."""
    from emorec.analysis.analyze import describe_result
    from emorec.analysis.outputs import Status
    from emorec.core.detector import DetectorSettings
    from emorec.core.face_size import no_face_message
    settings = settings or DetectorSettings()
    counts = {s: sum(r.status == s for r in records) for s in Status}
    done = [r for r in records if r.status == Status.DONE]
    for r in done[:LISTED]:
        print(f"  {Path(r.input).name}: {describe_result(r, no_face_message(settings, r.width or 0))}")
    if len(done) > LISTED:
        print(f"  … and {len(done) - LISTED} more (see index.csv)")
    skipped = f"{counts[Status.SKIPPED]} skipped (already done with these settings; --overwrite redoes them)" \
        if counts[Status.SKIPPED] else "0 skipped"
    print(f"{counts[Status.DONE]} done, {skipped}, {counts[Status.FAILED]} failed; index: {Path(out) / 'index.json'}")
    for r in records:
        if r.status == Status.FAILED:
            print(f"  failed: {r.input}: {r.reason}", file=sys.stderr)
    return 1 if counts[Status.FAILED] else 0
