"""Supernet search spaces: decisions, canonical keys with inactive blocks, sizes, moves."""

from __future__ import annotations

import numpy as np
import pytest

from llmnas.errors import ConfigError
from llmnas.spaces.supernets.configs import make_net_config
from llmnas.spaces.supernets.spaces import largest, make_space, smallest


def _space(name, preset="tiny", **kw):
    return make_space(make_net_config(name, preset, kw))


def test_spos_decisions_follow_the_paper():
    sp = _space("spos", "small")
    assert len(sp.decisions) == 8 and sp.size() == 4**8
    assert sp.decisions[0].options == ("shuffle3x3", "shuffle5x5", "shuffle7x7", "xception")
    arch = sp.sample(np.random.default_rng(0))
    assert sp.from_ncode(sp.to_ncode(arch)) == arch


def test_ofa_inactive_blocks_do_not_change_the_key():
    sp = _space("ofa")
    a = largest(sp) | {"depth_0": 1}
    b = dict(a, kernel_0_1=3, expand_0_1=2)  # block 1 of stage 0 is unused at depth 1
    assert a != b and sp.canonical_key(a) == sp.canonical_key(b)
    c = dict(a, depth_0=2)  # now it is used
    d = dict(c, kernel_0_1=3)
    assert sp.canonical_key(c) != sp.canonical_key(d)
    assert "kernel_0_1" in sp.inactive(a) and "kernel_0_1" not in sp.inactive(c)


def test_autoformer_inactive_layers_do_not_change_the_key():
    sp = _space("autoformer")
    a = largest(sp) | {"depth": 1}
    b = dict(a, heads_1=1, mlp_ratio_1=2.0)
    assert sp.canonical_key(a) == sp.canonical_key(b)
    assert sp.canonical_key(a) != sp.canonical_key(dict(a, heads_0=1))


@pytest.mark.parametrize("name", ["spos", "ofa", "autoformer"])
def test_size_counts_distinct_networks(name):
    sp = _space(name)
    keys = {sp.canonical_key(a) for a in sp.enumerate()}
    assert len(keys) == sp.size() == len(list(sp.enumerate()))


@pytest.mark.parametrize("name", ["ofa", "autoformer"])
def test_mutate_and_neighbors_change_the_network(name):
    sp = _space(name)
    rng = np.random.default_rng(1)
    for _ in range(50):
        a = sp.sample(rng)
        assert sp.canonical_key(sp.mutate(a, rng)) != sp.canonical_key(a)
        keys = [sp.canonical_key(n) for n in sp.neighbors(a)]
        assert len(keys) == len(set(keys)) and sp.canonical_key(a) not in keys


def test_small_preset_sizes_and_legality_messages():
    ofa = _space("ofa", "small")
    assert ofa.size() == 3 * (9 + 9**2 + 9**3) ** 4
    assert "not an option" in ofa.check(smallest(ofa) | {"kernel_0_0": 4})
    with pytest.raises(ConfigError, match="unknown network option 'width'"):
        make_net_config("spos", "small", {"width": 3})
    with pytest.raises(ConfigError, match="kernels must be odd"):
        make_net_config("ofa", "small", {"kernels": [2, 4]})
    with pytest.raises(ConfigError, match="unknown supernet space"):
        make_net_config("darts", "small")
