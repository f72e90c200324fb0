"""One training loop for supernets (stage 1), stand-alone subnets and retraining (stage 3).

Batches and sampled subnets are functions of (seed, step), so a run resumed from a checkpoint
sees exactly the batches and subnets of an uninterrupted one. Checkpoints are written
atomically every ``checkpoint_every`` steps, at the end, and when the run is interrupted.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ...datasets import DataSplits
from ...errors import ConfigError
from ...types import Arch
from .ops import batch_norms

FORMAT = "llmnas-supernet/1"


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1000, ge=1, description="optimizer steps")
    batch_size: int = Field(128, ge=2)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(4e-5, ge=0)
    warmup_steps: int = Field(0, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    grad_clip: Optional[float] = Field(5.0, gt=0)
    sampling: Literal["uniform", "progressive", "sandwich", "fixed"] = "uniform"
    sandwich_random: int = Field(1, ge=0, description="random subnets per step besides the largest and smallest")
    distill: bool = Field(True, description="sandwich: smaller subnets learn from the largest one's predictions")
    ps_phases: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75],
                                   description="progressive shrinking: step fractions where kernel, depth, expand become elastic")
    checkpoint_every: int = Field(200, ge=1)
    seed: int = Field(0, ge=0)
    threads: int = Field(1, ge=0, description="torch CPU threads (1 by default: on a shared or small CPU more threads often run slower); 0 = min(2, cores)")
    device: str = Field("auto", description="auto (GPU when present), cpu, cuda, cuda:1 ...")


def pick_device(name: str) -> torch.device:
    """The device to train on; on a GPU, cuDNN is set to deterministic kernels (same seed, same weights)."""
    if torch.cuda.is_available():
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r} (auto, cpu, cuda, cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but no CUDA GPU is visible; use --option device=cpu")
    return dev


def set_threads(n: int) -> None:
    torch.set_num_threads(n if n > 0 else max(1, min(2, os.cpu_count() or 1)))


def batch_indices(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Indices of the step-th batch: epochs are seeded permutations, the tail is dropped."""
    per_epoch = max(1, n // batch_size)
    epoch, i = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch, 7]).permutation(n)
    return perm[i * batch_size : (i + 1) * batch_size]


def step_rng(seed: int, step: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, 11])


def lr_factor(step: int, settings: TrainSettings) -> float:
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    span = max(1, settings.steps - settings.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - settings.warmup_steps) / span)))


def make_optimizer(net: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(("cls", "pos")) else decay).append(p)
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if s.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=s.lr, momentum=s.momentum, nesterov=s.momentum > 0)
    return torch.optim.AdamW(groups, lr=s.lr)


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Trainer:
    """Trains ``net`` on ``data.train`` with the subnets ``archs(step)`` gives for each step."""

    def __init__(self, net: nn.Module, data: DataSplits, settings: TrainSettings,
                 archs: Callable[[int], list[Arch]], checkpoint: Path | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.settings, self.archs, self.checkpoint = settings, archs, checkpoint
        self.meta = dict(meta or {})
        self.device = pick_device(settings.device)
        self.net = net.to(self.device)
        self.data = data
        self.x = torch.from_numpy(data.train_x)
        self.y = torch.from_numpy(data.train_y)
        self.opt = make_optimizer(self.net, settings)
        self.step = 0
        self.seconds = 0.0
        self.log: list[dict[str, float]] = []
        self.done = False

    # ----- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {**self.meta, "format": FORMAT, "train": self.settings.model_dump(), "step": self.step,
                "done": self.done, "seconds": self.seconds, "log": self.log,
                "model": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
                "optimizer": self.opt.state_dict()}

    def load(self, ckpt: dict[str, Any]) -> None:
        self.net.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.step, self.seconds, self.log, self.done = int(ckpt["step"]), float(ckpt["seconds"]), list(ckpt["log"]), bool(ckpt["done"])

    def save(self) -> None:
        if self.checkpoint is not None:
            save_atomic(self.state(), self.checkpoint)

    # ----- the loop -----------------------------------------------------------------------------
    def train_step(self) -> float:
        s = self.settings
        idx = torch.from_numpy(batch_indices(len(self.y), s.batch_size, s.seed, self.step))
        x, y = self.x[idx].to(self.device, non_blocking=True), self.y[idx].to(self.device, non_blocking=True)
        for g in self.opt.param_groups:
            g["lr"] = s.lr * lr_factor(self.step, s)
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        archs = self.archs(self.step)
        total = 0.0
        teacher = None
        for i, arch in enumerate(archs):
            logits = self.net(x, arch)
            if teacher is not None:
                loss = -(teacher * F.log_softmax(logits, 1)).sum(1).mean()
            else:
                loss = F.cross_entropy(logits, y, label_smoothing=s.label_smoothing)
            if i == 0 and s.sampling == "sandwich" and s.distill and len(archs) > 1:
                teacher = F.softmax(logits.detach(), 1)
            (loss / len(archs)).backward()
            total += float(loss.detach()) / len(archs)
        if s.grad_clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), s.grad_clip)
        self.opt.step()
        return total

    def run(self, on_step: Callable[[int, float], None] | None = None) -> None:
        s = self.settings
        recent: list[float] = []
        try:
            while self.step < s.steps:
                t0 = time.perf_counter()
                loss = self.train_step()
                self.step += 1
                self.seconds += time.perf_counter() - t0
                if not math.isfinite(loss):
                    from ...errors import EvaluationError

                    raise EvaluationError(f"training diverged at step {self.step} (loss {loss}); lower --option lr=...")
                recent.append(loss)
                if self.step % 50 == 0 or self.step == s.steps:
                    self.log.append({"step": self.step, "loss": float(np.mean(recent)), "seconds": round(self.seconds, 2)})
                    recent = []
                if on_step is not None:
                    on_step(self.step, loss)
                if self.step % s.checkpoint_every == 0 and self.step < s.steps:
                    self.save()
        except KeyboardInterrupt:
            self.save()
            raise
        self.done = True
        self.save()


# ----- evaluation with (inherited) weights ------------------------------------------------------
@torch.no_grad()
def recalibrate_bn(net: nn.Module, arch: Arch, batches: list[torch.Tensor]) -> int:
    """Reset batch-norm statistics and re-estimate them for ``arch`` on ``batches``; returns #BN layers."""
    bns = batch_norms(net)
    if not bns or not batches:
        return len(bns)
    for bn in bns:
        bn.reset_statistics(cumulative=True)
    net.train()
    for xb in batches:
        net(xb, arch)
    for bn in bns:
        bn.momentum = 0.1
    return len(bns)


@torch.no_grad()
def accuracy(net: nn.Module, arch: Arch, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy in percent."""
    net.eval()
    correct = 0
    for i in range(0, len(y), batch_size):
        logits = net(x[i : i + batch_size], arch)
        correct += int((logits.argmax(1) == y[i : i + batch_size]).sum())
    return 100.0 * correct / max(1, len(y))
