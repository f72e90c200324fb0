"""`llmnas export --format optuna`: a run reopened with plain optuna.load_study matches `llmnas show`."""

from __future__ import annotations

import re

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from llmnas.api import search
from llmnas.cli import main
from llmnas.runner import summarize
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store


def _show(capsys, path) -> str:
    assert main(["show", str(path)]) == 0
    return capsys.readouterr().out


def _journal(path):
    return JournalStorage(JournalFileBackend(str(path)))


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_exported_run_matches_show(tmp_path, capsys, storage):
    run = tmp_path / "rea.sqlite"
    search(store=run, study="rea", strategy="rea", budget=40, seed=7, dataset="cifar100")
    with Store(run) as st:
        info = st.get_study("rea")
        s = summarize(st, info)
    out = str(tmp_path / "rea.journal") if storage == "journal" else f"sqlite:///{tmp_path / 'rea.db'}"
    assert main(["export", str(run), "--format", "optuna", "--out", out]) == 0
    shown = _show(capsys, run)
    study = optuna.load_study(study_name="rea", storage=_journal(out) if storage == "journal" else out)
    # `llmnas show`: "40 evaluated of N proposals", best architecture and its signal
    m = re.search(r"(\d+) evaluated of (\d+) proposals", shown)
    assert m and int(m.group(2)) == len(study.trials) == s.n_trials
    assert int(m.group(1)) == sum(t.user_attrs["status"] == "ok" for t in study.trials)
    assert study.best_value == pytest.approx(s.best.signal)
    assert f"{study.best_value:.4f}" in shown
    assert study.best_params == s.best.arch
    key = NB201Space().canonical_key(study.best_params)  # `show` prints the best architecture's key
    assert re.search(rf"\bkey\s*│\s*{key}\b", shown)
    best = study.best_trial
    assert best.user_attrs["test_200"] == pytest.approx(s.best.report)
    assert best.user_attrs["llmnas_seq"] == s.best.seq and best.number == s.best.seq
    assert study.user_attrs["strategy"] == "rea" and study.user_attrs["dataset"] == "cifar100"
    assert {t.user_attrs["source"] for t in study.trials} == {"random", "mutation"}


def test_constrained_run_best_is_the_feasible_best(tmp_path):
    run = tmp_path / "c.sqlite"
    search(store=run, study="c", strategy="rs", budget=60, seed=1, dataset="cifar10", constraints=["params_M <= 0.5"])
    with Store(run) as st:
        info = st.get_study("c")
        trials, s = st.trials(info.id), summarize(st, info)
    best_any = max((t for t in trials if t.status == "ok"), key=lambda t: t.signal)
    assert not best_any.feasible, "the unconstrained best violates the constraint (else this test proves nothing)"
    out = tmp_path / "c.journal"
    assert main(["export", str(run), "-f", "optuna", "--out", str(out)]) == 0
    study = optuna.load_study(study_name="c", storage=_journal(out))
    assert study.best_params == s.best.arch and study.best_value == pytest.approx(s.best.signal)
    infeasible = [t for t in study.trials if not t.user_attrs["feasible"]]
    assert infeasible and all(t.constraints["params_M <= 0.5"] > 0 for t in infeasible)


def test_bench_folder_gives_one_study_per_strategy_dataset_seed(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--space", "nb201", "--datasets", "cifar10,cifar100", "--strategies", "rs,optuna-tpe",
                 "--budgets", "15", "--seeds", "2", "--workers", "1", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    journal = tmp_path / "bench.journal"
    assert main(["export", str(out), "--format", "optuna", "--out", str(journal)]) == 0
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(_journal(journal)))
    assert names == sorted(f"{st}-{ds}-b15/s{seed}" for st in ("rs", "optuna-tpe") for ds in ("cifar10", "cifar100")
                           for seed in (0, 1))
    study = optuna.load_study(study_name="optuna-tpe-cifar100-b15/s1", storage=_journal(journal))
    assert sum(t.state == TrialState.COMPLETE and t.user_attrs["status"] == "ok" for t in study.trials) == 15
    # a second export into the same file refuses to duplicate studies
    assert main(["export", str(out), "--format", "optuna", "--out", str(journal)]) == 2
    assert "already holds a study" in capsys.readouterr().err


def test_export_optuna_needs_out(tmp_path, capsys):
    run = tmp_path / "r.sqlite"
    search(store=run, strategy="rs", budget=3, seed=0)
    assert main(["export", str(run), "--format", "optuna"]) == 2
    assert "needs --out" in capsys.readouterr().err


def test_collm_iterations_carry_the_navigator_strategy(tmp_path):
    """A CoLLM run (scripted Navigator/Generator): each iteration's strategy text on its first
    trial (user attribute and dashboard note) and every strategy in the study note."""
    from optuna_dashboard import get_note

    from tests.strategies.collm_helpers import Script, make_run, random_candidates

    run, _ = make_run(tmp_path, Script(random_candidates(seed=1)), budget=20, study="collm")
    try:
        run.run()
    finally:
        run.store.close()
    out = tmp_path / "collm.journal"
    assert main(["export", str(tmp_path / "run.sqlite"), "-f", "optuna", "--out", str(out)]) == 0
    study = optuna.load_study(study_name="collm", storage=_journal(out))
    firsts = [t for t in study.trials if "navigator_strategy" in t.user_attrs]
    assert [t.user_attrs["iteration"] for t in firsts] == [1, 2]
    assert [t.user_attrs["source"] for t in firsts] == ["generator#1", "generator#2"]
    assert "strategy 1" in firsts[0].user_attrs["navigator_strategy"]
    assert "strategy 2" in firsts[1].user_attrs["navigator_strategy"]
    note = get_note(optuna.trial.Trial(study, firsts[1]._trial_id))
    assert "iteration 2" in note and "strategy 2" in note
    body = get_note(study)
    assert "strategy 1" in body and "strategy 2" in body
    assert all(t.user_attrs["role"] == "generator" for t in study.trials)
