"""emorec.training.checkpoint: the stop signals and the schedule."""

import os
import signal
import types

import pytest

from emorec.training.checkpoint import StopSignals, next_schedule


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("sigint", [signal.default_int_handler, signal.SIG_IGN], ids=["terminal", "nohup"])
def test_a_signal_inside_a_checkpoint_is_held_until_it_is_complete(sig, sigint):
    """The same however the suite was started: each case sets SIGINT's disposition itself, as a terminal leaves it
    (Python's KeyboardInterrupt handler) or as `nohup`, `cmd &` in a script and some CI runners leave it (ignored).
    An ignored SIGINT stays ignored, as the user asked; SIGTERM stops the run either way."""
    previous = signal.signal(signal.SIGINT, sigint)
    try:
        steps = []

        def train_through_a_checkpoint():
            with StopSignals() as stop:
                with stop.checkpoint():
                    os.kill(os.getpid(), sig)
                    steps.append("rest of the checkpoint written")
                steps.append("went on after the checkpoint")

        if sig == signal.SIGINT and sigint is signal.SIG_IGN:
            train_through_a_checkpoint()
            assert steps == ["rest of the checkpoint written", "went on after the checkpoint"]
        else:
            with pytest.raises(KeyboardInterrupt):
                train_through_a_checkpoint()
            assert steps == ["rest of the checkpoint written"]
        assert signal.getsignal(signal.SIGINT) is sigint              # put back as it was found
    finally:
        signal.signal(signal.SIGINT, previous)


def test_next_schedule_halves_the_lr_on_a_plateau_and_stops_early():
    cfg = types.SimpleNamespace(schedule="plateau", lr_patience=2, patience=3)
    s = {}
    assert next_schedule(s, True, cfg, 1e-3) == (None, False)
    assert next_schedule(s, False, cfg, 1e-3) == (None, False)
    assert next_schedule(s, False, cfg, 1e-3) == (5e-4, False)
    assert next_schedule(s, False, cfg, 5e-4) == (None, True)
    assert next_schedule(s, True, cfg, 5e-4) == (None, False)


def test_curves_have_whole_epoch_ticks(tmp_path, monkeypatch):
    import emorec.training.checkpoint as checkpoint
    figures = []
    monkeypatch.setattr(checkpoint, "save_figure", lambda fig, path, dpi: figures.append(fig))
    history = [{"epoch": n, "accuracy": 0.3, "val_accuracy": 0.3, "loss": 1.0, "val_loss": 1.0} for n in (1, 2)]
    checkpoint.save_curves(history, tmp_path / "curves.png")
    for ax in figures[0].axes:
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 2]
        assert ticks and all(float(t).is_integer() for t in ticks)
