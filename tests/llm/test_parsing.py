"""Lenient JSON parsing, schema validation and reasoning separation (llm/parsing.py)."""

from __future__ import annotations

import pytest

from llmnas.llm.parsing import check_schema, parse_json, split_reasoning, validate_schema

SCHEMA = {"type": "object",
          "properties": {"ops": {"type": "array", "items": {"enum": ["a", "b", "c"]},
                                 "minItems": 2, "maxItems": 2},
                         "keep": {"type": ["boolean", "null"]}},
          "required": ["ops"]}


def test_strict_json_is_ok() -> None:
    r = parse_json('{"ops": ["a", "b"]}', SCHEMA)
    assert (r.status, r.value, r.reason) == ("ok", {"ops": ["a", "b"]}, "")


@pytest.mark.parametrize("text", [
    'Sure! Here it is:\n```json\n{"ops": ["a", "b"]}\n```\nHope this helps.',
    '```\n{"ops": ["a", "b"]}\n```',
    'The answer is {"ops": ["a", "b"]} and that is final.',
    "{'ops': ['a', 'b']}",
    '{"ops": ["a", "b",],}',
    "{'ops': ['a', 'b'], 'keep': True}",
    '{"ops": ["a", "b"], "keep": None}',
    "{\n  'ops': [\n    'a',\n    'b',\n  ],\n}",
])
def test_lenient_forms_are_repaired(text: str) -> None:
    r = parse_json(text, SCHEMA)
    assert r.status == "repaired", r.reason
    assert r.value["ops"] == ["a", "b"]


def test_python_literals_map_to_json() -> None:
    r = parse_json("[True, False, None, 'x']")
    assert (r.status, r.value) == ("repaired", [True, False, None, "x"])


def test_strings_keep_brackets_quotes_and_escapes() -> None:
    r = parse_json("noise {'s': 'it\\'s [not] {a} bracket', \"t\": \"tab\\tq\\u0041\"} end")
    assert r.value == {"s": "it's [not] {a} bracket", "t": "tab\tqA"}


def test_truncated_reply_fails_with_reason() -> None:
    r = parse_json('{"ops": ["a", "b"', SCHEMA)
    assert r.status == "failed" and r.value is None
    assert "cut off" in r.reason or "unterminated" in r.reason


def test_unterminated_string_fails_with_reason() -> None:
    r = parse_json('{"ops": ["a", "b', SCHEMA)
    assert r.status == "failed" and "unterminated string" in r.reason


def test_no_json_at_all_fails() -> None:
    r = parse_json("I cannot help with that.", SCHEMA)
    assert r.status == "failed" and "no JSON" in r.reason


def test_prose_words_inside_brackets_fail() -> None:
    r = parse_json("[a, b]")
    assert r.status == "failed" and "unexpected word 'a'" in r.reason


def test_schema_violation_fails_with_path() -> None:
    r = parse_json('{"ops": ["a", "z"]}', SCHEMA)
    assert r.status == "failed"
    assert "schema:" in r.reason and "ops/1" in r.reason
    r = parse_json('{"ops": ["a"]}', SCHEMA)
    assert r.status == "failed" and "too short" in r.reason


def test_repaired_value_is_still_validated() -> None:
    r = parse_json("```json\n{'ops': ['a', 'q']}\n```", SCHEMA)
    assert r.status == "failed" and "schema:" in r.reason


def test_validate_schema_and_check_schema() -> None:
    assert validate_schema({"ops": ["c", "c"]}, SCHEMA) is None
    assert validate_schema({"ops": []}, SCHEMA) is not None
    assert check_schema(SCHEMA) is None
    assert check_schema({"type": "bogus"}) is not None


def test_split_reasoning() -> None:
    text, reasoning = split_reasoning("<think>weigh options</think>\n{\"a\": 1}")
    assert (text, reasoning) == ('{"a": 1}', "weigh options")
    text, reasoning = split_reasoning("answer", "from the server")
    assert (text, reasoning) == ("answer", "from the server")
    text, reasoning = split_reasoning("<think>never closed")
    assert (text, reasoning) == ("", "never closed")
