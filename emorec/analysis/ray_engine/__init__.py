"""``main.py analyze --engine ray``: the same analysis, spread over a Ray cluster (or a local Ray).

The work is cut into units (:mod:`.work`): a video into segments of about ``segment_frames`` frames, and
images into batches (:mod:`.planner`). A segment starts at a frame where the recognizer's detection begins
afresh with a full scan (a multiple of every × :attr:`emorec.core.options.RecognizerOptions.resync_period`),
so the boxes it finds are exactly those of one uninterrupted run. Ray actors (:mod:`.worker`), one per worker,
each load the model once and detect and classify. Tracking and smoothing are sequential and cheap: the driver
(:mod:`.driver`) does them as the segments come back, in order (:mod:`.scheduler`), and it alone writes every
file, through the same :class:`emorec.analysis.outputs.VideoOutputs` and
:func:`emorec.analysis.outputs.record_input` as the in-process engine. The outputs are therefore the in-process
ones: the same face ids and rows, probabilities equal to float rounding.

Where things live: results (boxes and probabilities per frame, an annotated PNG per image) travel back to
the driver through Ray, so only the driver's machine needs the output folder. Every node needs this project
installed at the same path as on the driver (as Ray clusters are usually built: one image everywhere), and
must see the inputs and the model at the paths the driver names (shared storage such as NFS, or copies).
For annotated videos the driver decodes each video once more to draw on it; that, and writing, is the part
that does not spread over the cluster (see ``bench/bench_scale.py``). Joining or starting Ray:
:mod:`.cluster`.

A worker process that dies is restarted by Ray and its unit retried; its results reach the writer once, in
order, so nothing is lost or written twice.
"""

from emorec.analysis.ray_engine.cluster import check_engine
from emorec.analysis.ray_engine.driver import analyze_on_ray
from emorec.analysis.ray_engine.planner import SEGMENT_FRAMES

__all__ = ["SEGMENT_FRAMES", "analyze_on_ray", "check_engine"]
