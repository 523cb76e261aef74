"""Keeps every Ray worker busy while handing the results back in the units' order."""

import contextlib

from emorec.analysis.ray_engine.work import Failed

#: Units a worker holds at once: one running, one waiting, so it never idles while the driver catches up.
DEPTH = 2
#: How often Ray restarts a dead worker process, and retries the unit it was doing.
RETRIES = 3

WORKER_LOST = ("a Ray worker stopped abruptly (killed, out of memory, or its node left) {n} times while "
               "working on this input; run again to redo it (finished inputs are kept)")


class OrderedResults:
    """Hands out the units' results in the units' order while keeping every worker busy: each worker holds up
    to :data:`DEPTH` units, and at most ``window`` finished results wait for the writer."""

    def __init__(self, ray, workers, units, progress=None, window=None):
        self.ray, self.units, self.progress = ray, units, progress
        self.slots = [w for w in workers for _ in range(DEPTH)]
        self.window = window or 4 * len(workers)
        self.pending, self.done = {}, {}
        self.next_submit = self.next_take = 0

    def _fill(self):
        while self.slots and self.next_submit < len(self.units) and self.next_submit - self.next_take < self.window:
            unit, worker = self.units[self.next_submit], self.slots.pop(0)
            self.pending[worker.run.remote(unit.work)] = (self.next_submit, worker)
            self.next_submit += 1

    def take(self):
        """The next unit's result (waiting for it); :class:`Failed` if its worker died more than allowed."""
        while self.next_take not in self.done:
            self._fill()
            ready, _ = self.ray.wait(list(self.pending), num_returns=1)
            for ref in ready:
                index, worker = self.pending.pop(ref)
                self.slots.append(worker)
                result = self._get(ref)
                if index >= self.next_take:   # results of skipped units are dropped
                    self.done[index] = result
                if self.progress is not None:
                    self.progress.update(1)
        result = self.done.pop(self.next_take)
        self.next_take += 1
        self._fill()
        return result

    def skip_to(self, index):
        """Forget the units before ``index`` (an input that failed): those not sent are never sent."""
        if index <= self.next_take:
            return
        if self.progress is not None:
            self.progress.update(max(0, index - max(self.next_submit, self.next_take)))
        for i in range(self.next_take, index):
            self.done.pop(i, None)
        self.next_take = index
        self.next_submit = max(self.next_submit, index)

    def _get(self, ref):
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError:
            return Failed(WORKER_LOST.format(n=RETRIES + 1))
        except ray.exceptions.RayError as e:   # e.g. the object was lost with its node
            return Failed(f"Ray could not finish this unit: {type(e).__name__}; run again to redo it")

    def cancel(self):
        for ref in self.pending:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self.pending.clear()
