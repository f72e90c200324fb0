"""LoRA supervised fine-tuning with checkpoints and exact resume (CPU by default, CUDA if there).

One optimiser step averages the answer-token cross-entropy over ``grad_accum`` examples (one
example per forward pass, no padding). The order of examples is a function of the seed and the
step alone (a fresh permutation per epoch), so a resumed run sees exactly the examples an
uninterrupted one would, and with the adapter, optimiser, schedule and RNG states restored it
ends with the same weights.

Output folder (``--out``)::

    checkpoints/step-000050/   adapter weights, optimiser, schedule, RNG, step, losses (last 2 kept)
    adapter/                   the final adapter in peft format (adapter_config.json + safetensors)
    adapter.gguf               the same adapter for the embedded runtime (--llm-model OUT)
    train.json                 config, base model and data sha256, losses, validation, timings
    loss.csv                   step, loss, learning rate, seconds
    CARD.md                    the same figures as a model card
"""

from __future__ import annotations

import csv
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ....errors import ConfigError
from ..checkpoints import write_checkpoint
from ..train_loop import (TrainRun, begin_or_resume, example_at, held_out_split, lr_factor, open_training, optimizer_step,
                          run_steps)
from .config import RESUMABLE, TrainConfig
from .data import (IGNORE, Example, file_sha256, load_examples,
                                  read_conversations)



@dataclass
class TrainResult(TrainRun):
    """What a finished (or stopped) LoRA run produced."""

    resumed_from: int | None = None
    adapter_gguf: Path | None = None  # None when the run stopped before its last step
    summary: dict[str, Any] = field(default_factory=dict)


def answer_loss(model: Any, example: Example, device: Any, autocast: Any) -> tuple[Any, Any]:
    """Summed cross-entropy over the answer tokens, and the greedy predictions for them.

    Only the logits that predict answer tokens are computed (the answer is the tail of the
    sequence), which saves the language-model head on the whole prompt."""
    import torch
    import torch.nn.functional as F

    n_answer = example.answer_tokens
    ids = torch.tensor([example.input_ids], device=device)
    with autocast():
        logits = model(input_ids=ids, logits_to_keep=n_answer + 1).logits
    logits = logits[0, :-1].float()
    target = torch.tensor(example.labels[-n_answer:], device=device)
    assert int((target == IGNORE).sum()) == 0
    return F.cross_entropy(logits, target, reduction="sum"), (logits.argmax(-1) == target).all()


def evaluate(model: Any, examples: list[Example], device: Any, autocast: Any) -> dict[str, float]:
    """Mean answer-token loss and the share of examples whose greedy answer is exactly right."""
    import torch

    if not examples:
        return {}
    model.eval()
    loss = tokens = exact = 0.0
    with torch.no_grad():
        for example in examples:
            total, right = answer_loss(model, example, device, autocast)
            loss += float(total)
            tokens += example.answer_tokens
            exact += float(right)
    model.train()
    return {"loss": loss / tokens, "exact": exact / len(examples), "n": float(len(examples))}


