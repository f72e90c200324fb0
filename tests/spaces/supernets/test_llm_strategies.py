"""CoLLM-NAS runs unchanged on a supernet space: prompts describe it, replies are decoded,
candidates are evaluated with inherited weights (scripted LLM here; the real embedded model
is exercised by ``llmnas supernet compare``, see docs/supernets.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from tests.strategies.collm_helpers import Script, make_run  # noqa: E402

pytestmark = pytest.mark.slow


def test_collm_searches_the_spos_supernet(tiny_supernets, tmp_path):
    from llmnas.spaces.supernets.configs import make_net_config
    from llmnas.spaces.supernets.spaces import make_space

    space = make_space(make_net_config("spos", "tiny"))
    rng = np.random.default_rng(0)

    def generator(i: int) -> str:
        return json.dumps({"candidates": [space.encode(space.sample(rng)) for _ in range(6)]})

    script = Script(generator)
    opts = {"supernet": str(tiny_supernets["spos"]), "val_images": 300, "recalib_batches": 2}
    run, _ = make_run(tmp_path, script, budget=10, space="spos", space_options=opts,
                      constraints=["flops_M <= 0.45"], options={"n_min": 5, "n_max": 6})
    try:
        summary = run.run()
    finally:
        run.store.close()
    assert summary.n_evaluated == 10
    nav_prompt = " ".join(m["content"] for m in script.of("navigator")[0])
    gen_prompt = " ".join(m["content"] for m in script.of("generator")[0])
    assert "ShuffleNetV2" in nav_prompt + gen_prompt and "layer_0" in gen_prompt
    assert "flops_M <= 0.45" in nav_prompt + gen_prompt  # the constraint reaches the LLM
    assert summary.best is not None and summary.best.feasible and summary.best.metrics["flops_M"] <= 0.45
