"""The model card of an NCode ranker training folder, written from its ``train.json`` and
``loss.csv`` (every figure in it is the run's own) plus, for a preset run, its commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .finetune.card import loss_curve


def render_ncode_card(out: Path, *, name: str = "", command: str = "", data_command: str = "",
                      sources: list[str] | None = None, held_out: list[str] | None = None) -> str:
    info: dict[str, Any] = json.loads((out / "train.json").read_text())
    with open(out / "loss.csv") as f:
        rows = list(csv.DictReader(f))
    cfg = info["config"]
    before, after = info.get("val_before") or {}, info.get("val_after") or {}
    lines = [f"# {name or out.name}", "",
             "An NCode ranker model (llmnas.strategies.lmsearcher.ncode_model), trained from scratch: given the evaluated "
             "NCodes of a search with their scores and a pool of candidate NCodes, it answers with the "
             "candidate it predicts is best (always one of the pool).", "",
             "## How it was made", ""]
    if command:
        lines += ["Training (one command; it writes the data below first):", "", "```bash", command, "```", ""]
    if data_command:
        lines += ["Data:", "", "```bash", data_command, "```", ""]
    if sources:
        lines += [f"* trained on: {', '.join(sources)}"]
    if held_out:
        lines += [f"* held out (never in the training data): {', '.join(held_out)}"]
    ex = info["examples"]
    lines += [
        f"* data sha256 `{info['data_sha256']}`; {ex['train']} training steps, {ex['val']} held out for validation",
        f"* transformer d_model {cfg['d_model']}, {cfg['layers']} layers, {cfg['heads']} heads, feed-forward "
        f"{cfg['ff']}, {cfg['bins']} score bins, at most {cfg['max_history']} history entries, NCodes up to "
        f"{cfg['max_len']} characters: {info['params']:,} parameters",
        f"* {info['steps']} optimiser steps x {cfg['batch']} steps per batch = {info['steps'] * cfg['batch']} "
        f"examples seen; AdamW lr {cfg['lr']}, weight decay {cfg['weight_decay']}, warm-up {cfg['warmup']}, "
        f"cosine to 10 %; score-bin loss weight {cfg['bin_weight']}; seed {cfg['seed']}",
        f"* {info['train_seconds']:.0f} s of training on `{info['device']}` ({info['machine']}); "
        f"model.npz sha256 `{info['model_sha256']}`",
        "", "## Training loss (pick cross-entropy + score-bin cross-entropy)", "",
        "| up to step | mean loss |", "|---|---|"]
    lines += [f"| {step} | {loss:.4f} |" for step, loss in loss_curve(rows)]
    if before and after:
        lines += ["", f"## Held-out validation ({int(after['n'])} steps of the same data recipe, never trained on)",
                  "", "| | pick loss | top-1 | mean true rank of the pick (1 = best) |", "|---|---|---|---|",
                  f"| untrained | {before['loss']:.4f} | {before['top1']:.1%} | {before['mean_rank']:.2f} |",
                  f"| trained | {after['loss']:.4f} | {after['top1']:.1%} | {after['mean_rank']:.2f} |"]
    return "\n".join(lines) + "\n"