def train(cfg: TrainConfig, *, resume: bool = False, console: Any = None, progress: bool = True,
          stop_after: int | None = None, log: Callable[[str], None] | None = None) -> TrainResult:
    """Run (or resume) the fine-tuning described by ``cfg``; see the module docstring.

    ``stop_after`` stops after that many steps in this call, checkpointed, as if interrupted.
    Ctrl-C writes a checkpoint of the last finished step before it stops the run."""
    from .base_model import load_base, require_finetune_deps, resolve_base

    say = log or (lambda msg: console.print(msg) if console is not None else None)
    out = Path(cfg.out)
    data_path = Path(cfg.data)
    conversations = read_conversations(data_path)  # a bad file fails before the slow model load
    data_sha = file_sha256(data_path)
    latest, saved = open_training(out, resume, cfg, data_sha, RESUMABLE)
    resolve_base(cfg.base, cfg.cache_dir)  # a bad name fails before the slow imports

    require_finetune_deps()
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg.device)
    autocast = _autocast(device)

    base = load_base(cfg.base, cfg.cache_dir, log=say)
    say(f"base {base.resolved.name} loaded in {base.load_s:.1f} s"
        f"{' (cached checkpoint)' if base.from_cache else ''}")
    examples, dropped = load_examples(data_path, base.tokenizer, cfg.max_tokens, conversations)
    val, train_set = held_out_split(examples, cfg.seed, cfg.val_examples, cfg.data)
    if dropped:
        say(f"left out {dropped} examples longer than {cfg.max_tokens} tokens")

    torch.manual_seed(cfg.seed)
    n_layers = int(base.model.config.num_hidden_layers)
    if cfg.last_layers > n_layers:
        raise ConfigError(f"last_layers={cfg.last_layers}, but {cfg.base} has {n_layers} layers")
    layers = list(range(n_layers - cfg.last_layers, n_layers)) if cfg.last_layers else None
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                      target_modules=list(cfg.targets), layers_to_transform=layers,
                      bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(base.model, lora).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, cfg.steps, cfg.warmup))

    from safetensors.torch import load_file

    state = begin_or_resume(
        out, latest, saved, cfg.steps, optimizer=optimizer, scheduler=scheduler, say=say,
        load_weights=lambda folder: set_peft_model_state_dict(model, load_file(str(folder / "adapter.safetensors"))),
        validate=(lambda: evaluate(model, val, device, autocast)) if val else None,
        describe=lambda v: f"loss {v['loss']:.4f}, exact answer {v['exact']:.0%} of {len(val)}")
    start = state.step

    def checkpoint(step: int) -> Path:
        meta = {**state.as_dict(), "config": cfg.model_dump(), "data_sha256": data_sha,
                "base_sha256": base.resolved.sha256}
        return write_checkpoint(out, step, lambda folder: _save_adapter(model, folder), optimizer, scheduler, meta)

    n_train = len(train_set)

    def one_step(step: int) -> tuple[float, list[float], float]:
        batch = [train_set[example_at(step * cfg.grad_accum + j, n_train, cfg.seed)] for j in range(cfg.grad_accum)]
        tokens = sum(e.answer_tokens for e in batch)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for example in batch:
            loss, _ = answer_loss(model, example, device, autocast)
            (loss / tokens).backward()
            total += float(loss.detach())
        return total / tokens, [], optimizer_step(optimizer, scheduler, params)

    run_steps(state, title="LoRA fine-tuning", total=cfg.steps, checkpoint_every=cfg.checkpoint_every,
              stop_at=cfg.steps if stop_after is None else min(cfg.steps, start + stop_after),
              one_step=one_step, checkpoint=checkpoint, console=console, progress=progress, say=say)
    result = TrainResult(out, state.step, state.losses, val_before=state.val_before, seconds=state.seconds,
                         resumed_from=start if saved is not None else None)
    if state.step < cfg.steps:
        return result
    result.val_after = evaluate(model, val, device, autocast) if val else {}
    if val:
        say(f"held-out after training: loss {result.val_after['loss']:.4f}, exact answer "
            f"{result.val_after['exact']:.0%} of {len(val)}")
    result.adapter_gguf, result.summary = _finish(cfg, out, model, base, data_sha, result,
                                                  state.rows, len(train_set), len(val), dropped, device)
    say(f"adapter written: {result.adapter_gguf} ({result.adapter_gguf.stat().st_size:,} bytes); "
        f"use it with --llm-model {out}")
    return result


def _finish(cfg: TrainConfig, out: Path, model: Any, base: Any, data_sha: str,
            result: TrainResult, rows: list[list[float]], n_train: int, n_val: int,
            dropped: int, device: Any) -> tuple[Path, dict[str, Any]]:
    from .gguf_export import export_gguf_adapter
    from ....llm.models import ADAPTER_FILE
    from ....versions import versions as package_versions

    model.save_pretrained(str(out / "adapter"))
    gguf_path = export_gguf_adapter(model, base.resolved, cfg.alpha, out / ADAPTER_FILE)
    with open(out / "loss.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "lr", "seconds"])
        writer.writerows(rows)
    summary = {
        "config": cfg.model_dump(),
        "base": base.resolved.describe(),
        "data_sha256": data_sha,
        "examples": {"train": n_train, "val": n_val, "left_out_too_long": dropped},
        "steps": result.steps_done,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "loss_first": result.losses[0] if result.losses else None,
        "loss_last": result.losses[-1] if result.losses else None,
        "val_before": result.val_before,
        "val_after": result.val_after,
        "train_seconds": result.seconds,
        "device": str(device),
        "machine": platform.machine(),
        "adapter_gguf_sha256": file_sha256(gguf_path),
        "versions": _versions(package_versions),
    }
    (out / "train.json").write_text(json.dumps(summary, indent=1))
    from .card import render_card

    (out / "CARD.md").write_text(render_card(out))
    return gguf_path, summary


def _versions(package_versions: Callable[..., Any]) -> Any:
    try:
        return package_versions()
    except Exception:  # versions are informative only
        return {}



def _device(choice: str) -> Any:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda, but torch sees no CUDA GPU; use --device cpu or auto")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


def _autocast(device: Any) -> Callable[[], Any]:
    """bf16 autocast on a GPU (weights and LoRA stay float32); plain float32 on the CPU."""
    import contextlib

    import torch

    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def _save_adapter(model: Any, folder: Path) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    weights = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(folder / "adapter.safetensors"))
