"""Space capabilities are declared by each space class and narrowed by the instance's facts;
the runner refuses a strategy whose requirements a space lacks, before anything is evaluated."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from llmnas.errors import SpaceError
from llmnas.spaces import SPACES, Decision, SearchSpace
from llmnas.spaces.base import CAPABILITIES, ENUMERATE_LIMIT


def test_table_spaces_can_do_everything() -> None:
    from llmnas.config import RunConfig

    for name in ("nb201", "nb-macro", "transnas-micro", "nb301"):
        space = SPACES.get(name)(RunConfig(space=name, strategy="rs", budget=1)).space
        assert space.capabilities == CAPABILITIES, name
        assert sum(1 for _ in space.enumerate()) == space.size(), name


def test_supernet_spaces_enumerate_only_below_the_limit() -> None:
    from llmnas.spaces.supernets.configs import make_net_config
    from llmnas.spaces.supernets.spaces import make_space

    for name in ("spos", "ofa", "autoformer"):
        space = make_space(make_net_config(name))
        big = space.size() > ENUMERATE_LIMIT
        assert space.capabilities == (CAPABILITIES - {"enumerate"} if big else CAPABILITIES), name
        arch = space.sample(np.random.default_rng(0))
        assert space.canonical_key(space.mutate(arch, np.random.default_rng(1))) != space.canonical_key(arch)
    ofa = make_space(make_net_config("ofa"))  # 1.3e12 subnets
    with pytest.raises(SpaceError, match="cannot be enumerated .* architectures"):
        next(iter(ofa.enumerate()))


def test_instance_facts_narrow_the_class_declaration() -> None:
    single = SearchSpace("one", [Decision("a", (1,)), Decision("b", ("x",))])
    assert single.capabilities == CAPABILITIES - {"mutate", "neighbors"}
    huge = SearchSpace("huge", [Decision(f"d{i}", tuple(range(10))) for i in range(7)])
    assert huge.size() > ENUMERATE_LIMIT and huge.capabilities == CAPABILITIES - {"enumerate"}
    with pytest.raises(SpaceError, match="10,000,000 architectures"):
        next(iter(huge.enumerate()))


def test_a_strategy_needing_mutate_is_refused_on_a_space_without_it(tmp_path) -> None:
    from _cli_helpers import run_cli

    (tmp_path / "one_fn.py").write_text("def evaluate(arch):\n    return {'acc': 1.0}\n")
    (tmp_path / "one.yaml").write_text(textwrap.dedent("""\
        name: one-arch
        decisions:
          - {name: depth, options: [2]}
          - {name: act, options: [relu]}
        evaluator: {type: function, callable: "one_fn:evaluate", signal: acc}
        """))
    refused = run_cli("search", "-q", "--space", "one.yaml", "--strategy", "rea", "--budget", "1", "--out", "r.sqlite",
                      cwd=tmp_path)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert "needs space capabilities mutate" in refused.stderr and "one-arch" in refused.stderr, refused.stderr
    assert not (tmp_path / "r.sqlite").exists()  # refused before a store is opened
    ok = run_cli("search", "-q", "--space", "one.yaml", "--strategy", "rs", "--budget", "1", "--out", "ok.sqlite",
                 cwd=tmp_path)
    assert ok.returncode == 0, (ok.stdout, ok.stderr)
