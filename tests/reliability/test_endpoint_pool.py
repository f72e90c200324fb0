"""Endpoint pools (llm/pool.py) against real local HTTP servers that count the requests in
flight: per-endpoint limits hold across threads and processes, both servers are used, a dead
endpoint is skipped, a SIGKILLed holder frees its slot, and a run over a pool with an API key
never stores the key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from _cli_helpers import run_cli
from _fake_http import serve_json, stop
from _fake_llm import LLM_FLAGS, body_for, collm_reply, free_port
from llmnas.llm import LLMSettings, make_client, parse_llm_spec

MSG = [{"role": "user", "content": "hi"}]


class CountingServer:
    def __init__(self, delay: float = 0.15) -> None:
        self.delay, self.now, self.peak, self.total = delay, 0, 0, 0
        self.auth: set[str] = set()
        self.hold = threading.Event()
        self.hold.set()
        self._lock = threading.Lock()

        def answer(body: dict[str, Any], headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
            with self._lock:
                self.now += 1
                self.total += 1
                n = self.total
                self.peak = max(self.peak, self.now)
                self.auth.add(headers.get("Authorization", ""))
            try:
                self.hold.wait(30)
                time.sleep(self.delay)
            finally:
                with self._lock:
                    self.now -= 1
            return 200, body_for(collm_reply(body, n)), {}

        self.httpd, self.url = serve_json(answer)

    def close(self) -> None:
        self.hold.set()
        stop(self.httpd)


@pytest.fixture()
def servers():
    made: list[CountingServer] = []

    def make(**kw):
        made.append(CountingServer(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


FAST = {"backend": "openai", "model": "m", "max_retries": 0, "timeout_s": 10}


def _hammer(client, threads: int, calls: int) -> float:
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(calls):
                client.chat(MSG)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
    return time.perf_counter() - t0


def test_limits_hold_across_threads_and_both_endpoints_are_used(servers, tmp_path):
    a, b = servers(), servers()
    settings = LLMSettings(**FAST, base_url=a.url, cache_dir=str(tmp_path),
                           endpoints=[{"base_url": a.url, "max_concurrency": 2}, {"base_url": b.url, "max_concurrency": 1}])
    client = make_client(settings)
    try:
        wall = _hammer(client, threads=12, calls=3)
    finally:
        client.close()
    assert a.total + b.total == 36 and a.total > 0 and b.total > 0
    assert a.peak == 2 and b.peak == 1  # every limit reached, never exceeded
    assert wall < 36 * 0.15 * 0.75  # parallel: under the one-at-a-time time (5.4 s); 1.8 s at best with 3 slots


CHILD = r"""
import sys, threading
from llmnas.llm import LLMSettings, make_client
url, cache, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = make_client(LLMSettings(backend="openai", model="m", max_retries=0, timeout_s=60, base_url=url,
                                 max_concurrency=2, cache_dir=cache))
def work():
    for _ in range(calls):
        client.chat([{"role": "user", "content": "hi"}])
ts = [threading.Thread(target=work) for _ in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print("done")
"""


@pytest.mark.slow
def test_limit_holds_across_processes(servers, tmp_path):
    a = servers(delay=0.1)
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, a.url, str(tmp_path), "3", "3"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "done" in out, err
    assert a.total == 27 and a.peak == 2  # three processes, nine threads, never more than two at once


def test_sigkilled_holder_frees_its_slot(servers, tmp_path):
    a = servers(delay=0.0)
    a.hold.clear()  # the first request waits
    p = subprocess.Popen([sys.executable, "-c", CHILD.replace("max_concurrency=2", "max_concurrency=1"), a.url,
                          str(tmp_path), "1", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while a.total < 1 and time.time() < deadline:
        time.sleep(0.02)
    assert a.total == 1
    p.send_signal(signal.SIGKILL)
    p.wait()
    a.hold.set()
    client = make_client(LLMSettings(**FAST, base_url=a.url, max_concurrency=1, cache_dir=str(tmp_path)))
    t0 = time.perf_counter()
    try:
        assert client.chat(MSG).text
    finally:
        client.close()
    assert time.perf_counter() - t0 < 5 and a.total == 2


def test_dead_endpoint_is_skipped(servers, tmp_path):
    a = servers(delay=0.0)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    settings = parse_llm_spec("openai", base_url=f"{dead},{a.url}", model="m", max_retries=0, timeout_s=5,
                              cache_dir=str(tmp_path), max_concurrency=1)
    from _llm_helpers import ListSink

    sink = ListSink()
    client = make_client(settings, sink=sink)
    try:
        for _ in range(4):
            assert client.chat(MSG).text
    finally:
        client.close()
    assert a.total == 4 and all(r.endpoint == a.url for r in sink.records)
    bad = make_client(parse_llm_spec("openai", base_url=f"{dead},{dead}x", model="m", max_retries=0, timeout_s=5,
                                     cache_dir=str(tmp_path)))
    from llmnas.errors import EndpointError

    with pytest.raises(EndpointError, match="every endpoint of the pool failed this request"):
        bad.chat(MSG)


@pytest.mark.slow
def test_run_over_a_pool_with_a_key_never_stores_it(servers, tmp_path):
    a, b = servers(delay=0.0), servers(delay=0.0)
    key = "sk-test-" + os.urandom(8).hex()
    out = tmp_path / "pool.sqlite"
    r = run_cli("search", *LLM_FLAGS, "--llm-base-url", f"{a.url},{b.url}", "--llm-api-key-env", "POOL_KEY",
                "--llm-option", "max_concurrency=1", "--llm-option", f"cache_dir={tmp_path}", "--budget", "12",
                "--seed", "0", "--out", str(out), "--study", "x", "-q", cwd=tmp_path, env={"POOL_KEY": key})
    assert r.returncode == 0, r.stderr
    assert a.total > 0 and b.total > 0 and a.auth | b.auth == {f"Bearer {key}"}
    blobs = b"".join(p.read_bytes() for p in tmp_path.glob("pool.sqlite*"))
    assert key.encode() not in blobs and b"POOL_KEY" in blobs
    exported = run_cli("export", str(out), "--format", "json", cwd=tmp_path).stdout
    assert key not in exported and a.url in exported and b.url in exported


def test_bench_runs_as_many_llm_runs_as_the_pool_has_slots():
    from llmnas.bench import default_workers

    assert default_workers(["collm"]) == 1  # the embedded model already uses every core
    assert default_workers(["collm"], {"backend": "openai", "base_url": "u"}) == 1  # no limit known: one run
    pool = {"backend": "openai", "max_concurrency": 2, "endpoints": [{"base_url": "a"}, {"base_url": "b", "max_concurrency": 5}]}
    assert default_workers(["collm", "rs"], pool) == 7
