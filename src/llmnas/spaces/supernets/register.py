"""Registers the supernet spaces in llmnas.spaces.registry.SPACES (no torch import at module level).

``llmnas search --space spos --space-option supernet=runs/spos.pt`` (also ``ofa``,
``autoformer``). Space options: ``supernet`` (the stage-1 checkpoint, required), ``data_dir``,
``val_images``, ``recalib_batches``, ``recalib_batch_size``, ``batch_size``, ``report``
(val|test), ``threads``, ``device``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ...config import RunConfig
from ...errors import ConfigError
from ..registry import SPACES, Problem

OPTIONS = ("supernet", "data_dir", "val_images", "recalib_batches", "recalib_batch_size", "batch_size", "report",
           "threads", "device")
NAMES = ("spos", "ofa", "autoformer")


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise ConfigError("the supernet spaces need PyTorch; install it with `pip install 'llmnas[supernet]'`")


def build(name: str, cfg: RunConfig) -> Problem:
    require_torch()
    from .core import load_checkpoint, supernet_command
    from .evaluator import SupernetEvaluator

    opts: dict[str, Any] = dict(cfg.space_options)
    unknown = set(opts) - set(OPTIONS)
    if unknown:
        raise ConfigError(f"unknown {name} space option(s) {', '.join(sorted(unknown))} (valid: {', '.join(OPTIONS)})")
    path = opts.pop("supernet", None)
    if not path:
        raise ConfigError(f"space {name!r} needs a trained supernet: train one with `{supernet_command(name, f'runs/{name}.pt')}`, "
                          f"then pass --space-option supernet=runs/{name}.pt")
    ckpt = load_checkpoint(path, name)
    if cfg.dataset is not None and cfg.dataset != ckpt["data"]["dataset"]:
        raise ConfigError(f"supernet {path} was trained on {ckpt['data']['dataset']}, not {cfg.dataset}; "
                          f"drop --dataset or train a supernet with --option dataset={cfg.dataset}")
    if cfg.signal not in (None, "val_acc"):
        raise ConfigError(f"supernet spaces search on val_acc (inherited weights), not {cfg.signal!r}; drop --signal")
    ev = SupernetEvaluator(path, space=name, ckpt=ckpt, **opts)
    return Problem(ev.space, ev)


def _register(name: str) -> None:
    @SPACES.register(name)
    def _build(cfg: RunConfig) -> Problem:
        return build(name, cfg)


for _name in NAMES:
    _register(_name)
