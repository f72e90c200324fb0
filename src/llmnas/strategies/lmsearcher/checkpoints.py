"""What both LM-Searcher trainers (the LoRA fine-tuning in ``finetune/train.py`` and the NCode
model in ``ncode_train.py``) share: step checkpoints written atomically, exact resume (weights,
optimizer, scheduler and every RNG), the resume check and the loss progress bar.

A training folder holds ``checkpoints/step-NNNNNN/`` with the model's weights (the trainer's own
file), ``optimizer.pt``, ``scheduler.pt``, ``rng.pt`` and ``state.json`` (written last: a folder
without it is incomplete and ignored); the last :data:`KEEP` are kept.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import ConfigError

FOLDER = "checkpoints"
KEEP = 2


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint folder under ``out``, or None."""
    folder = out / FOLDER
    if not folder.is_dir():
        return None
    done = sorted(p for p in folder.glob("step-*") if (p / "state.json").is_file())
    return done[-1] if done else None


def write_checkpoint(out: Path, step: int, save_weights: Callable[[Path], None], optimizer: Any, scheduler: Any,
                     state: dict[str, Any]) -> Path:
    """Write into a temporary folder and rename it: a crash never leaves half a checkpoint.
    ``save_weights(folder)`` writes the model's own file(s) into the folder."""
    import torch

    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    final, tmp = folder / f"step-{step:06d}", folder / f".step-{step:06d}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_weights(tmp)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(get_rng_state(), tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps(state))  # written last: marks it complete
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(folder.glob("step-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def restore_training_state(latest: Path, optimizer: Any, scheduler: Any) -> None:
    """Load the optimizer, the scheduler and every RNG of a checkpoint (the weights are the trainer's)."""
    import torch

    optimizer.load_state_dict(torch.load(latest / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(latest / "scheduler.pt", weights_only=True))
    set_rng_state(torch.load(latest / "rng.pt", weights_only=True))


def check_resume(cfg: Any, saved: dict[str, Any], data_sha: str, resumable: frozenset[str]) -> None:
    """``--resume`` continues the same training: only the ``resumable`` settings may change."""
    before = saved["config"]
    for key, value in cfg.model_dump().items():
        if key not in resumable and before.get(key) != value:
            raise ConfigError(f"--resume: {key} was {before.get(key)!r} in the checkpoint, now {value!r}; "
                              "resume with the same settings")
    if saved["data_sha256"] != data_sha:
        raise ConfigError(f"--resume: the data file {cfg.data} changed since the checkpoint (sha256 differs); "
                          "resume with the same data")
    if int(saved["step"]) > cfg.steps:
        raise ConfigError(f"--resume: the checkpoint is at step {saved['step']}, past --steps {cfg.steps}; raise --steps")


def get_rng_state() -> dict[str, Any]:
    """torch, Python and NumPy RNG states as plain lists and tensors (loadable with weights_only=True)."""
    import random

    import numpy as np
    import torch

    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": [version, list(internal), gauss],
             "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(cached)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import random

    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def loss_progress(console: Any, enabled: bool) -> Any:
    """The trainers' progress bar: steps done of all, the running loss, elapsed and remaining time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, disable=not enabled)
