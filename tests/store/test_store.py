from __future__ import annotations

import sqlite3

import pytest

from llmnas.api import search
from llmnas.errors import StoreError
from llmnas.store import SCHEMA_VERSION, Store


def test_create_and_load_if_exists(tmp_path):
    p = tmp_path / "s.sqlite"
    with Store(p) as st:
        a = st.create_study("a", {"x": 1}, 7, {"python": "3"})
        with pytest.raises(StoreError, match="already exists.*llmnas resume"):
            st.create_study("a", {}, 7, {})
        b = st.create_study("a", {}, 0, {}, load_if_exists=True)
        assert a.id == b.id and b.config == {"x": 1} and b.seed == 7


def test_two_studies_need_a_name(tmp_path):
    p = tmp_path / "s.sqlite"
    search(store=p, study="one", strategy="rs", budget=3)
    search(store=p, study="two", strategy="rs", budget=3)
    with Store(p) as st:
        with pytest.raises(StoreError, match="holds 2 studies; pick one with --study"):
            st.get_study(None)
        assert st.get_study("two").name == "two"


def test_records_config_seed_versions_timings(tmp_path):
    p = tmp_path / "s.sqlite"
    search(store=p, study="x", strategy="rea", budget=12, seed=5, dataset="cifar100")
    with Store(p) as st:
        s = st.get_study("x")
        assert s.seed == 5 and s.config["strategy"] == "rea" and s.config["dataset"] == "cifar100"
        assert s.config["resolved"]["evaluator"]["signal"] == "val_200"
        assert "numpy" in s.versions and "python" in s.versions
        trials = st.trials(s.id)
        assert len(trials) == 12 and all(t.eval_seconds > 0 for t in trials)


def test_not_a_store(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a readable llmnas run store"):
        Store(junk)
    foreign = tmp_path / "foreign.sqlite"
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="not an llmnas run store"):
        Store(foreign)


def test_schema_version_mismatch_names_fix(tmp_path):
    p = tmp_path / "s.sqlite"
    Store(p).close()
    c = sqlite3.connect(p)
    c.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="upgrade llmnas"):
        Store(p)


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        Store(tmp_path / "none.sqlite", create=False)


def test_active_seconds_skip_the_pause_between_sessions(tmp_path):
    """Busy time is the union of trial and LLM-call spans: overlaps count once, and a pause
    between two sessions (an hour here) does not count at all."""
    p = tmp_path / "s.sqlite"
    search(store=p, study="x", strategy="rs", budget=4)
    with Store(p) as st:
        sid = st.get_study("x").id
        ids = [r[0] for r in st.conn.execute("SELECT id FROM trials WHERE study_id=? ORDER BY seq", (sid,))]
        spans = [(1000.0, 1010.0), (1005.0, 1020.0), (4600.0, 4605.0), (4610.0, 4611.0)]  # session 2 an hour later
        for tid, (a, b) in zip(ids, spans):
            st.conn.execute("UPDATE trials SET created_at=?, finished_at=? WHERE id=?", (a, b, tid))
        # an LLM call stored at 4610 that took 8 s: 4602-4610, overlapping the third trial
        st.conn.execute("INSERT INTO llm_calls(study_id, latency_s, record, created_at) VALUES (?,?,?,?)",
                        (sid, 8.0, "{}", 4610.0))
        st.conn.commit()
        # session 1: 1000-1020 (20 s); session 2: 4600-4610 and 4610-4611 (11 s)
        assert st.active_seconds(sid) == pytest.approx(31.0)
        assert st.active_seconds(sid, before=2000.0) == pytest.approx(20.0)
        assert st.active_seconds(sid, before=4603.0) == pytest.approx(23.0)
