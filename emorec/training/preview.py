"""A grid PNG of sample faces per class, to eyeball a dataset."""

import numpy as np

from emorec.common.artifacts import save_figure
from emorec.common.labels import EMOTIONS


def preview_grid(x, y, path, per_class=8, seed=0, title=""):
    """Save a 7-row grid (one row per emotion, ``per_class`` random samples each) of N×48×48 uint8 faces."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(EMOTIONS), per_class, figsize=(per_class * 1.1, len(EMOTIONS) * 1.25), squeeze=False)
    for c, name in enumerate(EMOTIONS):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j, ax in enumerate(axes[c]):
            ax.axis("off")
            if j < len(pick):
                ax.imshow(x[pick[j]], cmap="gray", vmin=0, vmax=255)
        axes[c][0].set_title(f"{name} ({len(idx)})", loc="left", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)
