"""LoRA fine-tuning end to end on the real SmolLM2-135M base (transformers + peft, real data).

One module-scoped run trains 4 steps on real ``make-data`` output; the other tests check its
outputs, an interrupted + resumed run against it, and the GGUF export in the real server.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _ft_stack import require_finetune_stack

require_finetune_stack()

import torch  # noqa: E402

from llmnas.strategies.lmsearcher.finetune.config import make_config  # noqa: E402
from llmnas.strategies.lmsearcher.finetune.train import train  # noqa: E402
from llmnas.strategies.lmsearcher.make_data import make_data  # noqa: E402

pytestmark = pytest.mark.slow

SETTINGS = dict(base="smollm2-135m", steps=4, grad_accum=2, lr=2e-3, warmup=0.0, rank=8,
                alpha=16.0, max_tokens=512, val_examples=4, seed=3, checkpoint_every=2,
                threads=2, last_layers=10)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ftdata") / "data.jsonl"
    make_data(path, 40, seed=0, exclude=["nb201:cifar100", "nb201:imagenet16-120"])
    return path


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ft") / "run"
    cfg = make_config(data=str(data), out=str(out), **SETTINGS)
    return cfg, train(cfg, progress=False)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter" / "adapter_model.safetensors"))


def test_training_lowers_the_held_out_answer_loss(trained) -> None:
    cfg, result = trained
    assert result.steps_done == 4 and len(result.losses) == 4
    assert all(np.isfinite(result.losses))
    # the answer loss on examples never trained on falls (SmolLM2 starts near 2 nats/token)
    assert result.val_after["loss"] < 0.8 * result.val_before["loss"]
    summary = json.loads((Path(cfg.out) / "train.json").read_text())
    assert summary["base"]["sha256"] == \
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert summary["config"]["seed"] == 3 and summary["steps"] == 4
    assert summary["examples"]["val"] == 4
    rows = (Path(cfg.out) / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss,lr,seconds" and len(rows) == 5


def test_interrupted_and_resumed_run_ends_with_the_same_adapter(trained, data, tmp_path) -> None:
    cfg, result = trained
    out = tmp_path / "resumed"
    cfg2 = make_config(data=str(data), out=str(out), **SETTINGS)
    first = train(cfg2, progress=False, stop_after=3)  # "killed" after step 3 (checkpointed)
    assert first.steps_done == 3 and first.adapter_gguf is None
    assert (out / "checkpoints" / "step-000003" / "state.json").is_file()
    second = train(cfg2, resume=True, progress=False)
    assert second.resumed_from == 3 and second.steps_done == 4
    assert second.losses == pytest.approx(result.losses, rel=1e-5)
    a, b = _weights(Path(cfg.out)), _weights(out)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-7)


def test_resume_refuses_changed_settings(trained, data, tmp_path) -> None:
    from llmnas.errors import ConfigError

    cfg, _ = trained
    changed = make_config(**{**cfg.model_dump(), "lr": 1e-4})
    with pytest.raises(ConfigError, match="lr was 0.002"):
        train(changed, resume=True, progress=False)
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(cfg, progress=False)


def test_trained_adapter_is_served_by_the_embedded_runtime(trained, data) -> None:
    """--llm-model OUT loads base + adapter in the real server; the replies change."""
    from llmnas.strategies.lmsearcher.finetune.data import read_conversations
    from llmnas.llm import LLMSettings, make_client

    cfg, result = trained
    prompts = [c[:-1] for c in read_conversations(data)[:4]]
    replies = {}
    for model in ("smollm2-135m", cfg.out):
        client = make_client(LLMSettings(model=model, temperature=0.0, max_tokens=24, seed=0,
                                         n_ctx=2048, n_threads=2))
        try:
            replies[model] = [client.chat(p).text for p in prompts]
            model_id = client.chat(prompts[0]).model
        finally:
            client.close()
        if model == cfg.out:
            assert model_id == "run"
    assert replies["smollm2-135m"] != replies[cfg.out]
