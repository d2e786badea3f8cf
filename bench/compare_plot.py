"""Lateness distributions of bench/compare.py as a PNG (run with bench/.peers-venv/bin/python).

    compare_plot.py DATA.json OUT.png

DATA.json: ``{"panels": [{"title": str, "series": {label: [lateness seconds, ...]}}]}``.
One panel per workload: the empirical CDF of each system's enqueue lateness, log-scaled
milliseconds, so a 30 ms and a 1,000 ms distribution are both readable.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt


def main() -> int:
    data = json.loads(Path(sys.argv[1]).read_text())
    panels = data["panels"]
    cols = min(2, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        for label, values in panel["series"].items():
            if not values:
                continue
            ordered = sorted(max(v * 1000, 0.1) for v in values)
            ys = [(i + 1) / len(ordered) for i in range(len(ordered))]
            ax.step(ordered, ys, where="post", label=f"{label} (n={len(ordered):,})")
        ax.set_xscale("log")
        ax.set_xlabel("enqueue lateness, ms (log)")
        ax.set_ylabel("fraction of runs")
        ax.set_title(textwrap.fill(panel["title"], 60), fontsize=9)
        ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Enqueue lateness (visible in the RQ queue - scheduled instant), CDF")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
