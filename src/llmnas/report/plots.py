"""Plots of best-so-far versus queries (mean +- std over seeds), PNG or SVG."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..store import Store, iter_store_files
from .curves import incumbent_curve, round_starts


def collect_curves(paths: list[str], metric: str, marks: dict | None = None) -> dict[tuple[str, str, str], list[np.ndarray]]:
    """(space, dataset, strategy) -> one incumbent curve per study found under ``paths``;
    ``marks`` (if given) receives the iteration starts of each group's studies."""
    groups: dict[tuple[str, str, str], list[np.ndarray]] = defaultdict(list)
    for p in paths:
        for f in iter_store_files(p):
            with Store(f, create=False, readonly=True) as store:
                for st in store.studies():
                    c = st.config
                    key = (Path(c.get("space", "?")).stem, str(c.get("dataset")), c.get("strategy", "?"))
                    trials = store.trials(st.id)
                    groups[key].append(incumbent_curve(trials, metric))
                    if marks is not None:
                        marks.setdefault(key, []).append(round_starts(trials))
    if not groups:
        raise ConfigError(f"no studies found in {', '.join(paths)}; give run stores or a bench folder")
    return groups


def plot(paths: list[str], out: str | Path, metric: str = "report", title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"plot output {str(out)!r} must end in .png or .svg")
    marks: dict = {}
    groups = collect_curves(paths, metric, marks)
    panels = sorted({(s, d) for s, d, _ in groups})
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    for ax, (space, dataset) in zip(axes[0], panels):
        lows, highs = [], []
        for (s, d, strategy), curves in sorted(groups.items()):
            if (s, d) != (space, dataset):
                continue
            n = max(len(c) for c in curves)
            mat = np.full((len(curves), n), np.nan)
            for i, c in enumerate(curves):
                mat[i, : len(c)] = c
                if len(c):
                    mat[i, len(c):] = c[-1]  # a run that stopped early keeps its incumbent
            x = np.arange(1, n + 1)
            with np.errstate(all="ignore"):
                mean, std = np.nanmean(mat, axis=0), np.nanstd(mat, axis=0)
            ax.plot(x, mean, label=f"{strategy} (n={len(curves)})")
            tail = slice(n // 10, None)  # the first queries swing widely; scale the axis to the rest
            with np.errstate(all="ignore"):
                lows.append(np.nanmin((mean - std)[tail]))
                highs.append(np.nanmax((mean + std)[tail]))
            if len(curves) > 1:
                ax.fill_between(x, mean - std, mean + std, alpha=0.2)
            elif marks.get((s, d, strategy)) and marks[(s, d, strategy)][0]:
                for q in marks[(s, d, strategy)][0][1:]:  # a single LLM run: mark where iterations begin
                    ax.axvline(q - 0.5, color="grey", alpha=0.25, lw=0.8)
        lo, hi = np.nanmin(lows), np.nanmax(highs)
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            pad = 0.15 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"{space} / {dataset}")
        ax.set_xlabel("unique architectures evaluated")
        ax.set_ylabel("test of best-by-signal" if metric == "report" else "best signal")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
