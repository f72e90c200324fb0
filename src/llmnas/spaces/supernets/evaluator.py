"""Stage 2: score a subnet with weights inherited from the trained supernet.

For each architecture: reset the batch-norm statistics and re-estimate them on a fixed set of
training batches (``recalib_batches`` x ``recalib_batch_size``; the same batches for every
subnet), then measure top-1 accuracy on the first ``val_images`` images of the validation split.
Results and costs are cached by canonical key. ``report=test`` also measures the test set (off
by default: the test set is kept for ``llmnas retrain``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...evaluators.base import Evaluator, Result
from ...types import Arch
from .core import build_net, data_of, load_checkpoint, make_space_from
from .spaces import ElasticSpace

COSTS = ("flops", "params", "flops_M", "params_M")


class SupernetEvaluator(Evaluator):
    higher_is_better = True

    def __init__(self, checkpoint: str | Path, *, space: str | None = None, data_dir: str | None = None,
                 val_images: int = 2000, recalib_batches: int = 8, recalib_batch_size: int = 128,
                 batch_size: int = 500, report: str = "val", threads: int = 1, device: str = "auto",
                 ckpt: dict[str, Any] | None = None) -> None:
        import torch

        from .training import pick_device, set_threads

        if report not in ("val", "test"):
            raise ConfigError(f"report must be 'val' or 'test', not {report!r}")
        if val_images < 0 or recalib_batches < 0 or recalib_batch_size < 1 or batch_size < 1:
            raise ConfigError("val_images and recalib_batches must be >= 0, batch sizes >= 1")
        set_threads(threads)
        self.path = Path(checkpoint)
        self.ckpt = ckpt if ckpt is not None else load_checkpoint(self.path, space)
        if not self.ckpt.get("done"):
            step, total = self.ckpt["step"], self.ckpt["train"]["steps"]
            raise ConfigError(f"supernet {self.path} stopped at step {step} of {total}; finish it with "
                              f"`llmnas supernet train --resume --out {self.path}`")
        self.space: ElasticSpace = make_space_from(self.ckpt)
        self.data = data_of(self.ckpt, data_dir)
        self.device = pick_device(device)
        self.net = build_net(self.ckpt, self.data).to(self.device)
        self.net.eval()
        n_val = len(self.data.val_y) if val_images == 0 else min(val_images, len(self.data.val_y))
        self.val_x = torch.from_numpy(self.data.val_x[:n_val]).to(self.device)
        self.val_y = torch.from_numpy(self.data.val_y[:n_val]).to(self.device)
        rng = np.random.default_rng([self.ckpt["train"]["seed"], 2024])
        idx = rng.permutation(len(self.data.train_y))[: recalib_batches * recalib_batch_size]
        self.recal = [torch.from_numpy(self.data.train_x[idx[i : i + recalib_batch_size]]).to(self.device)
                      for i in range(0, len(idx), recalib_batch_size)]
        self.batch_size, self.report = batch_size, report
        self.signal_name, self.report_name = "val_acc", ("test_acc" if report == "test" else "val_acc")
        self.settings = {"checkpoint": str(self.path), "val_images": n_val, "recalib_batches": recalib_batches,
                         "recalib_batch_size": recalib_batch_size, "report": report}
        self._results: dict[str, Result] = {}
        self._costs: dict[str, dict[str, float]] = {}

    # ----- costs ----------------------------------------------------------------------------
    def cost_metrics(self) -> list[str]:
        return list(COSTS)

    def costs(self, arch: Arch) -> dict[str, float]:
        from .nets import subnet_cost

        key = self.space.canonical_key(arch)
        if key not in self._costs:
            c = subnet_cost(self.net, arch, self.data.channels, self.data.image_size)
            self._costs[key] = {"flops": float(c.flops), "params": float(c.params),
                                "flops_M": c.flops / 1e6, "params_M": c.params / 1e6}
        return self._costs[key]

    def measure(self, arch: Arch, metric: str) -> float:
        if metric not in COSTS:
            raise ConfigError(self.unknown_metric(metric))
        return self.costs(arch)[metric]

    # ----- evaluation -----------------------------------------------------------------------------
    def evaluate(self, arch: Arch) -> Result:
        import torch

        from .training import accuracy, recalibrate_bn

        key = self.space.canonical_key(arch)
        if key in self._results:
            return self._results[key]
        t0 = time.perf_counter()
        recalibrate_bn(self.net, arch, self.recal)
        val = accuracy(self.net, arch, self.val_x, self.val_y, self.batch_size)
        metrics = {"val_acc": val, **self.costs(arch)}
        report = val
        if self.report == "test":
            tx = torch.from_numpy(self.data.test_x).to(self.device)
            ty = torch.from_numpy(self.data.test_y).to(self.device)
            report = metrics["test_acc"] = accuracy(self.net, arch, tx, ty, self.batch_size)
        metrics["eval_s"] = time.perf_counter() - t0
        res = Result(signal=val, report=report, metrics=metrics)
        self._results[key] = res
        return res

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.settings, "dataset": self.data.name, "space": self.space.name,
                "net": self.ckpt["net"], "supernet_seed": self.ckpt["train"]["seed"]}
