"""Weight-sharing layers: each keeps the largest weight and uses a slice of it per subnet.

Every layer reports the parameters and multiply-adds it actually uses to the active
:class:`CostCounter` (see :func:`counting`), so costs are counted from the subnet that runs.

FLOPs convention (documented in docs/supernets.md): multiply-accumulates of convolutions,
linear layers and the two attention matrix products (QK^T and AV), per image. Batch norm,
layer norm, activations, pooling, resizing, softmax and additions are not counted.
Parameters: the weight/bias slices a subnet uses, including normalisation affine parameters,
the class token and position embeddings; running statistics (buffers) are not parameters.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class CostCounter:
    params: int = 0
    macs: int = 0


_ACTIVE: list[CostCounter] = []


@contextlib.contextmanager
def counting() -> Iterator[CostCounter]:
    """Count params and MACs of every weight-sharing layer run inside the block (per image)."""
    c = CostCounter()
    _ACTIVE.append(c)
    try:
        yield c
    finally:
        _ACTIVE.pop()


def record(params: int, macs: int) -> None:
    if _ACTIVE:
        _ACTIVE[-1].params += int(params)
        _ACTIVE[-1].macs += int(macs)


class SharedConv2d(nn.Module):
    """Conv2d whose output channels, input channels and (centre-cropped) kernel can shrink."""

    def __init__(self, max_in: int, max_out: int, max_kernel: int, stride: int = 1, depthwise: bool = False,
                 bias: bool = False, padding: int | None = None) -> None:
        super().__init__()
        self.depthwise, self.stride, self.max_kernel, self.padding = depthwise, stride, max_kernel, padding
        shape = (max_out, 1 if depthwise else max_in, max_kernel, max_kernel)
        self.weight = nn.Parameter(torch.empty(shape))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None

    def forward(self, x: torch.Tensor, out_channels: int | None = None, kernel: int | None = None) -> torch.Tensor:
        cin = x.shape[1]
        cout = cin if self.depthwise else (out_channels or self.weight.shape[0])
        k = kernel or self.max_kernel
        w = self.weight[:cout, : (1 if self.depthwise else cin)]
        if k != self.max_kernel:
            lo = (self.max_kernel - k) // 2
            w = w[:, :, lo : lo + k, lo : lo + k]
        b = self.bias[:cout] if self.bias is not None else None
        pad = k // 2 if self.padding is None else self.padding
        y = F.conv2d(x, w, b, self.stride, pad, 1, cin if self.depthwise else 1)
        if _ACTIVE:
            record(w.numel() + (b.numel() if b is not None else 0), y[0].numel() * w.shape[1] * k * k)
        return y


class SharedBatchNorm2d(nn.Module):
    """BatchNorm over the first C channels of a shared set of statistics and affine parameters.

    ``recalibrate()`` switches to a cumulative average (as ``momentum=None``) after resetting
    the statistics, which is how inherited-weight evaluation re-estimates them per subnet.
    """

    def __init__(self, max_channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum: float | None = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(max_channels))
        self.bias = nn.Parameter(torch.zeros(max_channels))
        self.register_buffer("running_mean", torch.zeros(max_channels))
        self.register_buffer("running_var", torch.ones(max_channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_statistics(self, cumulative: bool) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()
        self.momentum = None if cumulative else 0.1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        y = F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                         self.training, factor, self.eps)
        if _ACTIVE:
            record(2 * c, 0)
        return y


class SharedLinear(nn.Module):
    """Linear layer using the top-left (out, in) block of its largest weight."""

    def __init__(self, max_in: int, max_out: int, bias: bool = True, init: str = "torch") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in))
        self.bias = nn.Parameter(torch.zeros(max_out)) if bias else None
        if init == "vit":  # transformers: small truncated normal, zero bias
            nn.init.trunc_normal_(self.weight, std=0.02)
        else:  # convolutional nets: torch's nn.Linear initialisation
            nn.init.kaiming_uniform_(self.weight, a=5**0.5)
            if self.bias is not None:
                nn.init.uniform_(self.bias, -(max_in**-0.5), max_in**-0.5)

    def forward(self, x: torch.Tensor, out_features: int | None = None) -> torch.Tensor:
        cin = x.shape[-1]
        cout = out_features or self.weight.shape[0]
        w = self.weight[:cout, :cin]
        b = self.bias[:cout] if self.bias is not None else None
        y = F.linear(x, w, b)
        if _ACTIVE:
            record(w.numel() + (b.numel() if b is not None else 0), y[0].numel() * cin)
        return y


class SharedLayerNorm(nn.Module):
    def __init__(self, max_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(max_dim))
        self.bias = nn.Parameter(torch.zeros(max_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        if _ACTIVE:
            record(2 * d, 0)
        return F.layer_norm(x, (d,), self.weight[:d], self.bias[:d], self.eps)


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "relu":
        return F.relu(x)
    if name == "hswish":
        return F.hardswish(x)
    if name == "gelu":
        return F.gelu(x)
    raise ValueError(f"unknown activation {name!r}")


def resize(x: torch.Tensor, side: int) -> torch.Tensor:
    if x.shape[-1] == side and x.shape[-2] == side:
        return x
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=False)


def batch_norms(module: nn.Module) -> list[SharedBatchNorm2d]:
    return [m for m in module.modules() if isinstance(m, SharedBatchNorm2d)]
