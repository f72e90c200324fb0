"""The NCode ranker model: data format, training (loss falls, exact resume), the shipped file,
serving through the lmsearcher loop (never outside the pool), the additive ranker, the rank probe."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from llmnas.api import search  # noqa: E402
from llmnas.errors import ConfigError  # noqa: E402
from llmnas.strategies.lmsearcher.finetune.data import file_sha256  # noqa: E402
from llmnas.strategies.lmsearcher import prompt as lp  # noqa: E402
from llmnas.strategies.lmsearcher.make_data import make_data  # noqa: E402
from llmnas.strategies.lmsearcher.ncode_ranker import SHIPPED_DIR, SHIPPED_SHA256, load_ncode_ranker  # noqa: E402
from llmnas.strategies.lmsearcher.ncode_train import make_ncode_config, train_ncode  # noqa: E402
from llmnas.strategies.lmsearcher.rankers import additive, additive_values  # noqa: E402
from llmnas.spaces.nb201 import NB201Space  # noqa: E402
from llmnas.store import Store  # noqa: E402

TINY = dict(d_model=32, layers=2, heads=4, ff=64, val_examples=40, threads=1, batch=16)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("ncode") / "data.jsonl"
    make_data(path, 400, seed=3, benchmarks=["nb201:cifar10"], fmt="ncode")
    return path


def test_ncode_format_is_the_chat_format_step(tmp_path):
    chat, ncode = tmp_path / "c.jsonl", tmp_path / "n.jsonl"
    make_data(chat, 30, seed=5, benchmarks=["nb-macro"])
    make_data(ncode, 30, seed=5, benchmarks=["nb-macro"], fmt="ncode")
    for a, b in zip(chat.read_text().splitlines(), ncode.read_text().splitlines()):
        a, b = json.loads(a), json.loads(b)
        # the same step: the chat prompt is built from the ncode record, the answer is its label
        want = lp.build_messages([(c, s) for c, s in b["history"]], [c for c, _ in b["pool"]])
        assert a["messages"][:2] == want
        assert a["messages"][2]["content"] == b["pool"][b["label"]][0]
        scores = [s for _, s in b["pool"]]
        assert scores[b["label"]] == max(scores)
    with pytest.raises(ConfigError, match="--format"):
        make_data(tmp_path / "x.jsonl", 3, fmt="text")


@pytest.mark.slow
def test_training_loss_falls_on_a_tiny_real_dataset(tmp_path, tiny_data):
    cfg = make_ncode_config(data=str(tiny_data), out=str(tmp_path / "run"), steps=80, lr=3e-3, **TINY)
    result = train_ncode(cfg, progress=False)
    first, last = np.mean(result.losses[:10]), np.mean(result.losses[-10:])
    assert result.finished and last < first - 0.25, (first, last)
    for name in ("model.npz", "model.json", "train.json", "loss.csv", "CARD.md"):
        assert (tmp_path / "run" / name).is_file()
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["sha256"] == file_sha256(tmp_path / "run" / "model.npz")
    card = (tmp_path / "run" / "CARD.md").read_text()
    assert f"{result.val_after['mean_rank']:.2f}" in card and "80 optimiser steps x 16" in card


def test_resume_is_exact(tmp_path, tiny_data):
    def cfg(out):
        return make_ncode_config(data=str(tiny_data), out=str(tmp_path / out), steps=8, checkpoint_every=2, **TINY)

    full = train_ncode(cfg("full"), progress=False)
    part = train_ncode(cfg("part"), progress=False, stop_after=3)
    assert not part.finished and part.steps_done == 3
    with pytest.raises(ConfigError, match="already holds"):
        train_ncode(cfg("part"), progress=False)
    rest = train_ncode(cfg("part"), resume=True, progress=False)
    assert rest.finished and rest.losses == full.losses
    with np.load(tmp_path / "full" / "model.npz") as a, np.load(tmp_path / "part" / "model.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    changed = make_ncode_config(data=str(tiny_data), out=str(tmp_path / "part"), steps=8, **{**TINY, "lr": 0.5})
    with pytest.raises(ConfigError, match="lr"):
        train_ncode(changed, resume=True, progress=False)


def test_shipped_model_is_pinned_and_loads():
    weights = SHIPPED_DIR / "model.npz"
    assert SHIPPED_SHA256 and file_sha256(weights) == SHIPPED_SHA256
    meta = json.loads((SHIPPED_DIR / "model.json").read_text())
    assert meta["sha256"] == SHIPPED_SHA256 and weights.stat().st_size < 20_000_000
    card = (SHIPPED_DIR / "CARD.md").read_text()
    assert "nb201:cifar100" in card and "--preset ncode-ranker" in card and SHIPPED_SHA256 in card
    ranker = load_ncode_ranker()
    assert ranker.sha256 == SHIPPED_SHA256


def test_a_damaged_model_file_is_refused(tmp_path, tiny_data):
    cfg = make_ncode_config(data=str(tiny_data), out=str(tmp_path / "run"), steps=2, **TINY)
    train_ncode(cfg, progress=False)
    with open(tmp_path / "run" / "model.npz", "ab") as f:
        f.write(b"x")
    with pytest.raises(ConfigError, match="sha256"):
        load_ncode_ranker(str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="no such model"):
        load_ncode_ranker(str(tmp_path / "nowhere"))


def test_the_shipped_ranker_never_answers_outside_the_pool():
    ranker = load_ncode_ranker()
    rng = np.random.default_rng(0)
    for trial in range(60):
        width = int(rng.integers(1, 33))
        pool = ["".join(map(str, rng.integers(0, 10, width))) for _ in range(int(rng.integers(1, 101)))]
        n_hist = int(rng.integers(0, 150))
        scores = rng.normal(size=n_hist)
        if trial % 7 == 0:
            scores[:] = 1.0  # all equal
        if trial % 11 == 0 and n_hist:
            scores[0] = np.nan  # dropped
        history = [("".join(map(str, rng.integers(0, 10, width))), float(s)) for s in scores]
        logits = ranker.logits(history, pool)
        assert logits.shape == (len(pool),) and np.all(np.isfinite(logits))
        assert 0 <= ranker.choose(history, pool) < len(pool)
    with pytest.raises(ValueError):
        ranker.logits([], [])


def test_lmsearcher_ncode_runs_with_every_pick_from_its_pool(tmp_path):
    space = NB201Space()
    for pool_size in (10, None):  # None: the strategy's default pool, 50
        path = tmp_path / f"n{pool_size}.sqlite"
        summary = search(store=path, strategy="lmsearcher-ncode", budget=25, seed=0, dataset="cifar100",
                         strategy_options={"pool_size": pool_size} if pool_size else {})
        pool_size = pool_size or 50
        assert summary.n_evaluated == 25
        with Store(path) as st:
            trials = st.trials(st.get_study(None).id)
        ranked = [t for t in trials if t.source == "ncode"]
        assert len(ranked) == 20
        for t in ranked:
            assert len(t.meta["pool"]) == pool_size and t.key in t.meta["pool"]
            assert space.to_ncode(space.from_ncode(t.key)) == t.key


def test_additive_ranker_scores_shared_options(tmp_path):
    history = [(0, 0), (0, 1), (1, 0), (1, 1)]
    scores = [10.0, 8.0, 2.0, 0.0]  # option 0 at decision 0 is good; decision 1 barely matters
    values = additive_values(history, scores, [(1, 1), (0, 1), (1, 0)])
    assert values == pytest.approx([(0.1 + 0.4) / 2, (0.9 + 0.4) / 2, (0.1 + 0.6) / 2])
    assert additive(history, scores, [(1, 1), (0, 1), (1, 0)]) == 1
    assert additive(history, scores, [(2, 2)]) == 0  # unseen options take the prior
    assert additive([], [], [(1, 1), (0, 0)]) == 0
    s = search(store=tmp_path / "a.sqlite", strategy="lmsearcher-additive", budget=15, seed=2)
    assert s.n_evaluated == 15
    with Store(tmp_path / "a.sqlite") as st:
        assert [t.source for t in st.trials(st.get_study(None).id)] == ["warmup"] * 5 + ["additive"] * 10


@pytest.mark.slow
def test_rank_probe_runs_every_ranker_on_held_out_steps(cli):
    out = cli("lmsearcher", "rank-probe", "--steps", "40", "--quiet")
    assert out.returncode == 0, out.stderr[-2000:]
    for name in ("ncode (ncode-ranker)", "closest", "additive", "random (exact expectation)", "oracle"):
        assert name in out.stdout
    from llmnas.strategies.lmsearcher.rank_probe import pick_additive, run_probe

    rows = run_probe(["nb201:cifar100"], 40, 1, {"additive": pick_additive})
    by = {r.ranker: r for r in rows}
    assert by["oracle"].mean_rank() == 1.0 and 5.0 < by["random (exact expectation)"].mean_rank() < 6.0
    assert by["additive"].mean_rank() < by["random (exact expectation)"].mean_rank()


@pytest.mark.slow
def test_train_preset_refuses_lora_options_and_lora_refuses_batch(cli, tmp_path):
    out = cli("lmsearcher", "train", "--preset", "ncode-ranker", "--out", str(tmp_path / "x"), "--rank", "4")
    assert out.returncode != 0 and "LoRA options" in out.stderr and "--rank" in out.stderr
    out = cli("lmsearcher", "train", "--data", "d.jsonl", "--out", str(tmp_path / "y"), "--batch", "8")
    assert out.returncode != 0 and "--batch is an option of the NCode ranker presets" in out.stderr
    assert not (tmp_path / "x").exists()
