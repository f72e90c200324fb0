"""SPOS supernet: ShuffleNetV2 with four choice blocks per layer (Guo et al., ECCV 2020).

Stride-1 layers split the channels in two halves, transform one and concatenate; stride-2 layers
(the first of each stage) transform the full input in a main branch and a projection branch.
The main branch of a ShuffleNet unit is 1x1 conv, kxk depthwise conv, 1x1 conv (k = 3, 5, 7); of
the Xception unit, three 3x3 depthwise + 1x1 pairs. Every layer holds all four blocks; a subnet
runs one of them (single path).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...types import Arch
from .configs import SPOS_CHOICES, SPOSConfig
from .ops import SharedBatchNorm2d, SharedConv2d, SharedLinear, resize


def _split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel shuffle then split (even channels, odd channels), as in the SPOS reference."""
    b, c, h, w = x.shape
    x = x.reshape(b, c // 2, 2, h * w).permute(2, 0, 1, 3).reshape(2, b, c // 2, h, w)
    return x[0], x[1]


class ChoiceBlock(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, kind: str) -> None:
        super().__init__()
        self.stride = stride
        self.main_in = inp if stride == 2 else inp // 2
        main_out = oup - (inp if stride == 2 else inp // 2)
        mid = oup // 2
        convs: list[tuple[SharedConv2d, SharedBatchNorm2d, bool]] = []  # (conv, bn, relu after)
        if kind == "xception":
            cin = self.main_in
            for i, cout in enumerate((mid, mid, main_out)):
                convs.append((SharedConv2d(cin, cin, 3, stride if i == 0 else 1, depthwise=True), SharedBatchNorm2d(cin), False))
                convs.append((SharedConv2d(cin, cout, 1), SharedBatchNorm2d(cout), True))
                cin = cout
        else:
            k = int(kind[len("shuffle")])
            convs.append((SharedConv2d(self.main_in, mid, 1), SharedBatchNorm2d(mid), True))
            convs.append((SharedConv2d(mid, mid, k, stride, depthwise=True), SharedBatchNorm2d(mid), False))
            convs.append((SharedConv2d(mid, main_out, 1), SharedBatchNorm2d(main_out), True))
        self.convs = nn.ModuleList(c for c, _, _ in convs)
        self.bns = nn.ModuleList(b for _, b, _ in convs)
        self.relu = [r for _, _, r in convs]
        if stride == 2:
            self.proj = nn.ModuleList([SharedConv2d(inp, inp, 3, 2, depthwise=True), SharedBatchNorm2d(inp),
                                       SharedConv2d(inp, inp, 1), SharedBatchNorm2d(inp)])

    def _main(self, x: torch.Tensor) -> torch.Tensor:
        for conv, bn, relu in zip(self.convs, self.bns, self.relu):
            x = bn(conv(x))
            if relu:
                x = F.relu(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            keep, x = _split(x)
            return torch.cat([keep, self._main(x)], 1)
        dw, bn1, pw, bn2 = self.proj
        keep = F.relu(bn2(pw(bn1(dw(x)))))
        return torch.cat([keep, self._main(x)], 1)


class SPOSSupernet(nn.Module):
    def __init__(self, cfg: SPOSConfig, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.cfg, self.image_size = cfg, cfg.image_size or image_size
        self.stem = SharedConv2d(in_channels, cfg.stem, 3)
        self.stem_bn = SharedBatchNorm2d(cfg.stem)
        layers = []
        inp = cfg.stem
        for w, n in zip(cfg.widths, cfg.blocks):
            for b in range(n):
                stride = 2 if b == 0 else 1
                layers.append(nn.ModuleList(ChoiceBlock(inp if b == 0 else w, w, stride, kind) for kind in SPOS_CHOICES))
            inp = w
        self.layers = nn.ModuleList(layers)
        self.last = SharedConv2d(inp, cfg.last, 1)
        self.last_bn = SharedBatchNorm2d(cfg.last)
        self.classifier = SharedLinear(cfg.last, num_classes)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        x = resize(x, self.image_size)
        x = F.relu(self.stem_bn(self.stem(x)))
        for i, choices in enumerate(self.layers):
            x = choices[SPOS_CHOICES.index(arch[f"layer_{i}"])](x)
        x = F.relu(self.last_bn(self.last(x)))
        return self.classifier(x.mean((2, 3)))
