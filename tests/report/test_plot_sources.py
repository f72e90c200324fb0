"""The single-run plot: the y-axis holds every point of the curve (the first ones too), the
x ticks are whole queries, and each trial is marked by where it came from."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from llmnas import search  # noqa: E402
from llmnas.report.curves import incumbent_curve  # noqa: E402
from llmnas.report.plots import figure, trial_points  # noqa: E402
from llmnas.report.sources import source_counts, source_kind  # noqa: E402
from llmnas.store import Store  # noqa: E402


def test_source_kinds():
    assert [source_kind(s) for s in ("generator#3", "ranker", "ranker-reask")] == ["LLM"] * 3
    assert [source_kind(s) for s in ("fallback-mutation", "fallback-closest", "random-fallback")] == ["fallback"] * 3
    assert [source_kind(s) for s in ("random", "warmup", "mutation", "policy")] == ["other"] * 4


def test_single_run_plot_keeps_the_first_points_and_marks_sources(tmp_path):
    store = tmp_path / "r.sqlite"
    search(store=store, study="x", strategy="rs", budget=25, seed=3)
    fig = figure([str(store)])
    try:
        ax = fig.axes[0]
        lo, hi = ax.get_ylim()
        with Store(store, create=False) as st:
            trials = st.trials(st.get_study("x").id)
        curve = incumbent_curve(trials)
        assert lo < np.nanmin(curve) and hi > np.nanmax(curve)  # the first (lowest) point is inside
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 25]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert {c.get_gid() for c in ax.collections} == {"other"}  # random search: no LLM, no fallback
        assert [c.get_label() for c in ax.collections][0] == "other trial"
        shown = sum(len(c.get_offsets()) for c in ax.collections)  # inside the axis or on its floor
        assert shown == len(trial_points(trials, "report")) == 25
        assert source_counts(trials)["other"]["evaluated"] == 25
    finally:
        plt.close(fig)
