"""The step loop both LM-Searcher trainers run (the LoRA fine-tuning in ``finetune/train.py`` and
the NCode model in ``ncode_train.py``): opening a training folder (new or ``--resume``), the
per-step bookkeeping (losses, a CSV row, timings, the loss bar), a checkpoint every
``checkpoint_every`` steps and at the end, and one on Ctrl-C. What a step computes is the
trainer's; the checkpoint files are :mod:`.checkpoints`'.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

from ...errors import ConfigError, DataError
from .checkpoints import check_resume, latest_checkpoint, loss_progress, restore_training_state


@dataclass
class TrainRun:
    """What a finished (or stopped) training produced; each trainer adds its own outputs."""

    out: Path
    steps_done: int
    losses: list[float]
    val_before: dict[str, float] = field(default_factory=dict)
    val_after: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def held_out_split(items: list[T], seed: int, val_examples: int, source: Any) -> tuple[list[T], list[T]]:
    """(held-out, training) items: a seeded shuffle, at most ``val_examples`` and a fifth held out."""
    import numpy as np

    order = np.random.default_rng([seed, 7]).permutation(len(items))
    n_val = min(val_examples, len(items) // 5)
    val, train = [items[i] for i in order[:n_val]], [items[i] for i in order[n_val:]]
    if not train:
        raise DataError(f"{source} has too few examples to train on ({len(items)})")
    return val, train


def example_at(position: int, n: int, seed: int) -> int:
    """Index of the example used at global micro-step ``position`` (a permutation per epoch)."""
    import numpy as np

    epoch, offset = divmod(position, n)
    return int(np.random.default_rng([seed, epoch]).permutation(n)[offset])


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over ``warmup * total`` steps, then cosine decay to 10 %."""
    warm = int(round(warmup * total))
    if step < warm:
        return (step + 1) / warm
    span = max(1, total - warm)
    progress = min(1.0, (step - warm) / span)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def open_training(out: Path, resume: bool, cfg: Any, data_sha: str,
                  resumable: frozenset[str]) -> tuple[Path | None, dict[str, Any] | None]:
    """(newest checkpoint folder, its state) for ``--resume``, (None, None) for a new run; a
    clear error when there is nothing to resume, or when a new run would write over one."""
    latest = latest_checkpoint(out)
    if resume and latest is None:
        raise ConfigError(f"nothing to resume in {out}: it holds no checkpoint; drop --resume to start a new run")
    if not resume and (latest is not None or (out / "train.json").is_file()):
        raise ConfigError(f"{out} already holds a training run; pass --resume to continue it, or choose another --out")
    if not resume:
        return None, None
    assert latest is not None
    saved = json.loads((latest / "state.json").read_text())
    check_resume(cfg, saved, data_sha, resumable)
    return latest, saved


@dataclass
class TrainState:
    """What a checkpoint's ``state.json`` carries of the loop (the trainer adds its config and data)."""

    step: int = 0
    losses: list[float] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)  # step, loss, trainer's columns, lr, seconds
    seconds: float = 0.0
    val_before: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> "TrainState":
        return cls(int(saved["step"]), list(saved["losses"]), list(saved["rows"]), float(saved["seconds"]),
                   dict(saved.get("val_before", {})))

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "losses": self.losses, "rows": self.rows, "seconds": self.seconds,
                "val_before": self.val_before}


def begin_or_resume(out: Path, latest: Path | None, saved: dict[str, Any] | None, total: int, *,
                    load_weights: Callable[[Path], None], optimizer: Any, scheduler: Any,
                    validate: Callable[[], dict[str, float]] | None, describe: Callable[[dict[str, float]], str],
                    say: Callable[[str], None]) -> TrainState:
    """The loop's state: from the checkpoint (weights, optimizer, schedule, RNGs) when resuming;
    else a new folder and the held-out figures before training (``validate``, None: no held-out set)."""
    if saved is not None and latest is not None:
        load_weights(latest)
        restore_training_state(latest, optimizer, scheduler)
        state = TrainState.from_saved(saved)
        say(f"resumed from {latest} (step {state.step} of {total})")
        return state
    out.mkdir(parents=True, exist_ok=True)
    state = TrainState()
    if validate is not None:
        state.val_before = validate()
        say(f"held-out before training: {describe(state.val_before)}")
    return state


def optimizer_step(optimizer: Any, scheduler: Any, params: Any) -> float:
    """Clip the gradients to norm 1, step the optimizer and the schedule; the lr the step used."""
    import torch

    torch.nn.utils.clip_grad_norm_(params, 1.0)
    lr = float(optimizer.param_groups[0]["lr"])
    optimizer.step()
    scheduler.step()
    return lr


def run_steps(state: TrainState, *, title: str, total: int, stop_at: int, checkpoint_every: int,
              one_step: Callable[[int], tuple[float, list[float], float]], checkpoint: Callable[[int], Path],
              console: Any, progress: bool, say: Callable[[str], None]) -> None:
    """Steps ``state.step`` .. ``stop_at`` - 1. ``one_step(step)`` trains one step and returns
    (loss, the trainer's extra CSV columns, lr); ``checkpoint(step)`` writes one (reading
    ``state``). Without the bar, a line every checkpoint; Ctrl-C saves the steps done, then re-raises."""
    start = state.step
    bar = loss_progress(console, progress)
    try:
        with bar:
            task = bar.add_task(title, total=total, completed=start,
                                loss=state.losses[-1] if state.losses else math.nan)
            while state.step < stop_at:
                began = time.perf_counter()
                loss, extra, lr = one_step(state.step)
                seconds = time.perf_counter() - began
                state.step += 1
                state.seconds += seconds
                state.losses.append(loss)
                state.rows.append([state.step, loss, *extra, lr, seconds])
                bar.update(task, completed=state.step, loss=loss)
                if state.step % checkpoint_every == 0 or state.step == stop_at:
                    checkpoint(state.step)
                    if not progress:
                        window = state.losses[-checkpoint_every:]
                        say(f"step {state.step}/{total}: mean loss {sum(window) / len(window):.4f} over the last "
                            f"{len(window)} steps, {state.seconds:.0f} s")
    except KeyboardInterrupt:
        if state.step > start:
            say(f"interrupted: step {state.step} saved in {checkpoint(state.step)}; continue with --resume")
        raise
