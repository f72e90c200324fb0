"""The shared step prompt, the reply parser and the non-LLM rankers (pure functions)."""

from __future__ import annotations

import jsonschema
import pytest

from llmnas.strategies.lmsearcher import prompt as lp
from llmnas.strategies.lmsearcher.rankers import closest_to_best, hamming, oracle


def _history_entries(messages):
    line = messages[1]["content"].splitlines()[1]
    return [tuple(e.split("|")) for e in line.split(",")]


def test_history_is_best_first_capped_and_scaled_over_the_whole_history():
    hist = [("000", 50.0), ("111", 90.0), ("222", 70.0), ("333", 10.0)]
    msgs = lp.build_messages(hist, ["444", "555"], max_history=2)
    assert [m["role"] for m in msgs] == ["system", "user"] and msgs[0]["content"] == lp.SYSTEM
    # top 2 shown, but 0 is the worst of all four (10.0), so 70 -> (70-10)/80 = 0.75
    assert _history_entries(msgs) == [("111", "1.00"), ("222", "0.75")]
    lines = msgs[1]["content"].splitlines()
    assert lines[0] == lp.HEADER and lines[2] == lp.CANDIDATES and lines[3] == "444;555" and lines[4] == lp.ASK


def test_equal_scores_do_not_divide_by_zero_and_bad_scores_are_dropped():
    msgs = lp.build_messages([("01", 3.0), ("10", 3.0), ("11", float("nan"))], ["00"])
    assert _history_entries(msgs) == [("01", "1.00"), ("10", "1.00")]
    assert lp.normalise([]) == [] and lp.normalise([2.0, 4.0]) == [0.0, 1.0]


def test_empty_history_and_empty_pool():
    assert lp.NO_HISTORY in lp.build_messages([], ["1"])[1]["content"]
    with pytest.raises(ValueError):
        lp.build_messages([("1", 1.0)], [])


def test_prompt_is_deterministic_on_ties():
    hist = [("%03d" % i, float(i % 3)) for i in range(40)]
    assert lp.build_messages(hist, ["999"]) == lp.build_messages(list(hist), ["999"])


@pytest.mark.parametrize("reply,expected", [
    ("331123", ("331123", "exact")),
    ("  331123\n", ("331123", "exact")),
    ('"331123"', ("331123", "exact")),
    ("`012334`.", ("012334", "exact")),
    ("The most promising code is 331123.", ("331123", "extracted")),
    ("331123, because 331123 has convs", ("331123", "extracted")),
])
def test_parse_choice_accepts(reply, expected):
    assert lp.parse_choice(reply, ["331123", "012334"]) == expected


@pytest.mark.parametrize("reply,why", [
    ("", "empty reply"),
    ("999999", "not one of the listed"),
    ("0331123", "not one of the listed"),  # a longer digit run is not a candidate
    ("33112", "not one of the listed"),
    ("331123 or 012334", "names 2 listed candidates"),
    (None, "empty reply"),
])
def test_parse_choice_rejects_with_a_reason(reply, why):
    choice, reason = lp.parse_choice(reply, ["331123", "012334"])
    assert choice is None and why in reason


def test_answer_schema_admits_exactly_the_candidates():
    schema = lp.answer_schema(["01", "10", "01"])
    jsonschema.validate("10", schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("11", schema)
    assert schema["enum"] == ["01", "10"]
    assert lp.answer_message("0123") == {"role": "assistant", "content": "0123"}


def test_unique_prefixes_are_prefix_free_and_name_each_candidate():
    import random

    rng = random.Random(0)
    for _ in range(300):
        pool = list({"".join(rng.choice("01234") for _ in range(6)) for _ in range(rng.randint(1, 12))})
        prefixes = lp.unique_prefixes(pool)
        assert len(prefixes) == len(pool)
        for code, p in zip(pool, prefixes):
            assert code.startswith(p)
            # unique, and the shortest such prefix
            assert [c for c in pool if c.startswith(p)] == [code]
            assert len(p) == 1 or sum(c.startswith(p[:-1]) for c in pool) > 1
            assert lp.parse_prefix(f'"{p}"', pool) == (code, "prefix" if p != code else "exact")
        assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)
    assert lp.unique_prefixes(["0123", "0144", "2000"]) == ["012", "014", "2"]
    assert lp.unique_prefixes(["5"]) == ["5"]


@pytest.mark.parametrize("reply,why", [("", "empty reply"), ("0", "names no candidate"),
                                       ("01", "names no candidate"), ("0124", "names no candidate")])
def test_parse_prefix_rejects_a_shared_or_foreign_prefix(reply, why):
    choice, reason = lp.parse_prefix(reply, ["0123", "0144", "2000"])
    assert choice is None and why in reason
    assert lp.parse_prefix("0144", ["0123", "0144", "2000"]) == ("0144", "exact")


def test_raw_scores_do_not_rescale_and_the_unlisted_text_only_grows():
    hist = [("000", 50.0), ("111", 90.0)]
    grown = hist + [("222", 99.5), ("333", 10.0)]  # a new best and a new worst
    a = lp.build_messages(hist, ["444"], max_history=200, order="chronological", scores="raw", listed=False)
    b = lp.build_messages(grown, ["555"], max_history=200, order="chronological", scores="raw", listed=False)
    assert a[0] == b[0] and a[0]["content"] == lp.SYSTEM_UNLISTED
    assert a[1]["content"].splitlines() == [lp.HEADER_RAW, "000|50.00,111|90.00"]
    assert b[1]["content"] == a[1]["content"] + ",222|99.50,333|10.00"
    assert "444" not in a[1]["content"]
    # normalised scores rescale on a new best: the earlier text changes
    n1 = lp.history_lines(hist, order="chronological")
    n2 = lp.history_lines(grown, order="chronological")
    assert not n2.startswith(n1)
    with pytest.raises(ValueError, match="score form"):
        lp.history_lines(hist, scores="percent")


def test_closest_to_best_breaks_ties_with_the_next_best():
    hist = [(0, 0, 0), (1, 1, 1)]
    pool = [(0, 1, 1), (0, 0, 2), (2, 2, 2)]
    # (0,1,1) and (0,0,2)... distances to best: 2, 1, 3 -> index 1
    assert closest_to_best(hist, pool) == 1
    pool = [(0, 0, 1), (0, 0, 2)]  # both at distance 1 from the best; (0,0,1) is nearer the 2nd best
    assert closest_to_best(hist, pool) == 0
    assert closest_to_best([], pool) == 0
    assert hamming((1, 2, 3), (1, 0, 3)) == 1
    assert oracle([3.0, 5.0, 5.0, 1.0]) == 1
