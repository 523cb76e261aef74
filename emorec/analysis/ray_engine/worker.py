"""The Ray actor that detects and classifies: one per worker, run in Ray's processes."""

import cv2

from emorec.analysis.ray_engine.work import Failed, ImageBatch, ImageResult, SegmentResult, VideoSegment, reason
from emorec.core.classifier import Classifier
from emorec.core.options import RecognizerOptions
from emorec.core.recognizer import Recognizer


class SegmentWorker:
    """One Ray actor: a recognizer loaded once (one OpenCV thread, one LiteRT thread: the parallelism is the
    actors), then units of work. Errors come back as :class:`~emorec.analysis.ray_engine.work.Failed` (the
    input fails with that reason) rather than as exceptions, so Ray retries only dead processes."""

    def __init__(self, options: RecognizerOptions):
        cv2.setNumThreads(1)
        self.error = None
        try:
            self.recognizer = Recognizer(options=options, classifier=Classifier(options.model, num_threads=1))
        except Exception as e:   # a node without the model: every unit it gets says so
            self.error = reason(e)

    def run(self, work: VideoSegment | ImageBatch) -> (SegmentResult | list[ImageResult | Failed] | list[Failed]
                                                      | Failed):
        """``work`` done on this worker's recognizer."""
        if self.error:
            return work.failed(self.error)
        return work.run(self.recognizer)
