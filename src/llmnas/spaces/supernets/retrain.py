"""Stage 3: train a run's best subnet from scratch, report val/test accuracy, export it.

The output folder holds ``model.pt`` (TorchScript, frozen: only the subnet's weight slices,
input NCHW normalised as ``model.json`` says), ``model.json`` (architecture, space, network and
data config, normalisation, accuracies, params, FLOPs, seeds, timings) and ``retrain.ckpt``
(the training checkpoint, for ``--resume``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from ...errors import ConfigError
from ...runner import summarize
from ...store import Store
from ...versions import versions
from .core import data_of, load_checkpoint


def best_of_run(run: Path, study: str | None) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """(run config, best eligible trial, study info) of a finished supernet run."""
    with Store(run, create=False) as st:
        info = st.get_study(study)
        summary = summarize(st, info)
    cfg = info.config.get("run", info.config)
    space = cfg.get("space")
    opts = cfg.get("space_options") or {}
    if "supernet" not in opts:
        raise ConfigError(f"study {info.name!r} in {run} did not search a supernet space (space {space!r}); "
                          f"retrain applies to spos, ofa and autoformer runs")
    if summary.best is None:
        raise ConfigError(f"study {info.name!r} in {run} has no eligible evaluated architecture to retrain")
    return cfg, summary.best, {"name": info.name}


class _Frozen:
    """Wraps a supernet and a fixed architecture as a plain ``forward(x)`` module for export."""

    @staticmethod
    def make(net: Any, arch: dict[str, Any]) -> Any:
        from torch import nn

        class Subnet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, x):  # type: ignore[no-untyped-def]
                return self.net(x, arch)

        return Subnet()


def export_torchscript(net: Any, arch: dict[str, Any], example: Any, path: Path) -> int:
    """Trace the subnet, freeze it (constant-folds the weight slices), save; returns its weight count."""
    import torch

    import warnings

    module = _Frozen.make(net, arch).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shape checks become constants: the export is for this input size
        traced = torch.jit.trace(module, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
    frozen.save(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(path))
    with torch.no_grad():
        err = float((loaded(example) - module(example)).abs().max())
    if err > 1e-3:
        raise RuntimeError(f"exported model disagrees with the trained one (max abs diff {err:g})")
    return frozen_weight_count(frozen)


def frozen_weight_count(module: Any) -> int:
    """Numbers held by a frozen TorchScript module (its tensor constants plus any left parameters)."""
    import torch

    n = sum(int(t.numel()) for t in module.state_dict().values())
    for node in module.graph.findAllNodes("prim::Constant"):
        out = node.output()
        if isinstance(out.type(), torch._C.TensorType):
            value = out.toIValue()
            if isinstance(value, torch.Tensor):
                n += int(value.numel())
    return n


def retrain(run: Path, study: str | None, steps: int | None, epochs: float, batch_size: int, seed: int,
            out: Path | None, resume: bool, device: str = "auto",
            on_step: Callable[[int, int, float], None] | None = None) -> dict[str, Any]:
    import torch

    from .nets import subnet_cost
    from .stage1 import train_standalone
    from .training import accuracy, save_atomic

    cfg, best, info = best_of_run(run, study)
    opts = cfg["space_options"]
    ckpt = load_checkpoint(opts["supernet"], cfg["space"])
    data = data_of(ckpt, opts.get("data_dir"))
    if steps is None:
        if epochs <= 0:
            raise ConfigError("--epochs must be positive")
        steps = max(1, math.ceil(epochs * (len(data.train_y) // batch_size)))
    out = out or run.with_name(f"{run.stem}-{info['name']}-retrain")
    ck_path = out / "retrain.ckpt"
    prev = None
    if ck_path.exists():
        if not resume:
            raise ConfigError(f"{out} already holds a retrain; pass --resume to continue it or choose another --out")
        prev = torch.load(ck_path, map_location="cpu", weights_only=True)
        if prev.get("arch") != best.arch:
            raise ConfigError(f"{ck_path} retrains another architecture; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    arch = dict(best.arch)
    cb = None if on_step is None else (lambda step, loss: on_step(step, steps, loss))
    if on_step is not None:
        on_step(0 if prev is None else int(prev["step"]), steps, float("nan"))
    trainer = train_standalone(ckpt, arch, data, steps, batch_size, seed, device=device, checkpoint=ck_path,
                               on_step=cb, resume=prev)
    net = trainer.net.eval()
    dev = trainer.device
    val = accuracy(net, arch, torch.from_numpy(data.val_x).to(dev), torch.from_numpy(data.val_y).to(dev))
    test = accuracy(net, arch, torch.from_numpy(data.test_x).to(dev), torch.from_numpy(data.test_y).to(dev))
    cost = subnet_cost(net, arch, data.channels, data.image_size)
    net_cpu = net.to("cpu")
    example = torch.from_numpy(data.val_x[:2])
    model_file = out / "model.pt"
    exported = export_torchscript(net_cpu, arch, example, model_file)
    res = {
        "arch": arch, "space": cfg["space"], "run": str(run), "study": info["name"], "trial": best.seq,
        "search_val_acc": best.signal, "val_acc": val, "test_acc": test, "params": cost.params, "flops": cost.flops,
        "exported_weights": exported, "steps": trainer.step, "batch_size": batch_size, "seed": seed,
        "train_seconds": trainer.seconds, "net": ckpt["net"], "data": {**ckpt["data"], **data.describe()},
        "input": {"shape": [None, data.channels, data.image_size, data.image_size], "mean": data.mean, "std": data.std,
                  "scale": "pixels / 255, then (x - mean) / std per channel"},
        "supernet": opts["supernet"], "train": trainer.settings.model_dump(), "versions": versions(),
        "model_file": str(model_file), "json_file": str(out / "model.json"),
    }
    (out / "model.json").write_text(json.dumps(res, indent=1))
    save_atomic(trainer.state(), ck_path)
    return res
