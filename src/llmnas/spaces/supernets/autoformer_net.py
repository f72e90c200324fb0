"""AutoFormer supernet: a ViT with weight entanglement (Chen et al., ICCV 2021).

Every layer holds the largest q/k/v, projection and MLP weights; a subnet uses the first
``embed_dim`` input channels, the first ``heads x head_dim`` rows of each of q, k and v, and the
first ``mlp_ratio x embed_dim`` hidden units. Layers past ``depth`` are skipped. Patch embedding
is a strided convolution; a class token and learned position embeddings are sliced likewise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...types import Arch
from .configs import AutoFormerConfig
from .ops import SharedConv2d, SharedLayerNorm, SharedLinear, record, resize, _ACTIVE


class Layer(nn.Module):
    def __init__(self, cfg: AutoFormerConfig) -> None:
        super().__init__()
        e, self.hd, self.max_heads = max(cfg.embed_dims), cfg.head_dim, max(cfg.heads)
        self.norm1 = SharedLayerNorm(e)
        self.qkv = SharedLinear(e, 3 * self.max_heads * self.hd, init="vit")
        self.proj = SharedLinear(self.max_heads * self.hd, e, init="vit")
        self.norm2 = SharedLayerNorm(e)
        hidden = int(round(e * max(cfg.mlp_ratios)))
        self.fc1 = SharedLinear(e, hidden, init="vit")
        self.fc2 = SharedLinear(hidden, e, init="vit")

    def _qkv(self, x: torch.Tensor, heads: int) -> torch.Tensor:
        e, inner, full = x.shape[-1], heads * self.hd, self.max_heads * self.hd
        w = self.qkv.weight.view(3, full, -1)[:, :inner, :e].reshape(3 * inner, e)
        b = self.qkv.bias.view(3, full)[:, :inner].reshape(3 * inner)  # type: ignore[union-attr]
        if _ACTIVE:
            record(w.numel() + b.numel(), x.shape[1] * w.numel())
        return F.linear(x, w, b)

    def forward(self, x: torch.Tensor, heads: int, mlp_ratio: float) -> torch.Tensor:
        bsz, n, e = x.shape
        qkv = self._qkv(self.norm1(x), heads).reshape(bsz, n, 3, heads, self.hd).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        if _ACTIVE:
            record(0, 2 * heads * n * n * self.hd)
        x = x + self.proj(att.transpose(1, 2).reshape(bsz, n, heads * self.hd), e)
        hidden = int(round(e * mlp_ratio))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x), hidden)), e)


class AutoFormerSupernet(nn.Module):
    def __init__(self, cfg: AutoFormerConfig, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.cfg, self.image_size = cfg, cfg.image_size or image_size
        if self.image_size % cfg.patch:
            from ...errors import ConfigError

            raise ConfigError(f"autoformer: patch {cfg.patch} must divide the image side {self.image_size}; "
                              f"set --option patch=... or image_size=...")
        e = max(cfg.embed_dims)
        self.tokens = (self.image_size // cfg.patch) ** 2
        self.patch = SharedConv2d(in_channels, e, cfg.patch, stride=cfg.patch, bias=True, padding=0)
        self.cls = nn.Parameter(torch.zeros(1, 1, e))
        self.pos = nn.Parameter(torch.zeros(1, self.tokens + 1, e))
        nn.init.trunc_normal_(self.cls, std=0.02)
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.max_depth))
        self.norm = SharedLayerNorm(e)
        self.head = SharedLinear(e, num_classes, init="vit")

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        e = int(arch["embed_dim"])
        x = resize(x, self.image_size)
        x = self.patch(x, e).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls[:, :, :e].expand(x.shape[0], -1, -1), x], 1) + self.pos[:, :, :e]
        if _ACTIVE:
            record(e + self.pos.shape[1] * e, 0)
        for i in range(int(arch["depth"])):
            x = self.layers[i](x, int(arch[f"heads_{i}"]), float(arch[f"mlp_ratio_{i}"]))
        return self.head(self.norm(x)[:, 0])
