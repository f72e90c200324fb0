"""Help and usage errors as a new user meets them: choices from the registries, defaults,
``--version``, one ``error:`` line for a mistyped option, valid keys and did-you-mean hints."""

from __future__ import annotations

import pytest

import re

import llmnas
from llmnas.wording import plural


def _one_error_line(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "╭" not in r.stderr, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_search_help_lists_choices_and_defaults(cli):
    r = cli("search", "--help", env={"COLUMNS": "400"})
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    # the CLI process's registries: other test modules register test-only strategies in this one
    import subprocess
    import sys

    names = subprocess.run([sys.executable, "-c", "from llmnas.spaces import SPACES; from llmnas.strategies "
                            "import STRATEGIES; print(' '.join(SPACES.names() + STRATEGIES.names()))"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "collm" in names and "nb201" in names
    for name in names:
        assert re.search(rf"\b{re.escape(name)}\b", text), name
    assert "(default: collm" in text and "(default: nb201)" in text and "(default: 100)" in text
    assert "imagenet16-120" in text and "class_scene" in text  # datasets beyond NB201's
    # LLM back-ends and executor kinds come from their registries too (the CLI process's: a test
    # in this process may have registered a test-only back-end)
    from llmnas.config import ExecutorSettings

    backends = subprocess.run([sys.executable, "-c", "from llmnas.llm.backends import usage; print('|'.join(usage()))"],
                              capture_output=True, text=True, check=True).stdout.strip().split("|")
    assert "replay:<run path>" in backends and all(u in text for u in backends), text
    assert "local, process, ray" in text and "--workers" in text and "--ray-address" in text
    assert all(k in text for k in ExecutorSettings.model_fields if k not in ("kind", "workers", "ray_address"))


@pytest.mark.slow
def test_version_and_mistyped_option(cli):
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"llmnas {llmnas.__version__}"
    _one_error_line(cli("search", "--strateg", "rs"), "No such option: --strateg", "--strategy",
                    "see `llmnas search --help`")
    _one_error_line(cli("search", "--budget", "many"), "'--budget'")


@pytest.mark.slow
def test_unknown_keys_list_the_valid_ones(cli):
    _one_error_line(cli("search", "-q", "--out", "x.sqlite", "--strategy", "rea", "--option", "popsize=3"),
                    "unknown key 'popsize'", "did you mean 'population_size'", "valid keys: population_size")
    _one_error_line(cli("search", "-q", "--out", "x.sqlite", "--constraint", "flop_M <= 3"),
                    "unknown metric 'flop_M'", "did you mean 'flops_M'")


def test_plural():
    assert [plural(n, "worker") for n in (0, 1, 2)] == ["0 workers", "1 worker", "2 workers"]
    assert plural(1, "new candidate") == "1 new candidate"


def test_command_groups_each_plug_in_owns(cli):
    """`collm`, `lmsearcher` and `supernet` groups are mounted; `rank-poc` lives under `collm` and its
    old top-level name still runs (hidden from the command list)."""
    top = cli("--help", env={"COLUMNS": "200"})
    assert top.returncode == 0
    listed = {ln.split()[1] for ln in top.stdout.splitlines() if ln.startswith("│ ") and len(ln.split()) > 2}
    assert {"collm", "lmsearcher", "supernet", "llm", "search"} <= listed and "rank-poc" not in listed, listed
    for args in (("collm", "rank-poc", "--help"), ("rank-poc", "--help")):
        r = cli(*args, env={"COLUMNS": "200"})
        assert r.returncode == 0 and "Kendall tau" in r.stdout, (args, r.stdout, r.stderr)
