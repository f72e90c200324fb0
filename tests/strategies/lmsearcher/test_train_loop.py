"""The step loop both LM-Searcher trainers share (``train_loop.run_steps``): a checkpoint every
``checkpoint_every`` steps and at the stop, one CSV row per step, and Ctrl-C saving the steps
done before it re-raises. The trainers' own tests run it on real models and data; here a
scripted step shows the control flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmnas.errors import ConfigError, DataError
from llmnas.strategies.lmsearcher.train_loop import TrainState, held_out_split, open_training, run_steps


def _loop(state, stop_at, interrupt_at=None, saved=None, said=None):
    saved = [] if saved is None else saved
    said = [] if said is None else said

    def one_step(step):
        if step == interrupt_at:
            raise KeyboardInterrupt
        return 1.0 / (step + 1), [step * 10.0], 0.5

    def checkpoint(step):
        saved.append((step, list(state.losses)))
        return Path(f"ck-{step}")

    run_steps(state, title="t", total=10, stop_at=stop_at, checkpoint_every=3, one_step=one_step,
              checkpoint=checkpoint, console=None, progress=False, say=said.append)
    return saved, said


def test_checkpoints_every_n_steps_and_at_the_stop():
    state = TrainState()
    saved, said = _loop(state, stop_at=7)
    assert [s for s, _ in saved] == [3, 6, 7] and state.step == 7
    assert [r[:3] for r in state.rows] == [[i + 1, 1.0 / (i + 1), i * 10.0] for i in range(7)]
    assert all(r[3] == 0.5 and r[4] >= 0 for r in state.rows) and state.seconds == pytest.approx(sum(r[4] for r in state.rows))
    assert said[0].startswith("step 3/10: mean loss") and len(said) == 3
    resumed = TrainState.from_saved({**state.as_dict()})  # what a checkpoint's state.json holds
    saved, _ = _loop(resumed, stop_at=10)
    assert [s for s, _ in saved] == [9, 10] and resumed.rows[:7] == state.rows and len(resumed.rows) == 10


def test_ctrl_c_saves_the_steps_done_then_stops():
    state, saved, said = TrainState(), [], []
    with pytest.raises(KeyboardInterrupt):
        _loop(state, stop_at=10, interrupt_at=4, saved=saved, said=said)
    assert state.step == 4 and len(state.rows) == 4 and [s for s, _ in saved] == [3, 4]
    assert said[-1] == "interrupted: step 4 saved in ck-4; continue with --resume"
    state2, saved2 = TrainState(), []
    with pytest.raises(KeyboardInterrupt):
        _loop(state2, stop_at=10, interrupt_at=0, saved=saved2)  # nothing done: nothing saved
    assert state2.step == 0 and saved2 == []


def test_open_training_refuses_a_resume_of_nothing_and_a_new_run_over_an_old(tmp_path):
    with pytest.raises(ConfigError, match="nothing to resume"):
        open_training(tmp_path, True, None, "", frozenset())
    (tmp_path / "train.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a training run"):
        open_training(tmp_path, False, None, "", frozenset())


def test_held_out_split_is_seeded_and_keeps_a_training_set():
    items = list(range(50))
    val, train = held_out_split(items, 3, 8, "d.jsonl")
    assert len(val) == 8 and sorted(val + train) == items and held_out_split(items, 3, 8, "d")[0] == val
    assert held_out_split(items, 4, 8, "d")[0] != val
    with pytest.raises(DataError, match="too few examples"):
        held_out_split([], 0, 8, "d.jsonl")
