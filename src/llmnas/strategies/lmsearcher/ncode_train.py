"""Training of the NCode ranker model (``llmnas lmsearcher train --preset ncode-ranker``).

Reads ``make-data --format ncode`` JSONL, holds out ``val_examples`` steps (a seeded shuffle),
and trains :mod:`llmnas.strategies.lmsearcher.ncode_model` with AdamW (linear warm-up, cosine decay to
10 %), batches of ``batch`` steps whose order is a function of the seed and the step alone. A
checkpoint (weights, optimiser, schedule, RNG, losses) is written every ``checkpoint_every``
steps and on Ctrl-C; ``--resume`` continues from the last one and ends with the same weights as
an uninterrupted run.

Output folder::

    checkpoints/step-000100/  model.pt, optimizer.pt, scheduler.pt, rng.pt, state.json (last 2 kept)
    model.npz                 the trained weights (float32), what the ranker loads
    model.json                the model shape, the weights' sha256 and the data it was trained on
    train.json                config, data sha256, losses, validation before/after, timings
    loss.csv                  step, loss, pick loss, bin loss, lr, seconds
    CARD.md                   the same figures as a model card
"""

from __future__ import annotations

import csv
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pydantic

from ...errors import ConfigError, DataError
from .finetune.data import file_sha256
from .checkpoints import write_checkpoint
from .train_loop import (TrainRun, begin_or_resume, example_at, held_out_split, lr_factor, open_training, optimizer_step,
                         run_steps)
from .ncode_model import ModelShape, Step, build_model, collate, featurise, losses, pool_logits

MODEL_FILE, MODEL_META = "model.npz", "model.json"


class NCodeTrainConfig(pydantic.BaseModel, extra="forbid"):
    """Everything that decides the trained model; stored with it and checked on resume."""

    data: str
    out: str
    steps: int = pydantic.Field(1000, ge=1)
    batch: int = pydantic.Field(32, ge=1)
    lr: float = pydantic.Field(1e-3, gt=0, le=1)
    warmup: float = pydantic.Field(0.05, ge=0, lt=1)
    weight_decay: float = pydantic.Field(0.01, ge=0)
    bin_weight: float = pydantic.Field(1.0, ge=0)
    d_model: int = pydantic.Field(128, ge=8)
    layers: int = pydantic.Field(4, ge=1)
    heads: int = pydantic.Field(8, ge=1)
    ff: int = pydantic.Field(512, ge=8)
    bins: int = pydantic.Field(32, ge=2)
    max_history: int = pydantic.Field(128, ge=1)
    max_len: int = pydantic.Field(40, ge=1)
    val_examples: int = pydantic.Field(500, ge=0)
    seed: int = 0
    checkpoint_every: int = pydantic.Field(50, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = pydantic.Field(0, ge=0)

    @pydantic.model_validator(mode="after")
    def _heads_divide(self) -> "NCodeTrainConfig":
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} must be a multiple of heads {self.heads}")
        return self

    def shape(self) -> ModelShape:
        return ModelShape(d_model=self.d_model, layers=self.layers, heads=self.heads, ff=self.ff,
                          max_len=self.max_len, bins=self.bins, max_history=self.max_history)


RESUMABLE = frozenset({"steps", "checkpoint_every", "threads", "device", "out", "data"})


def make_ncode_config(**fields: object) -> NCodeTrainConfig:
    try:
        return NCodeTrainConfig(**fields)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"train option {where}: {err['msg']}") from None


@dataclass
class NCodeTrainResult(TrainRun):
    finished: bool = False


def read_steps(path: Path, shape: ModelShape) -> list[Step]:
    """Every step of an ncode-format JSONL file as arrays; one DataError names a bad line."""
    if not path.is_file():
        raise DataError(f"training data {path} does not exist; write it with: llmnas lmsearcher make-data "
                        f"--format ncode --out {path}")
    out: list[Step] = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                pool = rec["pool"]
                out.append(featurise([(str(c), float(s)) for c, s in rec["history"]], [str(c) for c, _ in pool],
                                     shape, [float(s) for _, s in pool], int(rec["label"])))
            except (ValueError, KeyError, TypeError) as exc:
                hint = " (a chat-format file? write ncode data with make-data --format ncode)" \
                    if '"messages"' in raw else ""
                raise DataError(f"{path}:{number} is not an ncode-format step{hint}: {exc}") from None
    if not out:
        raise DataError(f"training data {path} holds no steps")
    return out


def evaluate(model: Any, steps: list[Step], torch: Any, device: Any, batch: int = 64) -> dict[str, float]:
    """Mean pick loss, top-1 share and mean true rank of the pick (1 + strictly better) on ``steps``."""
    if not steps:
        return {}
    model.eval()
    loss = top1 = rank = 0.0
    import torch.nn.functional as F

    with torch.no_grad():
        for i in range(0, len(steps), batch):
            part = steps[i:i + batch]
            b = collate(part, torch, device)
            pick, _ = model(**b)
            logits = pool_logits(pick, b)
            loss += float(F.cross_entropy(logits, b["label"], reduction="sum"))
            chosen = logits.argmax(-1).cpu().numpy()
            for s, c in zip(part, chosen):
                scores = s.pool_scores
                picked = scores[int(c) - s.n_history]
                rank += 1 + int(np.sum(scores > picked))
                top1 += float(picked >= scores.max())
    model.train()
    n = len(steps)
    return {"loss": loss / n, "top1": top1 / n, "mean_rank": rank / n, "n": float(n)}


