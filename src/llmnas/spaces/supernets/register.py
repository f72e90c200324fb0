"""Registers the supernet spaces in llmnas.spaces.registry.SPACES (no torch import at module level).

``llmnas search --space spos --space-option supernet=runs/spos.pt`` (also ``ofa``,
``autoformer``). Space options: ``supernet`` (the stage-1 checkpoint, required), ``data_dir``,
``val_images``, ``recalib_batches``, ``recalib_batch_size``, ``batch_size``, ``report``
(val|test), ``threads``, ``device``.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Literal, Optional

import pydantic

from ...config import RunConfig
from ...errors import ConfigError
from ..registry import Problem, SpaceOptions, register_space

NAMES = ("spos", "ofa", "autoformer")


class SupernetOptions(SpaceOptions):
    #: the stage-1 checkpoint (``llmnas supernet train --out``), required
    supernet: Optional[str] = None
    #: where the dataset's files are (default: the Debian package's / the checkpoint's)
    data_dir: Optional[str] = None
    #: validation images each subnet is scored on
    val_images: int = pydantic.Field(2000, ge=1)
    #: BatchNorm re-calibration before scoring: batches and their size
    recalib_batches: int = pydantic.Field(8, ge=0)
    recalib_batch_size: int = pydantic.Field(128, ge=1)
    batch_size: int = pydantic.Field(500, ge=1)
    #: what tables show: val (the search signal) or test accuracy
    report: Literal["val", "test"] = "val"
    threads: int = pydantic.Field(1, ge=1)
    device: str = "auto"


OPTIONS = tuple(SupernetOptions.model_fields)


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise ConfigError("the supernet spaces need PyTorch; install it with `pip install 'llmnas[supernet]'`")


def build(name: str, cfg: RunConfig, options: SupernetOptions) -> Problem:
    require_torch()
    from .core import load_checkpoint, supernet_command
    from .evaluator import SupernetEvaluator

    opts: dict[str, Any] = options.model_dump()
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
    @register_space(name, SupernetOptions)
    def _build(cfg: RunConfig, options: SupernetOptions) -> Problem:
        return build(name, cfg, options)


for _name in NAMES:
    _register(_name)
