"""A model card (Markdown) for a training output folder, written from its ``train.json`` and
``loss.csv`` so that every figure in it is the run's own."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def loss_curve(rows: list[dict[str, str]], points: int = 10) -> list[tuple[int, float]]:
    """Mean training loss over ``points`` equal windows of steps: (last step, mean loss)."""
    if not rows:
        return []
    size = max(1, len(rows) // points)
    out = []
    for start in range(0, len(rows), size):
        window = rows[start:start + size]
        out.append((int(window[-1]["step"]), sum(float(r["loss"]) for r in window) / len(window)))
    return out


def render_card(out: Path, *, name: str = "", command: str = "", data_command: str = "") -> str:
    """The card of the run in ``out``; ``command`` / ``data_command`` are what produced it."""
    info: dict[str, Any] = json.loads((out / "train.json").read_text())
    with open(out / "loss.csv") as f:
        rows = list(csv.DictReader(f))
    cfg, base = info["config"], info["base"]
    before, after = info.get("val_before") or {}, info.get("val_after") or {}
    lines = [f"# {name or out.name}", "",
             f"A LoRA adapter for `{base['name']}` (sha256 `{base['sha256']}`) that ranks "
             "LM-Searcher candidates: given evaluated NCodes with normalised scores and a pool "
             "of candidates, it answers with the candidate it predicts is best.", "",
             "## How it was made", ""]
    if data_command:
        lines += ["Data:", "", "```bash", data_command, "```", ""]
    if command:
        lines += ["Training (one command; it also writes the data above):", "", "```bash",
                  command, "```", ""]
    ex = info["examples"]
    lines += [
        f"* data sha256 `{info['data_sha256']}`; {ex['train']} training examples available, "
        f"{ex['val']} held out for validation, {ex['left_out_too_long']} left out as longer "
        f"than {cfg['max_tokens']} tokens",
        f"* {info['steps']} optimiser steps x {cfg['grad_accum']} examples = "
        f"{info['steps'] * cfg['grad_accum']} examples seen; AdamW lr {cfg['lr']}, warm-up "
        f"{cfg['warmup']}, cosine to 10 %; seed {cfg['seed']}",
        f"* LoRA r={cfg['rank']}, alpha={cfg['alpha']}, dropout {cfg['dropout']}, on "
        f"{', '.join(cfg['targets'])} of "
        f"{'the last ' + str(cfg['last_layers']) if cfg['last_layers'] else 'all'} layers "
        f"({info['trainable_params']:,} trainable parameters)",
        f"* {info['train_seconds']:.0f} s of training on `{info['device']}` "
        f"({info['machine']}); adapter.gguf sha256 `{info['adapter_gguf_sha256']}`",
        "",
        "## Training loss (answer tokens, nats per token)", "",
        "| up to step | mean loss |", "|---|---|"]
    lines += [f"| {step} | {loss:.4f} |" for step, loss in loss_curve(rows)]
    if before and after:
        lines += ["", f"## Held-out validation ({int(after['n'])} examples of the same data "
                  "recipe, never trained on)", "",
                  "| | answer loss | greedy answer = best candidate |", "|---|---|---|",
                  f"| base model | {before['loss']:.4f} | {before['exact']:.1%} |",
                  f"| fine-tuned | {after['loss']:.4f} | {after['exact']:.1%} |"]
    return "\n".join(lines) + "\n"
