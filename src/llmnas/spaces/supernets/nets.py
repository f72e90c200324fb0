"""Build a supernet module from its config, and count a subnet's exact cost."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...types import Arch
from .configs import AutoFormerConfig, NetConfig, OFAConfig, SPOSConfig
from .ops import counting


@dataclass(frozen=True)
class Cost:
    params: int
    flops: int  # multiply-accumulates per image (see ops.py for the convention)


def build_supernet(cfg: NetConfig, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    if isinstance(cfg, SPOSConfig):
        from .spos_net import SPOSSupernet

        return SPOSSupernet(cfg, in_channels, num_classes, image_size)
    if isinstance(cfg, OFAConfig):
        from .ofa_net import OFASupernet

        return OFASupernet(cfg, in_channels, num_classes, image_size)
    if isinstance(cfg, AutoFormerConfig):
        from .autoformer_net import AutoFormerSupernet

        return AutoFormerSupernet(cfg, in_channels, num_classes, image_size)
    raise TypeError(f"no supernet for {type(cfg).__name__}")


def subnet_cost(net: nn.Module, arch: Arch, in_channels: int, image_size: int) -> Cost:
    """Params and MACs of the subnet ``arch`` as it runs (one image of the dataset's size)."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad(), counting() as c:
            net(torch.zeros(1, in_channels, image_size, image_size, device=device), arch)
    finally:
        net.train(was_training)
    return Cost(c.params, c.macs)
