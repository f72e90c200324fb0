"""Exact params and FLOPs (multiply-accumulates) of subnets, checked against torch's own counter."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from llmnas.spaces.supernets.configs import make_net_config  # noqa: E402
from llmnas.spaces.supernets.nets import build_supernet, subnet_cost  # noqa: E402
from llmnas.spaces.supernets.spaces import largest, make_space, smallest  # noqa: E402


def _net(name, preset="tiny"):
    cfg = make_net_config(name, preset)
    torch.manual_seed(0)
    return make_space(cfg), build_supernet(cfg, 1, 10, 28)


def _torch_macs(net, arch):
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        net.eval()
        net(torch.zeros(1, 1, 28, 28), arch)
    return fc.get_total_flops() // 2


@pytest.mark.parametrize("name", ["ofa", "autoformer"])
def test_largest_subnet_uses_every_parameter(name):
    sp, net = _net(name)
    total = sum(p.numel() for p in net.parameters())
    assert subnet_cost(net, largest(sp), 1, 28).params == total
    assert subnet_cost(net, smallest(sp), 1, 28).params < total


def test_spos_params_are_the_chosen_blocks_only():
    sp, net = _net("spos", "small")
    arch = sp.sample(np.random.default_rng(0))
    unused = 0
    for i, choices in enumerate(net.layers):
        for j, block in enumerate(choices):
            if sp.decisions[i].options[j] != arch[f"layer_{i}"]:
                unused += sum(p.numel() for p in block.parameters())
    assert subnet_cost(net, arch, 1, 28).params == sum(p.numel() for p in net.parameters()) - unused


@pytest.mark.parametrize("name", ["spos", "ofa"])
def test_cnn_macs_match_torch_flop_counter(name):
    sp, net = _net(name, "small")
    rng = np.random.default_rng(2)
    for arch in [largest(sp), smallest(sp)] + [sp.sample(rng) for _ in range(3)]:
        assert subnet_cost(net, arch, 1, 28).flops == _torch_macs(net, arch)


def test_autoformer_macs_are_linear_layers_plus_attention_products():
    sp, net = _net("autoformer", "small")
    arch = sp.sample(np.random.default_rng(3))
    n = (28 // sp.cfg.patch) ** 2 + 1
    attention = sum(2 * arch[f"heads_{i}"] * n * n * sp.cfg.head_dim for i in range(arch["depth"]))
    counted = subnet_cost(net, arch, 1, 28).flops
    torch_macs = _torch_macs(net, arch)
    # torch's counter may or may not see the fused attention kernel: either way the rest agrees
    assert counted in (torch_macs, torch_macs + attention)


def test_costs_grow_with_the_decisions():
    sp, net = _net("ofa", "small")
    a = smallest(sp)
    b = dict(a, kernel_0_0=7)
    c = dict(a, resolution=28)
    ca, cb, cc = (subnet_cost(net, x, 1, 28) for x in (a, b, c))
    assert cb.params > ca.params and cb.flops > ca.flops
    assert cc.params == ca.params and cc.flops > ca.flops  # resolution: same weights, more FLOPs
