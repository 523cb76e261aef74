"""The model family's accuracy against its cost: a Markdown table and a plot for the model card.

    python bench/family_curve.py model/default model/vgg-lite-kd ... [--out model/family.png] [--repeat 300]

Each folder must hold an `eval_val.json` from `main.py evaluate --split val --tta` (PublicTest: the split
choices are made on). Multiply-adds are counted from the model, and ms per pass is measured here, through
the LiteRT export the app runs (int8 weights, 1 thread), in this run: the figures compare within one run.
"""

import argparse
import json
import os
from pathlib import Path

from bench_arch import measure
from common import cpu_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="model folders with eval_val.json")
    p.add_argument("--out", default="model/family.png", help="the plot (PNG)")
    p.add_argument("--repeat", type=int, default=300, help="timed calls per figure (median)")
    args = p.parse_args()
    from emorec.common.quiet import import_keras
    from emorec.network.files import load_keras_model, resolve_model_path
    import_keras()
    rows = []
    for folder in args.models:
        report = json.loads((Path(folder) / "eval_val.json").read_text())
        arch = json.loads(resolve_model_path(folder).with_suffix(".json").read_text()).get("arch", "?")
        cost = measure(folder, load_keras_model(resolve_model_path(folder)), args.repeat)
        name = Path(folder).name
        rows.append({**cost, "arch": arch, "label": name if name == arch or name.startswith(arch) else f"{name} ({arch})", "plain": report["plain"]["accuracy"], "tta": report["tta"]["accuracy"],
                     "balanced": report["tta"]["balanced_accuracy"],
                     "recall": [report["tta"]["per_class"][c]["recall"] for c in CLASSES]})
    print(f"host: {cpu_line()}\n")
    print("| model | arch | params | M mult-adds | ms/pass | PublicTest plain | flip TTA | balanced (TTA) | "
          + " | ".join(f"{c} recall" for c in CLASSES) + " |")
    print("|---" * (8 + len(CLASSES)) + "|")
    for r in rows:
        print(f"| `{r['name']}` | {r['arch']} | {r['params']:,} | {r['madds'] / 1e6:.0f} | {r['pass_ms']:.2f} | "
              f"{100 * r['plain']:.2f} % | {100 * r['tta']:.2f} % | {100 * r['balanced']:.2f} % | "
              + " | ".join(f"{v:.3f}" for v in r["recall"]) + " |")
    plot(rows, Path(args.out))
    print(f"\nplot: {args.out}")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, label in ((axes[0], "madds", "multiply-adds per pass (M)"),
                           (axes[1], "pass_ms", "ms per pass, LiteRT int8 weights, 1 thread")):
        for metric, style, name in (("plain", "o", "plain"), ("tta", "s", "flip TTA"), ("balanced", "^", "balanced (TTA)")):
            xs = [r[key] / (1e6 if key == "madds" else 1) for r in rows]
            ax.scatter(xs, [100 * r[metric] for r in rows], marker=style, label=name)
        for i, r in enumerate(sorted(rows, key=lambda r: r[key])):   # neighbours' labels above and below in turn
            ax.annotate(r["label"], (r[key] / (1e6 if key == "madds" else 1), 100 * r["tta"]), fontsize=8,
                        xytext=(4, 5 if i % 2 == 0 else -12), textcoords="offset points")
        if key == "madds":
            ax.axvline(88, color="grey", linestyle="--", linewidth=1)
            ax.annotate("88 M (issue 21)", (88, ax.get_ylim()[0]), fontsize=7, color="grey",
                        xytext=(3, 3), textcoords="offset points")
        ax.margins(x=0.18)                                  # room for the labels of the outermost points
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PublicTest accuracy (%)")
    axes[0].legend(loc="lower right")
    fig.suptitle(f"The model family on FER2013 PublicTest ({cpu_line()})", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
