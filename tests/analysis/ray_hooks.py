"""Run inside Ray's worker processes by the test's `worker_process_setup_hook` (a Ray feature): the first
worker to read its 10th frame dies on the spot, as abruptly as a `kill -9` or the out-of-memory killer, so the
driver's retry of a lost segment is exercised. The marker file (``EMOREC_TEST_KILLED``) makes it happen once."""

import os


def die_once_halfway_through_a_segment():
    import emorec.analysis.ray_engine.work as work
    open_at = work.open_at

    class Dying:
        def __init__(self, video):
            self.video, self.reads = video, 0

        def read(self):
            self.reads += 1
            if self.reads == 10:
                try:
                    os.close(os.open(os.environ["EMOREC_TEST_KILLED"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                    os._exit(1)
                except FileExistsError:
                    pass
            return self.video.read()

        def close(self):
            self.video.close()

    work.open_at = lambda path, start: Dying(open_at(path, start))
