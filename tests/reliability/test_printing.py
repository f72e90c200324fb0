"""User and LLM text is printed literally: rich markup in a study name, a path or a reply is not
interpreted (9), and terminal control sequences in stored text are stripped on display (15)."""

from __future__ import annotations

import pytest

from _cli_helpers import run_cli
from llmnas.store import Store


@pytest.mark.slow  # several CLI runs: >10 s on a busy 2-core machine
def test_markup_in_names_and_paths_prints_literally(tmp_path):
    for study in ("[/]", "a[b]c", "[bold red]x"):
        out = tmp_path / "m.sqlite"
        r = run_cli("search", "--strategy", "rs", "--budget", "4", "--out", str(out), "--study", study, cwd=tmp_path)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert f"{study}: stopped on budget" in r.stdout, r.stdout
        shown = run_cli("show", str(out), "--study", study, "--trials", "2", cwd=tmp_path)
        assert shown.returncode == 0 and f"{study} (" in shown.stdout, shown.stderr
        out.unlink()
    r = run_cli("search", "--strategy", "rs", "--budget", "4", "--out", "[red]/[/]x.sqlite", "-q", cwd=tmp_path)
    assert r.returncode == 0 and "store: " in r.stdout and "[red]/[/]x.sqlite" in r.stdout, r.stdout
    assert (tmp_path / "[red]" / "[/]x.sqlite").exists()


@pytest.mark.slow
def test_control_sequences_in_stored_text_are_stripped_on_display(tmp_path):
    out = tmp_path / "e.sqlite"
    assert run_cli("search", "--strategy", "rs", "--budget", "4", "--out", str(out), "--study", "x", "-q",
                   cwd=tmp_path).returncode == 0
    evil = "keep nor_conv_3x3 \x1b[2J\x1b]0;owned\x07 and \x1b[31mred\x1b[0m \u202eevil"
    with Store(out) as st:
        st.add_llm_call(st.get_study("x").id, 0, {"purpose": "navigator", "text": evil, "messages": [], "params": {}})
    shown = run_cli("show", str(out), "--strategy-text", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "keep nor_conv_3x3" in shown.stdout and "red" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\u202e" not in shown.stdout
