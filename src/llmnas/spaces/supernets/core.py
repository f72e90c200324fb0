"""Supernet checkpoints and the pieces stages 1-3 share: defaults, samplers, loading.

A checkpoint is one ``torch.save`` dict: the format tag, the space name, the network config,
the dataset settings (name, directory, validation size, split seed), the training settings, the
step reached, ``done``, the wall seconds, a loss log, and the model and optimizer states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...datasets import DataSplits, load_splits
from ...errors import ConfigError, DataError
from ...types import Arch
from .configs import NetConfig, config_from_dict, make_net_config
from .spaces import ElasticSpace, largest, make_space, smallest

#: training defaults per space, then per preset (overridable with --option)
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "spos": {"sampling": "uniform", "optimizer": "sgd", "lr": 0.1, "weight_decay": 4e-5, "steps": 1500},
    "ofa": {"sampling": "progressive", "optimizer": "sgd", "lr": 0.05, "weight_decay": 4e-5, "steps": 800},
    "autoformer": {"sampling": "sandwich", "optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05, "steps": 800,
                   "warmup_steps": 80},
}
_TINY = {"steps": 40, "batch_size": 64, "checkpoint_every": 10, "warmup_steps": 0}
PRESET_TRAIN: dict[str, dict[str, dict[str, Any]]] = {
    # SPOS trains one of four blocks per layer per step: it needs more steps to leave chance level
    "tiny": {"spos": {**_TINY, "steps": 100}, "ofa": _TINY, "autoformer": {**_TINY, "lr": 5e-3}},
    "small": {"spos": {}, "ofa": {}, "autoformer": {}},
}
#: data defaults per preset
PRESET_DATA: dict[str, dict[str, Any]] = {
    "tiny": {"val_size": 1000, "train_limit": 4000},
    "small": {"val_size": 10000, "train_limit": None},
}


def supernet_command(space: str, path: str | Path) -> str:
    return f"llmnas supernet train --space {space} --out {path}"


def load_checkpoint(path: str | Path, space: str | None = None) -> dict[str, Any]:
    """Read a supernet (or subnet) checkpoint; one clear error when it is missing or foreign."""
    import torch

    from .training import FORMAT

    p = Path(path)
    if not p.is_file():
        hint = supernet_command(space or "spos", p)
        raise ConfigError(f"supernet checkpoint {p} not found; train one first with `{hint}`")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"cannot read supernet checkpoint {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DataError(f"{p} is not an llmnas supernet checkpoint (format {FORMAT})")
    if space is not None and ckpt["space"] != space:
        raise ConfigError(f"{p} holds a {ckpt['space']!r} supernet, not {space!r}; use --space {ckpt['space']} or another checkpoint")
    return ckpt


def net_config(ckpt: dict[str, Any]) -> NetConfig:
    return config_from_dict(ckpt["space"], ckpt["net"])


def data_of(ckpt: dict[str, Any], data_dir: str | None = None) -> DataSplits:
    d = dict(ckpt["data"])
    if data_dir is not None:
        d["data_dir"] = data_dir
    return load_splits(d["dataset"], d.get("data_dir"), d["val_size"], d["split_seed"], d.get("train_limit"))


def build_net(ckpt: dict[str, Any], data: DataSplits) -> Any:
    from .nets import build_supernet

    net = build_supernet(net_config(ckpt), data.channels, data.num_classes, data.image_size)
    net.load_state_dict(ckpt["model"])
    return net


def sampler(space: ElasticSpace, sampling: str, steps: int, seed: int, phases: list[float], n_random: int = 1,
            fixed: Arch | None = None) -> Callable[[int], list[Arch]]:
    """The subnets trained at each step.

    * ``uniform`` (SPOS): one uniformly sampled path per step;
    * ``progressive`` (OFA, reduced progressive shrinking): the largest network first, then
      elastic kernel, then elastic depth, then elastic expand ratio, at the ``phases`` step
      fractions; resolution is sampled throughout;
    * ``sandwich`` (AutoFormer): largest, smallest and ``n_random`` random subnets per step;
    * ``fixed``: one architecture (stand-alone training and retraining).
    """
    from .training import step_rng

    big, small = largest(space), smallest(space)
    if sampling == "fixed":
        if fixed is None:
            raise ConfigError("fixed sampling needs an architecture")
        return lambda step: [fixed]
    if sampling == "uniform":
        return lambda step: [space.sample(step_rng(seed, step))]
    if sampling == "sandwich":
        return lambda step: [big, small] + [space.sample(step_rng(seed, step)) for _ in range(n_random)]
    if sampling == "progressive":
        bounds = [int(f * steps) for f in phases] + [steps + 1] * 3

        def progressive(step: int) -> list[Arch]:
            arch = space.sample(step_rng(seed, step))
            phase = sum(step >= b for b in bounds[:3])
            frozen = {0: ("kernel_", "depth_", "expand_"), 1: ("depth_", "expand_"), 2: ("expand_",), 3: ()}[phase]
            return [{k: (big[k] if k.startswith(frozen) else v) for k, v in arch.items()}]

        return progressive
    raise ConfigError(f"unknown sampling {sampling!r} (uniform, progressive, sandwich, fixed)")


def split_options(space: str, preset: str, options: dict[str, Any]) -> tuple[NetConfig, dict[str, Any], dict[str, Any]]:
    """Split ``--option`` values into network config, training settings and data settings."""
    from .configs import CONFIGS
    from .training import TrainSettings

    data_keys = {"dataset", "data_dir", "val_size", "split_seed", "train_limit"}
    net_keys = set(CONFIGS[space].model_fields) if space in CONFIGS else set()
    train_keys = set(TrainSettings.model_fields)
    unknown = set(options) - data_keys - net_keys - train_keys
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: network {', '.join(sorted(net_keys))}; "
                          f"training {', '.join(sorted(train_keys))}; data {', '.join(sorted(data_keys))}")
    cfg = make_net_config(space, preset, {k: v for k, v in options.items() if k in net_keys})
    train = {**TRAIN_DEFAULTS[space], **PRESET_TRAIN[preset][space], **{k: v for k, v in options.items() if k in train_keys}}
    data = {"dataset": "fashion-mnist", "data_dir": None, "split_seed": 0, **PRESET_DATA[preset],
            **{k: v for k, v in options.items() if k in data_keys}}
    return cfg, train, data


def make_space_from(ckpt: dict[str, Any]) -> ElasticSpace:
    return make_space(net_config(ckpt))


def arch_list(space: ElasticSpace, n: int, seed: int) -> list[Arch]:
    """``n`` distinct uniformly sampled networks (seeded)."""
    rng = np.random.default_rng(seed)
    out: list[Arch] = []
    keys: set[str] = set()
    for arch in (space.sample(rng) for _ in range(50 * n)):
        k = space.canonical_key(arch)
        if k not in keys:
            keys.add(k)
            out.append(arch)
        if len(out) == n:
            break
    return out
