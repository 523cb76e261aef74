"""--precision: auto picks bf16 only where the CPU has native bf16 units; a bf16 run publishes float32 models."""
import json

import numpy as np
import pytest

from emorec.common.errors import TrainingError
from emorec.training.precision import as_float32, cpu_flags, policy, precision_of, resolve


@pytest.mark.parametrize(("flags", "expected"), [
    ({"avx2", "avx512f", "amx_bf16"}, "bfloat16"),
    ({"avx2", "avx512f", "avx512_bf16"}, "bfloat16"),
    ({"avx2", "avx512f", "avx512_vnni"}, "float32"),
    (set(), "float32"),
])
def test_auto_uses_bf16_only_where_it_is_native(flags, expected):
    assert resolve("auto", flags) == expected
    assert resolve("float32", flags) == "float32"
    assert resolve("bfloat16", flags) == "bfloat16"


def test_an_unknown_precision_is_refused_by_name():
    with pytest.raises(TrainingError, match="float16.*auto, float32, bfloat16"):
        resolve("float16")


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "absent") == set()


def test_policy_is_restored_and_the_float32_copy_computes_the_same():
    import keras

    from emorec.network.architectures import build_model
    before = keras.mixed_precision.global_policy().name
    with policy("bfloat16"):
        model = build_model("shallow")
    assert keras.mixed_precision.global_policy().name == before
    assert precision_of(model) == "bfloat16"
    copy = as_float32(model)
    assert precision_of(copy) == "float32"
    assert all(w.dtype == "float32" for w in copy.weights)
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype("float32")
    # the same weights; only the bf16 rounding of activations differs
    np.testing.assert_allclose(model.predict(x, verbose=0), copy.predict(x, verbose=0), atol=0.05)
    assert as_float32(copy) is copy


def test_a_bf16_run_saves_float32_models_and_records_its_precision(tmp_path):
    import keras

    from emorec.training.config import TrainConfig
    from emorec.training.data import load_csv
    from emorec.training.train import train
    from tests.helpers import csv_rows, write_csv
    rows, _ = csv_rows(["Training"] * 3 + ["PublicTest", "PrivateTest"])
    data = write_csv(tmp_path / "fer.csv", rows)
    out = tmp_path / "run"
    train(TrainConfig(data=str(data), out=str(out), arch="shallow", epochs=1, batch_size=21, patience=0,
                      precision="bfloat16"), dataset=load_csv(data, use_cache=False), verbose=0)
    model = keras.models.load_model(out / "emotion_cnn.h5", compile=False)
    assert precision_of(model) == "float32"
    meta = json.loads((out / "emotion_cnn.json").read_text())
    assert meta["precision"] == "bfloat16"
