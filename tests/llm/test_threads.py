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
