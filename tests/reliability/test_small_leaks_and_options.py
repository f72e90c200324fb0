"""YAML options that Python counts as equal (``1`` and ``true``) are refused instead of
silently merged (8); a list or null option gets a message about options, not booleans, and a
key prefix a server echoes in its error is not stored (23)."""

from __future__ import annotations

import json

import pytest

from _cli_helpers import run_cli
from _fake_http import serve_json, stop
from _fake_llm import LLM_FLAGS, body_for, collm_reply
from llmnas.errors import DataError
from llmnas.spaces.yaml_space import read_space_file
from llmnas.store import Store


def _space(tmp_path, options):
    p = tmp_path / "s.yaml"
    p.write_text(json.dumps({"name": "s", "decisions": [{"name": "a", "options": options},
                                                        {"name": "b", "options": [1, 2]}]}))
    return p


@pytest.mark.parametrize("options, words", [
    ([1, True, 2], "options 0 (1) and 1 (true) are equal to Python"),
    ([0, False], "options 0 (0) and 1 (false) are equal to Python"),
    ([1, 1.0], "options 0 (1) and 1 (1.0) are equal to Python"),
    (["x", "y", "x"], "options 0 ('x') and 2 ('x') are the same option twice"),
])
def test_options_that_compare_equal_are_refused(tmp_path, options, words):
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_space_file(_space(tmp_path, options))


def test_distinct_options_of_mixed_types_stay_distinct(tmp_path):
    space, _, _ = read_space_file(_space(tmp_path, [2, "two", True, "yes", 2.5]))
    assert space.size() == 10


@pytest.mark.parametrize("bad, what", [([1, [2]], "option 1 is a list"), ([None, 1], "option 0 is null"),
                                       ([{"x": 1}], "option 0 is a mapping")])
def test_a_list_or_null_option_is_named_as_such(tmp_path, bad, what):
    with pytest.raises(DataError) as err:
        read_space_file(_space(tmp_path, bad))
    assert what in str(err.value) and "boolean" not in str(err.value)


def test_a_key_prefix_echoed_in_a_422_is_not_stored(tmp_path):
    key = "sk-proj-abcdef123456789XYZ"

    n = [0]

    def answer(body, headers):
        n[0] += 1
        if n[0] <= 2:  # a first round that works (so the run has trials and keeps its events)
            return 200, body_for(collm_reply(body, n[0])), {}
        return 422, {"error": {"message": f"Incorrect API key provided: {key[:8]}********{key[-4:]}; "
                                          f"key starts {key[:10]}"}}, {}

    httpd, url = serve_json(answer)
    out = tmp_path / "r.sqlite"
    try:
        r = run_cli("search", *LLM_FLAGS, "--llm-base-url", url, "--llm-api-key-env", "K19", "--budget", "30",
                    "--out", str(out), "--study", "x", "-q", cwd=tmp_path, env={"K19": key}, timeout=60)
    finally:
        stop(httpd)
    assert r.returncode == 2 and "HTTP 422" in r.stderr
    assert key[:8] not in r.stderr and key[:6] not in r.stderr
    with Store(out, create=False) as st:
        events = " ".join(m for _, _, m in st.events(st.get_study("x").id))
    assert "HTTP 422" in events and key[:6] not in events
    assert key[:6].encode() not in out.read_bytes()
