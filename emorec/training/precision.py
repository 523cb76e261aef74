"""Training precision: float32, or bfloat16 compute (Keras's ``mixed_bfloat16``) where the CPU has bf16 units.

On CPUs with native bf16 (Intel AMX ``amx_bf16``, or ``avx512_bf16``: Intel Sapphire Rapids and later, AMD
Zen 4 and later) oneDNN runs ``mixed_bfloat16`` convolutions on those units, about twice as fast as float32
(``bench/bench_train.py``). Elsewhere bf16 is emulated and slower, so ``auto`` picks it only where it is
native. The variables (weights, BatchNorm statistics, optimizer state) stay float32 under the mixed policy,
and every model file a run publishes is rebuilt as float32 (:func:`as_float32`), so inference and the LiteRT
export never see bf16.
"""

import contextlib
import logging
from pathlib import Path

from emorec.common.errors import TrainingError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16")
#: CPU flags (as /proc/cpuinfo spells them) that mean native bf16 matrix or vector units
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read, e.g. not on Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def native_bf16(flags: set[str] | None = None) -> bool:
    """Whether the CPU computes bf16 natively (see :data:`BF16_FLAGS`)."""
    return bool((cpu_flags() if flags is None else flags) & set(BF16_FLAGS))


def resolve(precision: str, flags: set[str] | None = None) -> str:
    """``auto`` → ``bfloat16`` where the CPU has native bf16 units, else ``float32``; the others as given."""
    if precision not in PRECISIONS:
        raise TrainingError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "bfloat16" if native_bf16(flags) else "float32"


@contextlib.contextmanager
def policy(precision: str):
    """Build layers inside this block with ``precision``'s Keras dtype policy (``float32`` or ``bfloat16``,
    already resolved); the previous global policy comes back afterwards."""
    import keras
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(_POLICY[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def precision_of(model) -> str:
    """``bfloat16`` if any layer of ``model`` computes in bf16, else ``float32``."""
    for layer in model._flatten_layers(include_self=True):
        if "bfloat16" in str(getattr(layer, "compute_dtype", "")):
            return "bfloat16"
    return "float32"


def as_float32(model):
    """``model`` itself if it computes in float32; otherwise a float32 copy with the same weights (the mixed
    policy keeps its variables float32, so nothing is rounded)."""
    if precision_of(model) == "float32":
        return model
    import keras

    def float32_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    with policy("float32"):
        copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    return copy
