"""Search spaces of the supernets (torch-free): decisions, legality, canonical keys.

OFA and AutoFormer have *inactive* decisions: a stage of depth d uses only its first d blocks,
a ViT of depth d only its first d layers. Their kernel/expand (MLP ratio/heads) decisions do not
change the network, so the canonical key sets them to their first option, ``size()`` counts
distinct networks, and ``mutate``/``neighbors`` change active decisions only.
"""

from __future__ import annotations

import math

from ...errors import SpaceError
from ..base import CAPABILITIES, Decision, SearchSpace
from ...types import Arch
from .configs import SPOS_CHOICES, AutoFormerConfig, NetConfig, OFAConfig, SPOSConfig


class ElasticSpace(SearchSpace):
    """A space whose some decisions can be inactive; subclasses say which."""

    implements = CAPABILITIES  # enumerate: small test networks only (the size limit takes it from real ones)

    def inactive(self, arch: Arch) -> set[str]:
        return set()

    def canonicalize(self, arch: Arch) -> Arch:
        """The same network with every inactive decision at its first option."""
        off = self.inactive(arch)
        return {d.name: (d.options[0] if d.name in off else arch[d.name]) for d in self.decisions}

    def mutable_decisions(self, arch: Arch) -> list[int]:
        """Only *active* decisions (so a mutation really changes the network); all when none is."""
        off = self.inactive(arch)
        active = [i for i, d in enumerate(self.decisions) if len(d.options) > 1 and d.name not in off]
        return active or super().mutable_decisions(arch)

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Networks one active decision away, one arch per distinct canonical key."""
        off, own = self.inactive(arch), self.canonical_key(arch)
        seen, out = {own}, []
        for cand in super().neighbors(arch):
            changed = [n for n in self.names if cand[n] != arch[n]]
            if changed and changed[0] in off:
                continue
            k = self.canonical_key(cand)
            if k not in seen:
                seen.add(k)
                out.append(cand)
        return out


class SPOSSpace(ElasticSpace):
    def __init__(self, cfg: SPOSConfig) -> None:
        decisions = []
        layer = 0
        for s, n in enumerate(cfg.blocks):
            for b in range(n):
                stride = "stride 2, " if b == 0 else ""
                decisions.append(Decision(f"layer_{layer}", SPOS_CHOICES,
                                          f"stage {s} block {b} ({stride}{cfg.widths[s]} channels)"))
                layer += 1
        desc = (
            "Single-path one-shot ShuffleNetV2 (SPOS). The network is a stem convolution, then "
            f"{cfg.n_layers} layers in {len(cfg.blocks)} stages (widths {cfg.widths}, the first layer of each "
            "stage halves the resolution), a 1x1 convolution, global pooling and a classifier. Each layer is "
            "one of four choice blocks: a ShuffleNetV2 unit with a 3x3, 5x5 or 7x7 depthwise convolution, or an "
            "Xception-style unit of three 3x3 depthwise separable convolutions. Larger kernels and Xception "
            "cost more FLOPs."
        )
        super().__init__("spos", decisions, desc)
        self.cfg = cfg


class OFASpace(ElasticSpace):
    def __init__(self, cfg: OFAConfig) -> None:
        decisions = []
        if cfg.resolutions:
            decisions.append(Decision("resolution", tuple(cfg.resolutions), "input image side in pixels"))
        for s in range(len(cfg.widths)):
            decisions.append(Decision(f"depth_{s}", tuple(cfg.depths), f"blocks used in stage {s} ({cfg.widths[s]} channels)"))
        for s in range(len(cfg.widths)):
            for b in range(cfg.max_depth):
                decisions.append(Decision(f"kernel_{s}_{b}", tuple(cfg.kernels), f"depthwise kernel of stage {s} block {b}"))
                decisions.append(Decision(f"expand_{s}_{b}", tuple(cfg.expands), f"expand ratio of stage {s} block {b}"))
        desc = (
            "Once-for-all MobileNetV3. A stem, then "
            f"{len(cfg.widths)} stages of inverted-bottleneck (MBConv) blocks with widths {cfg.widths}; stage s uses "
            "only its first depth_s blocks, so kernel_s_b and expand_s_b with b >= depth_s are ignored. Each "
            "block expands its input by expand_s_b with a 1x1 convolution, applies a kernel_s_b depthwise "
            "convolution (squeeze-excite in some stages) and projects back. Larger depth, kernel, expand "
            "ratio and resolution cost more FLOPs and usually give higher accuracy."
        )
        super().__init__("ofa", decisions, desc)
        self.cfg = cfg

    def inactive(self, arch: Arch) -> set[str]:
        off = set()
        for s in range(len(self.cfg.widths)):
            for b in range(int(arch[f"depth_{s}"]), self.cfg.max_depth):
                off.update((f"kernel_{s}_{b}", f"expand_{s}_{b}"))
        return off

    def size(self) -> int:
        per_block = len(self.cfg.kernels) * len(self.cfg.expands)
        per_stage = sum(per_block**d for d in self.cfg.depths)
        return int(max(1, len(self.cfg.resolutions)) * per_stage ** len(self.cfg.widths))


class AutoFormerSpace(ElasticSpace):
    def __init__(self, cfg: AutoFormerConfig) -> None:
        decisions = [
            Decision("depth", tuple(cfg.depths), "number of transformer layers"),
            Decision("embed_dim", tuple(cfg.embed_dims), "embedding dimension shared by all layers"),
        ]
        for i in range(cfg.max_depth):
            decisions.append(Decision(f"mlp_ratio_{i}", tuple(float(r) for r in cfg.mlp_ratios), f"MLP hidden width / embed_dim in layer {i}"))
            decisions.append(Decision(f"heads_{i}", tuple(cfg.heads), f"attention heads in layer {i} (each {cfg.head_dim} wide)"))
        desc = (
            "AutoFormer vision transformer. Images are cut into patches, embedded into embed_dim channels "
            "and passed through `depth` transformer layers (multi-head self-attention, then an MLP); layer i "
            "uses heads_i heads and an MLP of mlp_ratio_i x embed_dim hidden units. Layers i >= depth are not "
            "used, so their mlp_ratio/heads are ignored. More depth, width, heads and MLP ratio cost more "
            "parameters."
        )
        super().__init__("autoformer", decisions, desc)
        self.cfg = cfg

    def inactive(self, arch: Arch) -> set[str]:
        off = set()
        for i in range(int(arch["depth"]), self.cfg.max_depth):
            off.update((f"mlp_ratio_{i}", f"heads_{i}"))
        return off

    def size(self) -> int:
        per_layer = len(self.cfg.mlp_ratios) * len(self.cfg.heads)
        return int(len(self.cfg.embed_dims) * sum(per_layer**d for d in self.cfg.depths))


def make_space(cfg: NetConfig) -> ElasticSpace:
    if isinstance(cfg, SPOSConfig):
        return SPOSSpace(cfg)
    if isinstance(cfg, OFAConfig):
        return OFASpace(cfg)
    if isinstance(cfg, AutoFormerConfig):
        return AutoFormerSpace(cfg)
    raise SpaceError(f"no search space for config {type(cfg).__name__}")


def largest(space: SearchSpace) -> Arch:
    """Every decision at its last (largest) option."""
    return {d.name: d.options[-1] for d in space.decisions}


def smallest(space: SearchSpace) -> Arch:
    return {d.name: d.options[0] for d in space.decisions}


def log10_size(space: SearchSpace) -> float:
    return math.log10(max(1, space.size()))
