"""Bad settings are refused before a study is written, or the new study is taken back: a secret
in a config is never stored nor echoed (5); a typo in an LLM key, an unset key variable, a bad
``replay:`` path or a broken prompt template leave no study behind, so the corrected command
works (6); ``--load-if-exists`` refuses flags that contradict the stored study (19)."""

from __future__ import annotations

import sqlite3

import pytest

from _cli_helpers import run_cli
from _fake_http import serve_json, stop
from _fake_llm import LLM_FLAGS, body_for, collm_reply

SECRET = "sk-live-DO-NOT-STORE-4242"


def _one_error(err):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def llm_server():
    n = [0]

    def answer(body, headers):
        n[0] += 1
        return 200, body_for(collm_reply(body, n[0])), {}

    httpd, url = serve_json(answer)
    yield url
    stop(httpd)


def _no_secret_anywhere(tmp_path):
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix != ".yaml":  # the user's own config file holds it, nothing else
            assert SECRET.encode() not in f.read_bytes(), f


@pytest.mark.slow
def test_a_secret_in_a_yaml_config_is_refused_and_never_stored(tmp_path, llm_server):
    out = tmp_path / "r.sqlite"
    for section in (f"{{backend: openai, base_url: '{llm_server}', model: fake, api_key: {SECRET}}}",
                    f"{{backend: openai, base_url: '{llm_server}', model: fake, endpoints: [{{base_url: '{llm_server}', token: {SECRET}}}]}}"):
        (tmp_path / "c.yaml").write_text(f"strategy: collm\nbudget: 6\nllm: {section}\n")
        r = run_cli("search", "--config", str(tmp_path / "c.yaml"), "--out", str(out), "--study", "x", "-q",
                    cwd=tmp_path, timeout=60)
        line = _one_error(r.stderr)
        assert r.returncode == 2 and "api_key_env" in line and SECRET not in r.stderr + r.stdout
        assert not out.exists()
    _no_secret_anywhere(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("bad, fix", [
    (["--llm-option", "temprature=0.2"], ["--llm-option", "temperature=0.2"]),
    (["--llm-api-key-env", "LLMNAS_UNSET_VAR_19"], ["--llm-api-key-env", "LLMNAS_SET_VAR_19"]),
    (["--option", "prompt_dir=PROMPTS"], []),
])
def test_an_error_found_at_start_leaves_no_study(tmp_path, llm_server, bad, fix):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "generator_user.md").write_text("Propose {n} cells {unclosed")
    bad = [a.replace("PROMPTS", str(prompts)) for a in bad]
    out = tmp_path / "r.sqlite"
    args = ["search", *LLM_FLAGS, "--llm-base-url", llm_server, "--budget", "6", "--out", str(out), "--study", "x", "-q"]
    env = {"LLMNAS_SET_VAR_19": "k"}
    r = run_cli(*args, *bad, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    _one_error(r.stderr)
    if out.exists():
        c = sqlite3.connect(out)
        assert c.execute("SELECT COUNT(*) FROM studies").fetchone()[0] == 0
        c.close()
    r = run_cli(*args, *fix, cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stderr  # not "study 'x' already exists"


@pytest.mark.slow
def test_a_bad_replay_path_leaves_no_study(tmp_path):
    out = tmp_path / "r.sqlite"
    base = ["search", "--strategy", "collm", "--budget", "4", "--out", str(out), "--study", "x", "-q"]
    r = run_cli(*base, "--llm", f"replay:{tmp_path / 'missing.sqlite'}", cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "not found" in _one_error(r.stderr)
    assert not out.exists()
    r = run_cli(*base[:-3], "--strategy", "rs", "--out", str(out), "--study", "x", "-q", cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_load_if_exists_refuses_conflicting_flags(tmp_path):
    out = tmp_path / "r.sqlite"
    base = ["search", "--budget", "5", "--out", str(out), "--study", "x", "-q", "--load-if-exists"]
    assert run_cli(*base, "--strategy", "rs", "--seed", "1", cwd=tmp_path).returncode == 0
    r = run_cli(*base, "--strategy", "rea", "--seed", "2", "--dataset", "cifar100", cwd=tmp_path)
    line = _one_error(r.stderr)
    assert r.returncode == 2 and "strategy='rs'" in line and "strategy='rea'" in line and "seed=2" in line
    assert "dataset='cifar100'" in line
    r = run_cli(*base, "--strategy", "rs", "--seed", "1", cwd=tmp_path)  # the same flags: continues
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_load_if_exists_takes_this_sessions_threads_and_timeouts(tmp_path, llm_server):
    """A run stored with 2 threads continues with 1 (as `bench --workers` changes it), and with
    another timeout; a setting that changes the answers (temperature) is still refused."""
    out = tmp_path / "r.sqlite"
    base = ["search", *LLM_FLAGS, "--llm-base-url", llm_server, "--out", str(out), "--study", "x", "-q",
            "--load-if-exists"]
    first = run_cli(*base, "--budget", "4", "--llm-option", "n_threads=2", cwd=tmp_path, timeout=60)
    assert first.returncode == 0, first.stderr
    r = run_cli(*base, "--budget", "4", "--llm-option", "n_threads=1", "--llm-option", "timeout_s=30",
                cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    r = run_cli(*base, "--budget", "4", "--llm-option", "n_threads=1", "--llm-option", "temperature=0.1",
                cwd=tmp_path, timeout=60)
    line = _one_error(r.stderr)
    assert r.returncode == 2 and "llm.temperature=0.7" in line and "llm.temperature=0.1" in line, line
    assert "n_threads" not in line and len(line) < 400, line  # only the setting that differs


@pytest.mark.slow
def test_a_typo_in_the_config_files_llm_section_leaves_no_study(tmp_path, llm_server):
    out = tmp_path / "r.sqlite"
    llm = f"{{backend: openai, base_url: '{llm_server}', model: fake, TYPO: 0.2}}"
    opts = "strategy_options: {n_min: 4, n_max: 6, navigator_max_tokens: 64}\n"
    (tmp_path / "bad.yaml").write_text(f"strategy: collm\nbudget: 6\n{opts}llm: {llm.replace('TYPO', 'temprature')}\n")
    (tmp_path / "good.yaml").write_text(f"strategy: collm\nbudget: 6\n{opts}llm: {llm.replace('TYPO', 'temperature')}\n")
    for name, rc in (("bad", 2), ("good", 0)):
        r = run_cli("search", "--config", str(tmp_path / f"{name}.yaml"), "--out", str(out), "--study", "x", "-q",
                    cwd=tmp_path, timeout=60)
        assert r.returncode == rc, r.stderr
        if rc == 2:
            assert "unknown key 'temprature'" in _one_error(r.stderr) and not out.exists()
