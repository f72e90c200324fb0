"""The live phase line: plain lines when not on a terminal, at once and then every few seconds;
run durations that leave out the pauses between sessions."""

from __future__ import annotations

import io
import re
import time

from _cli_helpers import run_cli
from rich.console import Console

from llmnas import progress_events, search
from llmnas.progress_view import LiveStatus


def test_plain_lines_come_at_once_on_a_phase_change_and_then_every_interval():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    with LiveStatus(console, "run", 20, 3, interval_s=0.6) as status:
        first = buf.getvalue()
        progress_events.llm_call("generator")
        progress_events.tokens(0, 0.0, waiting=True)
        time.sleep(1.3)  # a phase change is printed within a second
        progress_events.tokens(1, 1.0)  # the prompt took a second
        progress_events.tokens(24, 3.0)  # then 23 tokens in 2 s
        time.sleep(1.5)  # nothing changes: still a line every interval
        status.trial(4, "best val 0.9")
        time.sleep(0.8)
    lines = buf.getvalue().splitlines()
    assert first.startswith("run 3/20: starting")
    assert any("Generator: proposing candidates · reading the prompt" in ln for ln in lines)
    assert any("Generator: proposing candidates · 24 tokens, 11.5 tok/s" in ln for ln in lines)
    assert lines[-1].startswith("run 4/20: Generator")
    assert len(lines) >= 5
    stamps = [int(m.group(1)) for ln in lines if (m := re.search(r"· (\d+) s$", ln))]
    assert stamps[-1] >= 2  # the phase's own clock moves in every line


def test_piped_search_shows_its_phases_from_the_start(tmp_path):
    t0 = time.monotonic()
    r = run_cli("search", "--strategy", "rea", "--budget", "5", "--out", str(tmp_path / "r.sqlite"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == "preparing nb201 / cifar10: rea, budget 5, seed 0"
    assert lines[1] == "nb201-cifar10-rea-s0 0/5: starting · 0 s"
    progress = [ln for ln in lines if re.match(r"nb201-cifar10-rea-s0 \d/5: ", ln)]
    assert re.match(r"nb201-cifar10-rea-s0 5/5: evaluating: 1 architecture · \d+ s$", progress[-1])
    assert time.monotonic() - t0 < 60


def test_durations_of_a_resumed_run_leave_out_the_pause(tmp_path):
    store = tmp_path / "r.sqlite"
    t0 = time.monotonic()
    first = search(store=store, study="x", strategy="rea", budget=10, seed=0)
    time.sleep(3.0)  # idle between two invocations
    from llmnas import reopen

    run = reopen(store, "x", budget=20)
    try:
        second = run.run()
    finally:
        run.store.close()
    elapsed = time.monotonic() - t0
    assert second.n_evaluated == 20
    assert 0 < first.wall_s <= second.wall_s < elapsed - 2.5


def test_a_blocking_phase_is_printed_at_once_on_the_emitting_thread():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    with LiveStatus(console, "run", 20, 0, interval_s=60):
        progress_events.phase("loading the model", "m", blocking=True)
        assert buf.getvalue().splitlines()[-1] == "run 0/20: loading the model: m · 0 s"


def test_the_llm_phase_comes_back_after_the_model_load_it_triggered():
    from llmnas.progress_view import PhaseState

    state = PhaseState()
    for ev in (progress_events.Event("phase", *progress_events.ROLES["navigator"]),
               progress_events.Event("phase", "loading the model", "m", blocking=True),
               progress_events.Event("tokens", waiting=True), progress_events.Event("tokens", tokens=1, elapsed_s=1.0),
               progress_events.Event("tokens", tokens=30, elapsed_s=3.9)):
        state.on_event(ev)
    assert state.line().startswith("Navigator: writing the search strategy · 30 tokens, 10.0 tok/s · ")
