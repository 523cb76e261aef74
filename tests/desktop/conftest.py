"""Fixtures of the window tests."""

import gc

import pytest


@pytest.fixture(autouse=True)
def collect_tk_objects_on_the_tk_thread():
    """After each test here, collect its garbage on the Tk (main) thread: a Tk object freed by a collection that
    happens to run on a later test's thread (a worker, a server job) aborts the process (Tcl: wrong thread)."""
    yield
    gc.collect()
