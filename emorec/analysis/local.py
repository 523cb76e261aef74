"""The in-process engine of ``analyze``: inputs one after another in this process, or one per spawned worker
process (``--workers N``), each with its own recognizer."""

import contextlib
import multiprocessing as mp
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from emorec.analysis.outputs import analyze_one, clear_outputs, failed_record
from emorec.analysis.progress import progress_bar
from emorec.common.errors import error_message
from emorec.core.classifier import Classifier
from emorec.core.recognizer import Recognizer

_WORKER: dict[str, Any] = {}      # this worker process's options, recognizer and progress-bar slot
WORKER_DIED = ("a worker process stopped abruptly (killed, or out of memory) before this input was finished; "
               "run again to redo it (finished inputs are kept), with fewer --workers if memory is short")


def _init_worker(options, lock, slots):
    # Ctrl-C reaches every process of the terminal: the parent stops the workers and cleans up after them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Parallelism comes from the processes: OpenCV's own threads would oversubscribe the cores.
    cv2.setNumThreads(1)
    tqdm.set_lock(lock)
    with slots.get_lock():
        slots.value += 1
        _WORKER["slot"] = slots.value
    _WORKER["options"] = options
    try:   # one runtime thread per process: the processes already use every core
        _WORKER["recognizer"] = Recognizer(options=options.recognizer,
                                           classifier=Classifier(options.recognizer.model, num_threads=1))
    except Exception as e:   # an initializer that raises breaks the whole pool; _work reports it per input
        _WORKER["error"] = error_message(e)


def _work(path, folder, source, settings):
    if "error" in _WORKER:
        return failed_record(path, folder, _WORKER["error"])
    with progress_bar(1, Path(path).name[:30], "frame", position=_WORKER["slot"], leave=False) as bar:
        return analyze_one(path, folder, source, _WORKER["options"], _WORKER["recognizer"], bar, settings)


def _analyze_in_pool(todo, options, workers, on_done, settings):
    """{folder: record} for [(path, folder, source)], analysed by ``workers`` spawned processes."""
    ctx = mp.get_context("spawn")
    results = {}
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(options, ctx.RLock(), ctx.Value("i", 0))) as pool:
        futures = {}
        for item in todo:
            try:
                path, folder, source = item
                futures[pool.submit(_work, path, folder, source, settings)] = item
            # A worker that dies while the pool is still starting the others breaks the pool (or, racing with
            # the pool's cleanup, the start of the next process): what was not submitted fails like the rest.
            except (BrokenProcessPool, OSError, ValueError):
                break
        submitted = {folder for _, folder, _ in futures.values()}
        for path, folder, _ in todo:
            if folder not in submitted:
                results[folder] = failed_record(path, folder, WORKER_DIED)
                on_done()
        try:
            for fut in as_completed(futures):
                path, folder, _ = futures[fut]
                try:
                    results[folder] = fut.result()
                except BrokenProcessPool:
                    results[folder] = failed_record(path, folder, WORKER_DIED)
                except Exception as e:   # e.g. a result that cannot be sent back: still one input's failure
                    results[folder] = failed_record(path, folder, error_message(e, folder, "write"))
                on_done()
        except KeyboardInterrupt:
            # Stop the workers now rather than after their current video (`kill PID` reaches only this
            # process), then delete what the unfinished inputs had written.
            for process in list(pool._processes.values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            for _, folder, _ in todo:
                if folder not in results:
                    with contextlib.suppress(OSError):
                        clear_outputs(folder, remove_empty=True)
            raise
    return results


def analyze_locally(todo, options, workers, recognizer, on_done, settings):
    """{folder: :class:`outputs.InputRecord`} for [(path, folder, source)]: in this process with ``recognizer``
    (one worker, or one input, which is not worth starting processes for), else in ``workers`` processes;
    ``on_done()`` per input. ``settings``: :func:`outputs.analysis_settings`, for each summary.json."""
    if (workers or 1) <= 1 or len(todo) <= 1:
        results = {}
        for path, folder, source in todo:
            with progress_bar(1, path.name[:30], "frame", position=1, leave=False) as bar:
                results[folder] = analyze_one(path, folder, source, options, recognizer, bar, settings)
            on_done()
        return results
    return _analyze_in_pool(todo, options, min(workers, len(todo)), on_done, settings)
