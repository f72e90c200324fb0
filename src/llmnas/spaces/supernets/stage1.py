"""Stage 1: train a supernet (SPOS uniform paths, OFA progressive shrinking, AutoFormer sandwich)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ...datasets import DataSplits, load_splits
from ...errors import ConfigError
from ...types import Arch
from ...versions import versions as _versions
from .core import load_checkpoint, net_config, sampler, split_options
from .spaces import ElasticSpace, largest, make_space, smallest


@dataclass
class TrainOutcome:
    path: Path
    steps: int
    seconds: float
    resumed_from: int
    final_loss: float | None
    largest_acc: float
    smallest_acc: float
    params_range: tuple[int, int]
    flops_range: tuple[int, int]


def prepare(space: str, preset: str, options: dict[str, Any], out: Path, resume: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(meta, checkpoint to resume or None). A fresh run refuses to overwrite an existing file."""
    if out.exists() and not resume:
        raise ConfigError(f"{out} exists; pass --resume to continue it or choose another --out")
    if resume and out.exists():
        ckpt = load_checkpoint(out)
        if options:
            extra = {k: v for k, v in options.items() if k not in ("steps", "threads", "device", "checkpoint_every")}
            if extra:
                raise ConfigError(f"--resume continues {out} with its stored settings; only steps, threads, device "
                                  f"and checkpoint_every may change (got {', '.join(sorted(extra))})")
        meta = {k: ckpt[k] for k in ("space", "net", "data", "preset", "versions")}
        return meta, ckpt
    cfg, train, data = split_options(space, preset, options)
    from .training import TrainSettings

    TrainSettings.model_validate(train)  # fail early on bad training options
    meta = {"space": space, "preset": preset, "net": cfg.model_dump(), "data": data, "train_request": train,
            "versions": _versions()}
    return meta, None


def train_supernet(space: str, out: Path, preset: str = "small", options: dict[str, Any] | None = None,
                   resume: bool = False, on_step: Callable[[int, int, float], None] | None = None,
                   data: DataSplits | None = None) -> TrainOutcome:
    """Train (or continue) a supernet and write its checkpoint to ``out``."""
    import torch

    from .nets import build_supernet, subnet_cost
    from .training import Trainer, TrainSettings, accuracy, recalibrate_bn, set_threads

    options = dict(options or {})
    meta, ckpt = prepare(space, preset, options, out, resume)
    if ckpt is not None:
        settings = TrainSettings.model_validate({**ckpt["train"], **{k: v for k, v in options.items()
                                                                     if k in ("steps", "threads", "device", "checkpoint_every")}})
        space = ckpt["space"]
    else:
        settings = TrainSettings.model_validate(meta.pop("train_request"))
    set_threads(settings.threads)
    d = meta["data"]
    data = data or load_splits(d["dataset"], d.get("data_dir"), d["val_size"], d["split_seed"], d.get("train_limit"))
    cfg = net_config(meta)
    sp: ElasticSpace = make_space(cfg)
    torch.manual_seed(settings.seed)
    net = build_supernet(cfg, data.channels, data.num_classes, data.image_size)
    archs = sampler(sp, settings.sampling, settings.steps, settings.seed, settings.ps_phases, settings.sandwich_random)
    trainer = Trainer(net, data, settings, archs, out, meta)
    resumed_from = 0
    if ckpt is not None:
        trainer.load(ckpt)
        trainer.done = trainer.step >= settings.steps
        resumed_from = trainer.step
    if on_step is not None:
        on_step(trainer.step, settings.steps, float("nan"))
    trainer.run(None if on_step is None else (lambda step, loss: on_step(step, settings.steps, loss)))
    # a quick look at the two extremes with inherited weights (BN recalibrated), on 2000 val images
    x = torch.from_numpy(data.val_x[:2000]).to(trainer.device)
    y = torch.from_numpy(data.val_y[:2000]).to(trainer.device)
    recal = [torch.from_numpy(data.train_x[i : i + 128]).to(trainer.device) for i in range(0, 1024, 128)]
    accs = []
    costs = []
    for arch in (largest(sp), smallest(sp)):
        recalibrate_bn(trainer.net, arch, recal)
        accs.append(accuracy(trainer.net, arch, x, y))
        costs.append(subnet_cost(trainer.net, arch, data.channels, data.image_size))
    loss = trainer.log[-1]["loss"] if trainer.log else None
    return TrainOutcome(out, trainer.step, trainer.seconds, resumed_from, loss, accs[0], accs[1],
                        (costs[1].params, costs[0].params), (costs[1].flops, costs[0].flops))


def train_standalone(ckpt_meta: dict[str, Any], arch: Arch, data: DataSplits, steps: int, batch_size: int, seed: int,
                     threads: int = 0, device: str = "auto", lr: float | None = None, checkpoint: Path | None = None,
                     on_step: Callable[[int, float], None] | None = None, resume: dict[str, Any] | None = None) -> Any:
    """Train ``arch`` from scratch (fresh weights, the supernet's recipe, fixed path); returns the Trainer."""
    import torch

    from .nets import build_supernet
    from .training import Trainer, TrainSettings, set_threads

    base = {k: v for k, v in ckpt_meta["train"].items() if k not in ("sampling", "steps", "batch_size", "seed",
                                                                       "threads", "device", "checkpoint_every")}
    warm = min(base.get("warmup_steps", 0), steps // 10)
    settings = TrainSettings.model_validate({**base, "sampling": "fixed", "steps": steps, "batch_size": batch_size,
                                             "seed": seed, "threads": threads, "device": device,
                                             "warmup_steps": warm, "checkpoint_every": max(1, min(500, steps)),
                                             **({"lr": lr} if lr else {})})
    set_threads(settings.threads)
    torch.manual_seed(seed)
    cfg = net_config(ckpt_meta)
    net = build_supernet(cfg, data.channels, data.num_classes, data.image_size)
    meta = {k: ckpt_meta[k] for k in ("space", "net", "data") if k in ckpt_meta}
    trainer = Trainer(net, data, settings, lambda step: [arch], checkpoint, {**meta, "kind": "subnet", "arch": arch})
    if resume is not None:
        trainer.load(resume)
    trainer.run(on_step)
    return trainer


__all__ = ["TrainOutcome", "prepare", "train_supernet", "train_standalone"]
