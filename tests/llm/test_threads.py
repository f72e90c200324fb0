"""The embedded model's default threads: every core when the machine is idle *now*, one fewer
while other work keeps a core busy (docs/llm.md, "Threads")."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from llmnas.llm import embedded

STAT = """cpu  400 0 100 1000 0 0 0 0 0 0
cpu0 100 0 50 500 0 0 0 0 0 0
cpu1 300 0 50 500 0 0 0 0 0 0
intr 12345
"""


def test_cpu_times_sums_the_chosen_cpus():
    # busy = user + nice + system + irq + softirq + steal; idle and iowait are not busy
    assert embedded.cpu_times(STAT) == (500.0, 1500.0)
    assert embedded.cpu_times(STAT, cpus={1}) == (350.0, 850.0)
    assert embedded.cpu_times(STAT, cpus={7}) is None
    assert embedded.cpu_times("intr 1\n") is None


@pytest.mark.parametrize("cores,busy,threads", [
    (2, 0.0, 2), (2, 0.49, 2), (2, 0.5, 1), (2, 1.7, 1), (1, 3.0, 1), (16, 0.1, 8), (16, 4.0, 8), (4, 1.0, 3),
])
def test_threads_for(cores, busy, threads):
    assert embedded.threads_for(cores, busy) == threads


@pytest.mark.skipif(not os.path.exists("/proc/stat") or not hasattr(os, "sched_getaffinity"),
                    reason="reads /proc/stat")
def test_a_busy_process_is_seen_at_once():
    """A process spinning on one of our cores is counted within the half-second sample, whatever
    the 1-minute load average says (it lags by minutes, which is what this rule replaces)."""
    cpu = min(os.sched_getaffinity(0))
    spin = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    try:
        time.sleep(0.3)
        busy = embedded.busy_cores()
    finally:
        spin.kill()
        spin.wait()
    assert busy is not None and busy >= 0.7, busy
    if len(os.sched_getaffinity(0)) > 1:
        assert embedded.threads_for(len(os.sched_getaffinity(0)), busy) == len(os.sched_getaffinity(0)) - 1


def test_a_running_server_is_shared_without_sampling_again(monkeypatch, tmp_path):
    """While a server runs, another client that leaves the threads to the rule gets that server:
    the rule is not asked again (sampling then would count the server's own threads as other
    work, pick fewer threads and start a second copy of the model)."""
    from llmnas.llm.base import LLMSettings
    from llmnas.llm.models import ResolvedModel

    model = ResolvedModel(name="m", path=tmp_path / "m.gguf", sha256=None)
    started, asked = [], []
    monkeypatch.setattr(embedded, "resolve_model", lambda name, cache_dir=None: model)
    monkeypatch.setattr(embedded, "_RUNNING", {})

    def fake_start(model, n_ctx, threads, slots=1, speculative="none"):
        started.append(threads)
        return embedded.EmbeddedServer(model, "http://127.0.0.1:1", "t", threads=threads, slots=slots)

    def fake_rule():
        asked.append(1)
        return 2 if len(asked) == 1 else 1  # the second answer would differ: the server is busy

    monkeypatch.setattr(embedded, "_start", fake_start)
    monkeypatch.setattr(embedded, "default_threads", fake_rule)
    first = embedded.acquire(LLMSettings())
    second = embedded.acquire(LLMSettings())
    assert second is first and first.users == 2
    assert started == [2] and asked == [1]
    pinned = embedded.acquire(LLMSettings(n_threads=1))  # threads named: its own server
    assert pinned is not first and started == [2, 1]
    for server in (first, second, pinned):
        embedded.release(server)
    assert embedded._RUNNING == {}
