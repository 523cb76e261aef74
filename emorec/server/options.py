"""The server's options: one frozen record that is also the flags of ``main.py serve``
(:func:`common.options.add_flags`), the recognizer's among them; each default is written once, here."""

import os
from dataclasses import dataclass

from emorec.common.argtypes import number
from emorec.common.options import option
from emorec.core.options import RecognizerOptions


@dataclass(frozen=True)
class ServeOptions:
    host: str = option("127.0.0.1", "address to listen on; anything but loopback lets other machines use it (a "
                                    "warning says so)")
    port: int = option(8000, "port to listen on", type=number(int, 1, 65535))
    cert: str | None = option(None, "HTTPS certificate (PEM); browsers allow the camera only on localhost or HTTPS "
                                    "(default: none, plain HTTP)")
    key: str | None = option(None, "private key (PEM) of --cert (default: none)")
    engines: int = option(0, "recognition engines (each its own interpreter) shared by all clients, per model "
                             "(--upload-model gets as many again); 0 = one per core "
                             f"(default: 0, so {os.cpu_count() or 1} on this machine)", type=number(int, 0))
    max_upload_mb: float = option(200.0, "largest upload (image or video) in megabytes",
                                  type=number(float, 0, low_open=True))
    jobs_dir: str = option("", "where video jobs keep their files (default: a temporary folder, deleted when the "
                               "server stops)")
    job_ttl: float = option(60.0, "minutes a finished video job's files are kept", type=number(float, 0, low_open=True))
    upload_model: str | None = option(None, "model for uploads: images (POST /api/recognize, the upload page) and "
                                            "video jobs, while live streams keep --model (default: --model's). "
                                            "E.g. --upload-model accurate, the ensemble: PrivateTest 73.14 %% "
                                            "instead of 72.61 %%, at twice the cost per face")
    #: the jobs' folder is swept, oldest finished job first, when it holds more than this
    jobs_max_mb: float = 2000.0
    recognizer: RecognizerOptions = option(factory=RecognizerOptions, group=RecognizerOptions.FLAGS_TITLE)

    @property
    def job_ttl_s(self) -> float:
        return self.job_ttl * 60

    @property
    def limit_bytes(self) -> int:
        """The largest upload, in bytes."""
        return int(self.max_upload_mb * 1e6)
