"""OFA supernet: MobileNetV3 with elastic depth, kernel, expand ratio and resolution (Cai et al., ICLR 2020).

A stem convolution and a fixed depthwise-separable block, then stages of MBConv blocks
(1x1 expand, kxk depthwise, optional squeeze-excite, 1x1 project; residual when shapes allow),
then the MobileNetV3 head (1x1 expand, pooling, feature-mix layer, classifier). Weight sharing as
in OFA: a smaller kernel is the centre of the largest one, a smaller expand ratio the first
channels, a shallower stage its first blocks. (OFA's kernel transformation matrices and channel
sorting are left out: see docs/supernets.md.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...types import Arch
from .configs import OFAConfig
from .ops import SharedBatchNorm2d, SharedConv2d, SharedLinear, activation, resize


def _se_width(mid: int) -> int:
    return max(8, mid // 4)


class MBConv(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, cfg: OFAConfig, se: bool, act: str) -> None:
        super().__init__()
        self.inp, self.oup, self.stride, self.se, self.act = inp, oup, stride, se, act
        mid = inp * max(cfg.expands)
        self.expand = SharedConv2d(inp, mid, 1)
        self.expand_bn = SharedBatchNorm2d(mid)
        self.dw = SharedConv2d(mid, mid, max(cfg.kernels), stride, depthwise=True)
        self.dw_bn = SharedBatchNorm2d(mid)
        if se:
            self.se_reduce = SharedLinear(mid, _se_width(mid))
            self.se_expand = SharedLinear(_se_width(mid), mid)
        self.project = SharedConv2d(mid, oup, 1)
        self.project_bn = SharedBatchNorm2d(oup)

    def forward(self, x: torch.Tensor, kernel: int, expand: int) -> torch.Tensor:
        mid = self.inp * expand
        y = activation(self.act, self.expand_bn(self.expand(x, mid)))
        y = activation(self.act, self.dw_bn(self.dw(y, kernel=kernel)))
        if self.se:
            s = F.relu(self.se_reduce(y.mean((2, 3)), _se_width(mid)))
            y = y * F.hardsigmoid(self.se_expand(s, mid))[:, :, None, None]
        y = self.project_bn(self.project(y, self.oup))
        if self.stride == 1 and self.inp == self.oup:
            y = y + x
        return y


class OFASupernet(nn.Module):
    def __init__(self, cfg: OFAConfig, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.cfg, self.image_size = cfg, cfg.image_size or image_size
        self.stem = SharedConv2d(in_channels, cfg.stem, 3, cfg.stem_stride)
        self.stem_bn = SharedBatchNorm2d(cfg.stem)
        self.first_dw = SharedConv2d(cfg.stem, cfg.stem, 3, depthwise=True)
        self.first_dw_bn = SharedBatchNorm2d(cfg.stem)
        self.first_pw = SharedConv2d(cfg.stem, cfg.stem, 1)
        self.first_pw_bn = SharedBatchNorm2d(cfg.stem)
        stages = []
        inp = cfg.stem
        for w, s, se, act in zip(cfg.widths, cfg.strides, cfg.se, cfg.act):
            stages.append(nn.ModuleList(MBConv(inp if b == 0 else w, w, s if b == 0 else 1, cfg, se, act)
                                        for b in range(cfg.max_depth)))
            inp = w
        self.stages = nn.ModuleList(stages)
        self.final = SharedConv2d(inp, inp * cfg.final_expand, 1)
        self.final_bn = SharedBatchNorm2d(inp * cfg.final_expand)
        self.feature = SharedLinear(inp * cfg.final_expand, cfg.feature, bias=False)
        self.classifier = SharedLinear(cfg.feature, num_classes)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        side = int(arch["resolution"]) if "resolution" in arch else self.image_size
        x = resize(x, side)
        x = F.hardswish(self.stem_bn(self.stem(x)))
        x = x + self.first_pw_bn(self.first_pw(F.relu(self.first_dw_bn(self.first_dw(x)))))
        for s, blocks in enumerate(self.stages):
            for b in range(int(arch[f"depth_{s}"])):
                x = blocks[b](x, int(arch[f"kernel_{s}_{b}"]), int(arch[f"expand_{s}_{b}"]))
        x = F.hardswish(self.final_bn(self.final(x)))
        x = F.hardswish(self.feature(x.mean((2, 3))))
        return self.classifier(x)

