"""The network family's cost on this CPU: parameters, multiply-adds per pass, and milliseconds per pass of one
face through the LiteRT export the app runs (int8 weights, 1 thread), and per face with its mirror in one
call as the window runs it (2 threads). Weights do not change the time, so untrained networks stand in for
those not trained yet; a trained model folder can be given too.

    python bench/bench_arch.py [--arch vgg-wide vgg-lite ...] [--model DIR ...] [--repeat 300]

Prints the CPU and its vector extensions first: figures compare only within one run on one host.
"""

import argparse
import os

import numpy as np
from common import cpu_line, median_ms

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def per_call_ms(interpreter, x, repeat):
    from emorec.common.quiet import silenced_stderr
    index = interpreter.get_input_details()[0]["index"]
    with silenced_stderr():    # XNNPACK announces itself when the tensors are allocated
        interpreter.resize_tensor_input(index, x.shape)
        interpreter.allocate_tensors()
    return median_ms(lambda: (interpreter.set_tensor(index, x), interpreter.invoke()), repeat=repeat, warmup=20)


def measure(name, keras_model, repeat):
    from ai_edge_litert.interpreter import Interpreter

    from emorec.common.quiet import silenced_stderr
    from emorec.network.architectures import multiply_adds, without_input_blur
    from emorec.network.files import to_litert
    flatbuffer = to_litert(keras_model)
    face = np.random.default_rng(0).integers(0, 256, (1, 48, 48, 1)).astype(np.float32)
    with silenced_stderr():
        one = Interpreter(model_content=flatbuffer, num_threads=1)
        two = Interpreter(model_content=flatbuffer, num_threads=2)
    bare = without_input_blur(keras_model)
    return {"name": name, "params": bare.count_params(), "madds": multiply_adds(bare),
            "pass_ms": per_call_ms(one, face, repeat),
            "pair_ms": per_call_ms(two, np.concatenate([face, face[:, :, ::-1]]), repeat)}


def main():
    from emorec.network.architectures import ARCHITECTURES, build_model
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", nargs="*", default=["vgg-wide", "vgg", "vgg-slim", "vgg-lite", "res-lite", "vgg-tiny", "sep"],
                   choices=sorted(ARCHITECTURES), help="architectures to build untrained and time")
    p.add_argument("--model", nargs="*", default=[], help="trained model folders or .h5 files to time as well")
    p.add_argument("--repeat", type=int, default=300, help="timed calls per figure (median)")
    args = p.parse_args()
    from emorec.common.quiet import import_keras
    from emorec.network.files import load_keras_model, resolve_model_path
    import_keras()
    print(f"host: {cpu_line()}")
    print(f"{'network':28s} {'params':>10s} {'M mult-adds':>12s} {'ms/pass (1 thread)':>19s} "
          f"{'ms/face+mirror (2 threads)':>27s}")
    rows = [measure(arch, build_model(arch), args.repeat) for arch in args.arch]
    rows += [measure(str(m), load_keras_model(resolve_model_path(m)), args.repeat) for m in args.model]
    for r in rows:
        print(f"{r['name']:28s} {r['params']:>10,} {r['madds'] / 1e6:12.1f} {r['pass_ms']:19.3f} {r['pair_ms']:27.3f}")


if __name__ == "__main__":
    main()
