"""Kendall-tau proof of concept (paper §3.1) with a scripted ranker."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from llmnas.data import load_nb201
from llmnas.spaces.nb201_evaluator import NB201Evaluator
from llmnas.llm import LLMSettings, ScriptedClient
from llmnas.spaces.nb201 import NB201Space
from llmnas.strategies.collm import kendall_tau, rank_poc

SPACE = NB201Space()
EVAL = NB201Evaluator(SPACE, "cifar100")


def test_kendall_tau_matches_hand_counts():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # pairs of (1,3,2,4) vs (1,2,3,4): 5 concordant, 1 discordant -> (5 - 1) / 6
    assert kendall_tau([1, 3, 2, 4], [1, 2, 3, 4]) == pytest.approx(4 / 6)
    # tau-b with a tie in y: concordant 2, discordant 0, n0 = 3, ties_y = 1 -> 2 / sqrt(3 * 2)
    assert kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / np.sqrt(6))
    assert kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0


def _ranker(order: str):
    """A scripted LLM that ranks the shown cells by their true CIFAR-100 test accuracy."""
    def reply(messages):
        lines = re.findall(r"^([A-J]): (\|.*\|)$", messages[-1]["content"], flags=re.M)
        acc = {lab: EVAL.evaluate(SPACE.from_cell_string(cell)).report for lab, cell in lines}
        ranked = sorted(acc, key=acc.get, reverse=(order == "best"))
        return json.dumps({"ranking": ranked}) if order != "junk" else "A, B, C"
    return ScriptedClient(reply, settings=LLMSettings(model="scripted", max_reasks=1))


def test_an_oracle_ranker_scores_one_and_random_is_near_zero():
    res = rank_poc(_ranker("best"), dataset="cifar100", trials=30, seed=1)
    assert res.llm_taus == [pytest.approx(1.0)] * 30 and res.llm_mean == pytest.approx(1.0)
    assert res.best_first_rate == 1.0 and res.worst_last_rate == 1.0 and res.parse_failures == 0
    assert len(res.random_taus) == 30 and abs(res.random_mean) < 0.2 and res.random_std > 0.1
    tiles = np.array_split(np.sort(load_nb201()["c100_test_200"]), 10)
    for trial in res.trials:  # exactly one cell from each decile
        truth = sorted(trial["truth"].values())
        assert all(tile[0] <= acc <= tile[-1] for tile, acc in zip(tiles, truth))
    json.dumps(res.to_dict())


def test_a_reversed_ranker_scores_minus_one_and_junk_is_counted():
    assert rank_poc(_ranker("worst"), dataset="cifar100", trials=3).llm_mean == pytest.approx(-1.0)
    res = rank_poc(_ranker("junk"), dataset="cifar100", trials=3)
    assert res.parse_failures == 3 and res.llm_taus == [None] * 3 and res.llm_mean is None
    assert res.best_first_rate is None and len(res.random_taus) == 3


def test_the_prompt_hides_accuracies_and_the_benchmark():
    client = _ranker("best")
    rank_poc(client, dataset="cifar100", trials=1)
    prompt = client.requests[0].messages[-1]["content"]
    assert "NAS-Bench" not in prompt and "nb201" not in prompt and "CIFAR-100" in prompt
    assert not re.search(r"\d+\.\d\d", prompt)  # no accuracy values
    assert client.requests[0].schema["properties"]["ranking"]["minItems"] == 10