def train_ncode(cfg: NCodeTrainConfig, *, resume: bool = False, console: Any = None, progress: bool = True,
                stop_after: int | None = None, log: Callable[[str], None] | None = None) -> NCodeTrainResult:
    """Run (or resume) one training; ``stop_after`` stops (checkpointed) after that many steps."""
    say = log or (lambda msg: console.print(msg) if console is not None else None)
    out, data_path = Path(cfg.out), Path(cfg.data)
    data_sha = file_sha256(data_path) if data_path.is_file() else ""
    latest, saved = open_training(out, resume, cfg, data_sha, RESUMABLE)
    try:
        import torch
    except ImportError:
        raise ConfigError("training the NCode ranker needs torch: pip install 'llmnas[ncode]'") from None
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if cfg.device == "auto" else cfg.device))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda, but torch sees no CUDA GPU; use --device cpu or auto")
    shape = cfg.shape()
    began_read = time.perf_counter()
    steps_all = read_steps(data_path, shape)
    val, train_set = held_out_split(steps_all, cfg.seed, cfg.val_examples, cfg.data)
    say(f"{len(steps_all)} steps read in {time.perf_counter() - began_read:.1f} s: {len(train_set)} to train on, "
        f"{len(val)} held out")
    torch.manual_seed(cfg.seed)
    model = build_model(shape).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg.steps, cfg.warmup))
    state = begin_or_resume(
        out, latest, saved, cfg.steps, optimizer=optimizer, scheduler=scheduler, say=say,
        load_weights=lambda folder: model.load_state_dict(torch.load(folder / "model.pt", weights_only=True)),
        validate=(lambda: evaluate(model, val, torch, device)) if val else None,
        describe=lambda v: f"pick loss {v['loss']:.4f}, mean rank {v['mean_rank']:.2f}")

    def checkpoint(step: int) -> Path:
        meta = {**state.as_dict(), "config": cfg.model_dump(), "data_sha256": data_sha}
        return write_checkpoint(out, step, lambda folder: torch.save(model.state_dict(), folder / "model.pt"),
                                optimizer, scheduler, meta)

    n = len(train_set)

    def one_step(step: int) -> tuple[float, list[float], float]:
        batch = collate([train_set[example_at(step * cfg.batch + j, n, cfg.seed)] for j in range(cfg.batch)],
                        torch, device)
        loss, parts = losses(model, batch, cfg.bin_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lr = optimizer_step(optimizer, scheduler, model.parameters())
        return float(loss.detach()), [parts["pick"], parts["bins"]], lr

    run_steps(state, title="NCode ranker", total=cfg.steps, checkpoint_every=cfg.checkpoint_every,
              stop_at=cfg.steps if stop_after is None else min(cfg.steps, state.step + stop_after),
              one_step=one_step, checkpoint=checkpoint, console=console, progress=progress, say=say)
    result = NCodeTrainResult(out, state.step, state.losses, val_before=state.val_before, seconds=state.seconds)
    if state.step < cfg.steps:
        return result
    result.val_after = evaluate(model, val, torch, device) if val else {}
    if val:
        say(f"held-out after training: pick loss {result.val_after['loss']:.4f}, mean rank "
            f"{result.val_after['mean_rank']:.2f}, top-1 {result.val_after['top1']:.0%}")
    _finish(cfg, out, model, data_sha, result, state.rows, len(train_set), len(val), device)
    result.finished = True
    return result


def _finish(cfg: NCodeTrainConfig, out: Path, model: Any, data_sha: str, result: NCodeTrainResult,
            rows: list[list[float]], n_train: int, n_val: int, device: Any) -> None:
    from ...versions import versions as package_versions

    weights = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    np.savez_compressed(out / MODEL_FILE, **weights)
    model_sha = file_sha256(out / MODEL_FILE)
    meta = {"format": "llmnas-ncode-ranker-v1", "shape": cfg.shape().as_dict(), "file": MODEL_FILE,
            "sha256": model_sha, "data_sha256": data_sha,
            "params": int(sum(v.size for v in weights.values()))}
    (out / MODEL_META).write_text(json.dumps(meta, indent=1))
    with open(out / "loss.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "pick_loss", "bin_loss", "lr", "seconds"])
        writer.writerows(rows)
    try:
        vers = package_versions()
    except Exception:  # informative only
        vers = {}
    summary = {"config": cfg.model_dump(), "data_sha256": data_sha, "examples": {"train": n_train, "val": n_val},
               "steps": result.steps_done, "params": meta["params"], "loss_first": result.losses[0],
               "loss_last": result.losses[-1], "val_before": result.val_before, "val_after": result.val_after,
               "train_seconds": result.seconds, "device": str(device), "machine": platform.machine(),
               "model_sha256": model_sha, "versions": vers}
    (out / "train.json").write_text(json.dumps(summary, indent=1))
    from .ncode_card import render_ncode_card

    (out / "CARD.md").write_text(render_ncode_card(out))



