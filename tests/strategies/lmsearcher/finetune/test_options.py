"""Fast checks of the fine-tuning options, data reader, schedule and data order, and the CLI's
one-line errors (bad options and data fail before any model is loaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _cli_helpers import run_cli
from llmnas.errors import ConfigError, DataError
from llmnas.strategies.lmsearcher.finetune.config import make_config
from llmnas.strategies.lmsearcher.finetune.data import read_conversations
from llmnas.strategies.lmsearcher.finetune.presets import PRESETS, get_preset
from llmnas.strategies.lmsearcher.train_loop import example_at, lr_factor
from llmnas.llm.models import read_gguf_metadata


def _line(messages: list[dict]) -> str:
    return json.dumps({"messages": messages, "meta": {}})


GOOD = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
        {"role": "assistant", "content": "0123"}]


def test_config_rejects_bad_values_with_the_field_name() -> None:
    with pytest.raises(ConfigError, match="rank"):
        make_config(data="d", out="o", rank=0)
    with pytest.raises(ConfigError, match="unknown LoRA target lm_head"):
        make_config(data="d", out="o", targets=["q_proj", "lm_head"])
    with pytest.raises(ConfigError, match="device"):
        make_config(data="d", out="o", device="tpu")
    with pytest.raises(ConfigError, match="epochs: Extra inputs"):
        make_config(data="d", out="o", epochs=3)
    assert make_config(data="d", out="o", targets=["v_proj", "v_proj"]).targets == ["v_proj"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not JSON"),
    (_line(GOOD[:2]), "last message must be the assistant"),
    (json.dumps({"prompt": "x"}), "needs a \"messages\" list"),
    (_line([{"role": "robot", "content": "x"}, GOOD[2]]), "role"),
    (_line(GOOD[:2] + [{"role": "assistant", "content": "  "}]), "assistant's answer"),
])
def test_bad_data_lines_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_line(GOOD) + "\n" + content + "\n")
    with pytest.raises(DataError, match=message) as info:
        read_conversations(path)
    assert f"{path}:2" in str(info.value)


def test_data_reader_keeps_the_messages_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_line(GOOD) + "\n\n" + _line(GOOD) + "\n")
    assert read_conversations(path) == [GOOD, GOOD]
    with pytest.raises(DataError, match="does not exist; write it with: llmnas lmsearcher"):
        read_conversations(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="holds no examples"):
        read_conversations(tmp_path / "empty.jsonl")


def test_schedule_warms_up_then_decays_to_a_tenth() -> None:
    assert lr_factor(0, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 100, 0.1) == pytest.approx(0.55)
    assert lr_factor(100, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(0, 5, 0.0) == pytest.approx(1.0)


def test_data_order_is_a_seeded_permutation_per_epoch() -> None:
    first = [example_at(i, 10, seed=1) for i in range(10)]
    second = [example_at(i, 10, seed=1) for i in range(10, 20)]
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second  # a fresh shuffle each epoch
    assert first == [example_at(i, 10, seed=1) for i in range(10)]
    assert first != [example_at(i, 10, seed=2) for i in range(10)]


def test_preset_holds_out_the_benchmark_datasets() -> None:
    preset = get_preset("shipped-ranker")
    assert {"nb201:cifar100", "nb201:imagenet16-120"} <= set(preset.data["exclude"])
    assert "--exclude nb201:cifar100,nb201:imagenet16-120" in preset.data_command("x.jsonl")
    make_config(data="d", out="o", **preset.train)  # the preset's settings are valid
    with pytest.raises(ConfigError, match="unknown preset 'nope'; choose one of: "
                       + ", ".join(PRESETS)):
        get_preset("nope")


def test_gguf_metadata_reader_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04 not gguf")
    with pytest.raises(ValueError, match="no GGUF magic"):
        read_gguf_metadata(bad)


@pytest.mark.parametrize("args, message", [
    ([], "give --data FILE.jsonl"),
    (["--data", "missing.jsonl"], "training data missing.jsonl does not exist"),
    (["--data", "d.jsonl", "--rank", "0"], "train option rank"),
    (["--data", "d.jsonl", "--targets", "q_proj,foo"], "unknown LoRA target foo"),
    (["--data", "d.jsonl", "--base", "gpt-9"], "unknown base model 'gpt-9'"),
    (["--data", "d.jsonl", "--resume"], "nothing to resume"),
    (["--preset", "shipped-ranker", "--data", "d.jsonl"], "drop --data"),
    (["--data", "bad.jsonl"], "bad.jsonl:1 is not JSON"),
])
def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "d.jsonl").write_text(_line(GOOD) + "\n")
    (tmp_path / "bad.jsonl").write_text("oops\n")
    done = run_cli("lmsearcher", "train", "--out", "run", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr
