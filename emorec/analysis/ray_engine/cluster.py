"""Joining a Ray cluster, or starting a local Ray, with a clear message for every way it can fail."""

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from emorec.common.errors import InputError
from emorec.common.invocation import python

RAY_MISSING = ("--engine ray needs Ray, which is not installed: {python} -m pip install -r requirements-cluster.txt "
               "(or leave out --engine to analyse in this process)")


def import_ray():
    """The ``ray`` module, or an :class:`~emorec.common.errors.InputError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING.format(python=python())) from None
    return ray


def check_engine(address=None):
    """Before any work or progress bar: Ray is installed, and ``address`` (if given) is reachable."""
    if address and "RAY_AUTH_MODE" not in os.environ and _token_available():
        # `ray start` (Ray >= 2.59) turns token authentication on and leaves the token in ~/.ray/auth_token; a
        # driver that names the address must ask for it (before Ray is imported: Ray reads it then), and a
        # token also works with a cluster that has authentication off.
        os.environ["RAY_AUTH_MODE"] = "token"
    import_ray()
    if address:
        _check_reachable(address)


def _check_reachable(address):
    """Fail fast on an address nothing listens at (Ray itself waits for minutes before it gives up)."""
    if address == "auto":
        return
    try:
        parts = urlsplit(address if "://" in address else f"ray://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise InputError(f"--address {address}: expected HOST:PORT, as `ray start --head` prints it "
                         "(e.g. 192.168.1.10:6379)")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise InputError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}. Start it with `ray start "
                         "--head` on the head node (it prints the address to use), or leave out --address to run "
                         "a local Ray on this machine.") from None


def _token_available():
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def connect(ray, address, workers):
    """Join the cluster at ``address``, or start a local Ray; returns whether this run started it (and so stops
    it). Worker processes import this package as the driver does: it must be installed on every node."""
    if ray.is_initialized():
        return False
    env = {}
    for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND", "XDG_CACHE_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    kwargs = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False,
              "runtime_env": {"env_vars": env}}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = ("Check the address `ray start --head` printed on the head node, that this machine reaches it "
                "with the same Ray and Python versions, and that it has the cluster's token (`ray get-auth-token` "
                "on the head node; copy ~/.ray/auth_token here)." if address else
                "Run `ray stop` to clear a broken local Ray, or analyse without --engine ray.")
        raise InputError(f"cannot start {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}. "
                         f"{hint}") from None
    return True
