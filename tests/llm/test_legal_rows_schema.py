"""A YAML table space tells the LLM which combinations are legal: the description says how
many (and lists a small table's rows), and the JSON schema of a small table admits only its
rows, so the real embedded model's constrained decoding cannot propose a non-row."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema

from llmnas.llm import make_client
from llmnas.llm.client import ChatClient
from llmnas.spaces.yaml_space import build_yaml_problem

DECISIONS = """decisions:
  - {name: depth, options: [2, 3, 4]}
  - {name: act, options: [relu, gelu, silu]}
  - {name: width, options: [8, 16]}
"""


def _space(tmp_path: Path, keep: int):
    lines = ["depth,act,width,val"]
    for i, (d, a, w) in enumerate(itertools.product((2, 3, 4), ("relu", "gelu", "silu"), (8, 16))):
        if i % 3 == 0 and len(lines) <= keep:
            lines.append(f"{d},{a},{w},{0.5 + i / 100}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    y = tmp_path / "s.yaml"
    y.write_text("name: s\n" + DECISIONS + "evaluator: {type: table, path: t.csv, signal: val}\n")
    return build_yaml_problem(y)[0]


def test_description_and_schema_name_the_legal_rows(tmp_path):
    space = _space(tmp_path, 6)
    text = space.describe()
    assert "Only 6 of the 18 combinations of these options are legal" in text
    assert '- {"depth": 2, "act": "relu", "width": 8}' in text
    schema = space.arch_json_schema()
    legal = {"depth": 2, "act": "relu", "width": 8}
    jsonschema.validate(legal, schema)
    assert space.check(legal) is None
    illegal = {"depth": 2, "act": "relu", "width": 16}
    assert space.check(illegal) is not None
    try:
        jsonschema.validate(illegal, schema)
        raise AssertionError("the schema admitted a combination that is not a table row")
    except jsonschema.ValidationError:
        pass


def test_constrained_decoding_proposes_only_table_rows(embedded: ChatClient, tmp_path):
    space = _space(tmp_path, 6)
    schema = {"type": "object", "required": ["candidates"], "additionalProperties": False,
              "properties": {"candidates": {"type": "array", "items": space.arch_json_schema(),
                                            "minItems": 8, "maxItems": 8}}}
    client = make_client(embedded.settings)
    try:
        reply = client.chat([{"role": "user", "content": "Propose 8 architectures as JSON: "
                              "depth 2-4, act relu/gelu/silu, width 8/16."}],
                            schema=schema, purpose="generator", max_tokens=400, temperature=1.0, seed=1)
    finally:
        client.close()
    cands = json.loads(reply.text)["candidates"] if reply.parsed is None else reply.parsed["candidates"]
    assert len(cands) == 8
    assert [space.check(c) for c in cands] == [None] * 8
