"""Plots of best-so-far versus queries (mean +- std over seeds), PNG or SVG."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..store import Store, iter_store_files
from ..types import OK
from .curves import incumbent_curve, round_starts
from .sources import source_kind


def collect_curves(paths: list[str], metric: str, marks: dict | None = None,
                   points: dict | None = None) -> dict[tuple[str, str, str], list[np.ndarray]]:
    """(space, dataset, strategy) -> one incumbent curve per study found under ``paths``;
    ``marks`` (if given) receives the iteration starts of each group's studies, ``points`` (if
    given) each study's evaluated trials as (query, value, source kind)."""
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
                    if points is not None:
                        points.setdefault(key, []).append(trial_points(trials, metric))
    if not groups:
        raise ConfigError(f"no studies found in {', '.join(paths)}; give run stores or a bench folder")
    return groups


SOURCE_STYLE = {
    "LLM": {"label": "trial from the LLM", "marker": "o", "color": "tab:green"},
    "fallback": {"label": "trial from a fallback", "marker": "x", "color": "tab:red"},
    "other": {"label": "other trial", "marker": ".", "color": "tab:grey"},
}


def trial_points(trials: list, metric: str) -> list[tuple[int, float, str]]:
    """(query number, the trial's own ``metric``, source kind) for each evaluated trial."""
    out, q = [], 0
    for t in trials:
        if t.status == OK:
            q += 1
            value = getattr(t, metric)
            if value is not None:
                out.append((q, float(value), source_kind(t.source)))
    return out


def plot(paths: list[str], out: str | Path, metric: str = "report", title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"plot output {str(out)!r} must end in .png or .svg")
    fig = figure(paths, metric, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def figure(paths: list[str], metric: str = "report", title: str | None = None):  # type: ignore[no-untyped-def]
    """The matplotlib figure :func:`plot` saves: one panel per (space, dataset)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    marks: dict = {}
    points: dict = {}
    groups = collect_curves(paths, metric, marks, points)
    panels = sorted({(s, d) for s, d, _ in groups})
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    for ax, (space, dataset) in zip(axes[0], panels):
        lows, highs, dots = [], [], []
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
            with np.errstate(all="ignore"):  # every query, the first ones too
                lows.append(np.nanmin(mean - std))
                highs.append(np.nanmax(mean + std))
            if len(curves) > 1:
                ax.fill_between(x, mean - std, mean + std, alpha=0.2)
            else:
                if marks.get((s, d, strategy)) and marks[(s, d, strategy)][0]:
                    for q in marks[(s, d, strategy)][0][1:]:  # a single LLM run: mark where iterations begin
                        ax.axvline(q - 0.5, color="grey", alpha=0.25, lw=0.8)
                dots += points.get((s, d, strategy), [[]])[0]
        lo, hi = np.nanmin(lows), np.nanmax(highs)
        below = 0
        if dots:  # a single run: each evaluated trial's own value, marked by where it came from
            values = np.array([v for _, v, _ in dots], dtype=float)
            lo = min(lo, float(np.nanpercentile(values, 10)))  # the worst tenth may fall below
            hi = max(hi, float(np.nanmax(values)))
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            pad = 0.08 * (hi - lo)
            lo, hi = lo - pad, hi + pad
            ax.set_ylim(lo, hi)
        for kind, style in SOURCE_STYLE.items():
            inside = [(q, v) for q, v, k in dots if k == kind and v >= lo]
            if inside:
                ax.scatter([q for q, _ in inside], [v for _, v in inside], s=16, zorder=3, label=style["label"],
                           marker=style["marker"], color=style["color"], alpha=0.8, gid=kind)
            under = [q for q, v, k in dots if k == kind and v < lo]
            if under:  # off the bottom: a small triangle on the axis keeps its source visible
                ax.scatter(under, [lo] * len(under), s=22, zorder=3, marker="v", color=style["color"], alpha=0.8,
                           clip_on=False, label=None if inside else style["label"], gid=kind)
        below = sum(1 for _, v, _ in dots if v < lo)
        if below:
            ax.annotate(f"{below} trial{'s' if below != 1 else ''} below the axis (▼)", xy=(0.99, 0.01),
                        xycoords="axes fraction", ha="right", va="bottom", fontsize=7, color="grey")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{space} / {dataset}")
        ax.set_xlabel("unique architectures evaluated")
        ax.set_ylabel("test of best-by-signal" if metric == "report" else "best signal")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
