"""Stage 1 (train, resume) and stage 2 (inherited weights, BN recalibration, constraints) on
tiny supernets trained on real Fashion-MNIST."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from llmnas.api import search  # noqa: E402
from llmnas.errors import ConfigError  # noqa: E402
from llmnas.store import Store  # noqa: E402
from llmnas.spaces.supernets.evaluator import SupernetEvaluator  # noqa: E402
from llmnas.spaces.supernets.ops import batch_norms  # noqa: E402
from llmnas.spaces.supernets.spaces import largest, smallest  # noqa: E402
from llmnas.spaces.supernets.stage1 import train_supernet  # noqa: E402

pytestmark = pytest.mark.slow


def test_interrupted_training_resumes_to_the_uninterrupted_weights(tmp_path):
    full, part = tmp_path / "full.pt", tmp_path / "part.pt"
    train_supernet("spos", full, "tiny", {"steps": 8})

    def stop_at_3(step, total, loss):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet("spos", part, "tiny", {"steps": 8}, on_step=stop_at_3)
    assert torch.load(part, weights_only=True)["step"] == 3  # the interrupt saved a checkpoint
    out = train_supernet("spos", part, "tiny", resume=True)
    assert out.resumed_from == 3 and out.steps == 8
    a = torch.load(full, weights_only=True)["model"]
    b = torch.load(part, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="--resume"):
        train_supernet("spos", full, "tiny", {})


@pytest.mark.parametrize("space", ["spos", "ofa", "autoformer"])
def test_inherited_weights_beat_chance_and_are_reproducible(tiny_supernets, space):
    ev = SupernetEvaluator(tiny_supernets[space], val_images=500, recalib_batches=2)
    sp = ev.space
    archs = [largest(sp), smallest(sp), sp.sample(np.random.default_rng(0))]
    first = [ev.evaluate(a).signal for a in archs]
    # 10 balanced classes: chance is 10% (std 1.3 points on 500 images); 40 tiny steps are not much
    assert np.mean(first) > 15.0 and min(first) > 10.0, first
    ev._results.clear()  # evaluate again, in another order, without the cache
    again = [ev.evaluate(a).signal for a in reversed(archs)][::-1]
    assert again == first
    r = ev.evaluate(archs[0])
    assert r.metrics["flops"] > 0 and r.metrics["params"] > 0 and r.metrics["val_acc"] == r.signal
    assert ev.evaluate(archs[0]) is r  # cached by canonical key


@pytest.mark.parametrize("space", ["spos", "ofa"])
def test_bn_recalibration_changes_the_statistics_to_the_subnets_own(tiny_supernets, space):
    ev = SupernetEvaluator(tiny_supernets[space], val_images=200, recalib_batches=3, recalib_batch_size=64)
    stem_bn = ev.net.stem_bn
    trained = stem_bn.running_mean.clone(), stem_bn.running_var.clone()
    arch = smallest(ev.space)
    ev.evaluate(arch)
    assert not torch.allclose(stem_bn.running_mean, trained[0])
    # the stem BN now holds the mean over the recalibration batches of its own input
    with torch.no_grad():
        xs = [ev.net.stem(torch.nn.functional.interpolate(x, size=(arch.get("resolution", 28),) * 2, mode="bilinear",
                                                           align_corners=False) if "resolution" in arch else x)
              for x in ev.recal]
    expected = torch.stack([x.mean((0, 2, 3)) for x in xs]).mean(0)
    assert torch.allclose(stem_bn.running_mean, expected, atol=1e-4)
    before = [bn.running_mean.clone() for bn in batch_norms(ev.net)]
    ev.evaluate(largest(ev.space))
    assert any(not torch.equal(b, bn.running_mean) for b, bn in zip(before, batch_norms(ev.net)))


def test_without_recalibration_the_accuracy_differs(tiny_supernets):
    with_bn = SupernetEvaluator(tiny_supernets["spos"], val_images=500, recalib_batches=4)
    without = SupernetEvaluator(tiny_supernets["spos"], val_images=500, recalib_batches=0)
    arch = smallest(with_bn.space)
    assert with_bn.evaluate(arch).signal != without.evaluate(arch).signal


def test_over_budget_subnet_is_never_reported_as_best(tiny_supernets, tmp_path):
    opts = {"supernet": str(tiny_supernets["ofa"]), "val_images": 300, "recalib_batches": 2}
    free = search(store=tmp_path / "free.sqlite", space="ofa", strategy="rs", budget=12, seed=5, space_options=opts)
    with Store(tmp_path / "free.sqlite", create=False) as st:
        trials = [t for t in st.trials(st.get_study(None).id) if t.status == "ok"]
    top = free.best
    cheaper = [t.metrics["flops"] for t in trials if t.metrics["flops"] < top.metrics["flops"]]
    assert cheaper, "the best subnet is the cheapest one; pick another seed"
    bound = top.metrics["flops"] - 1
    capped = search(store=tmp_path / "capped.sqlite", space="ofa", strategy="rs", budget=12, seed=5,
                    space_options=opts, constraints=[f"flops <= {bound}"])
    with Store(tmp_path / "capped.sqlite", create=False) as st:
        ctrials = [t for t in st.trials(st.get_study(None).id) if t.status == "ok"]
    over = [t for t in ctrials if not t.feasible]
    assert top.key in {t.key for t in over}  # evaluated, CoLLM's policy, but not eligible
    assert capped.best is not None and capped.best.key != top.key and capped.best.feasible
    assert capped.best.metrics["flops"] <= bound
    assert capped.best.signal == max(t.signal for t in ctrials if t.feasible)


def test_supernet_space_errors_name_the_fix(tiny_supernets, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="llmnas supernet train --space spos"):
        search(store=tmp_path / "a.sqlite", space="spos", strategy="rs", budget=2)
    with pytest.raises(ConfigError, match="not found; train one first"):
        search(store=tmp_path / "b.sqlite", space="spos", strategy="rs", budget=2, space_options={"supernet": "nope.pt"})
    with pytest.raises(ConfigError, match="holds a 'ofa' supernet"):
        search(store=tmp_path / "c.sqlite", space="spos", strategy="rs", budget=2,
               space_options={"supernet": str(tiny_supernets["ofa"])})
    with pytest.raises(ConfigError, match="unknown spos space option"):
        search(store=tmp_path / "d.sqlite", space="spos", strategy="rs", budget=2,
               space_options={"supernet": str(tiny_supernets["spos"]), "val_imgs": 3})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'llmnas\[supernet\]'"):
        search(store=tmp_path / "e.sqlite", space="spos", strategy="rs", budget=2,
               space_options={"supernet": str(tiny_supernets["spos"])})


def test_unfinished_supernet_is_refused_with_the_resume_command(tmp_path):
    path = tmp_path / "half.pt"
    train_supernet("spos", path, "tiny", {"steps": 2})
    ck = torch.load(path, weights_only=True)
    ck["done"] = False
    torch.save(ck, path)
    with pytest.raises(ConfigError, match="supernet train --resume"):
        SupernetEvaluator(path)


def test_checkpoint_records_seed_config_and_log(tiny_supernets):
    ck = torch.load(tiny_supernets["autoformer"], weights_only=True)
    assert ck["train"]["sampling"] == "sandwich" and ck["train"]["seed"] == 0 and ck["done"]
    assert ck["data"]["dataset"] == "fashion-mnist" and ck["net"]["patch"] == 7
    json.dumps({k: v for k, v in ck.items() if k not in ("model", "optimizer")})
