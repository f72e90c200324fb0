"""The supernet commands end to end: train, info, search, compare, rank-check, retrain + export."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from _cli_helpers import run_cli  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    r = run_cli("supernet", "train", "--space", "spos", "--preset", "tiny", "--out", "spos.pt", cwd=root)
    assert r.returncode == 0, r.stderr
    return root, r


def test_train_prints_time_and_inherited_accuracy(trained):
    root, r = trained
    assert "supernet spos: 100 steps" in r.stdout and "largest subnet" in r.stdout and "smallest" in r.stdout
    info = run_cli("supernet", "info", "spos.pt", cwd=root)
    assert info.returncode == 0 and "step 100 of 100 (done)" in info.stdout and "64 subnets" in info.stdout
    again = run_cli("supernet", "train", "--space", "spos", "--preset", "tiny", "--out", "spos.pt", cwd=root)
    assert again.returncode == 2 and again.stderr.strip().startswith("error:") and "--resume" in again.stderr


def test_search_then_retrain_and_export(trained):
    root, _ = trained
    r = run_cli("search", "--space", "spos", "--space-option", "supernet=spos.pt", "--space-option", "val_images=300",
                "--strategy", "supernet-ea", "--budget", "12", "--option", "population_size=6", "--option", "top_k=3",
                "--option", "mutation_num=2", "--option", "crossover_num=2", "--constraint", "flops_M <= 0.45",
                "--out", "run.sqlite", "-q", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "best by signal" in r.stdout
    r = run_cli("retrain", "run.sqlite", "--steps", "15", "--out", "final", "-q", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    meta = json.loads((root / "final" / "model.json").read_text())
    assert meta["space"] == "spos" and meta["steps"] == 15 and 0 <= meta["test_acc"] <= 100
    assert meta["flops"] <= 0.45e6 and meta["input"]["shape"] == [None, 1, 28, 28]
    model = torch.jit.load(str(root / "final" / "model.pt"))
    out = model(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 10)
    supernet_params = sum(v.numel() for k, v in torch.load(root / "spos.pt", weights_only=True)["model"].items()
                          if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert 0 < meta["exported_weights"] < supernet_params  # only the chosen path's weights are exported
    again = run_cli("retrain", "run.sqlite", "--steps", "15", "--out", "final", "-q", cwd=root)
    assert again.returncode == 2 and "--resume" in again.stderr


def test_compare_and_rank_check(trained):
    root, _ = trained
    r = run_cli("supernet", "compare", "--supernet", "spos.pt", "--runs", "rs:5,supernet-ea:8", "--constraint",
                "flops_M <= 0.45", "--space-option", "val_images=200", "--option", "supernet-ea.population_size=4",
                "--option", "supernet-ea.top_k=2", "--out", "cmp.sqlite", "-q", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "rs" in r.stdout and "supernet-ea" in r.stdout and "best val acc" in r.stdout
    r = run_cli("supernet", "compare", "--supernet", "spos.pt", "--runs", "rs:6,supernet-ea:9", "--option",
                "supernet-ae.top_k=2", "--out", "cmp.sqlite", "-q", cwd=root)  # a typo in an option's strategy
    assert r.returncode == 2 and "'supernet-ae' is not one of this command's strategies" in r.stderr, r.stderr
    r = run_cli("supernet", "rank-check", "--supernet", "spos.pt", "--subnets", "3", "--steps", "5",
                "--val-images", "200", "--out", "rank.json", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "Kendall tau (inherited vs stand-alone, 3 subnets" in r.stdout and "random ranking" in r.stdout
    data = json.loads((root / "rank.json").read_text())
    assert len(data["rows"]) == 3 and -1 <= data["tau"] <= 1


def test_missing_supernet_is_one_error_line(tmp_path):
    r = run_cli("search", "--space", "ofa", "--strategy", "rs", "--budget", "3", cwd=tmp_path)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("preparing ")]  # the progress line, then the error
    assert len(lines) == 1 and "llmnas supernet train --space ofa" in r.stderr.replace("\n", " ")
