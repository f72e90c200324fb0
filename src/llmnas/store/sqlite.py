"""SQLite run store: the one source of truth for a run.

One file holds one or more named *studies* (runs), Optuna-style: ``Store(path)`` opens or
creates the file; ``create_study(name, ..., load_if_exists=True)`` returns an existing study of
that name instead of failing. Invariants:

* a proposal is written as a ``pending`` trial, together with the strategy state after the ask,
  in one transaction; it becomes final (ok / duplicate / illegal / over_budget / failed) in its
  own transaction the moment it is finished, and never changes after that;
* the strategy state after a ``tell`` is committed in one transaction (phase ``told``);
* the schema version is ``PRAGMA user_version``; a file of another version, or not a store at
  all, gets a :class:`~llmnas.errors.StoreError` that names the fix.

WAL journal with ``synchronous=NORMAL``: a killed process never loses a committed trial (the
WAL is in the OS cache); only a power cut can drop the last few commits.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import StoreError
from .conversations import Conversations, expand_calls
from ..types import PENDING, Trial

SCHEMA_VERSION = 1
_EMPTY_USAGE = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "llm_seconds": 0.0,
                "cached_tokens": 0, "cut": 0}
APP_ID = 0x4C4E4153  # "LNAS", PRAGMA application_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    versions TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    stop_reason TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies(id),
    seq INTEGER NOT NULL,
    round INTEGER NOT NULL,
    number INTEGER,
    key TEXT NOT NULL,
    arch TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    signal REAL,
    score REAL,
    report REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    feasible INTEGER NOT NULL DEFAULT 1,
    eval_seconds REAL NOT NULL DEFAULT 0,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (study_id, seq)
);
CREATE INDEX IF NOT EXISTS trials_key ON trials(study_id, key);
CREATE TABLE IF NOT EXISTS states (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id),
    round INTEGER NOT NULL,
    phase TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies(id),
    round INTEGER,
    purpose TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0,
    parse_status TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies(id),
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

_TABLES = ("studies", "trials", "states", "llm_calls", "events")
_TRIAL_COLS = (
    "seq, round, number, key, arch, status, source, note, reason, signal, score, report, "
    "metrics, feasible, eval_seconds, meta"
)


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _bad(path: Path, where: str, field: str, what: str) -> StoreError:
    return StoreError(f"{path}: {where} has a bad {field} ({what}); the store was changed outside llmnas: "
                      "restore it from a backup, or delete that row")


def _json(path: Path, text: Any, want: type, where: str, field: str) -> Any:
    """A JSON column's value, which must be of type ``want`` (crafted rows get one clear error)."""
    if not isinstance(text, str):
        raise _bad(path, where, field, f"{type(text).__name__}, not JSON text")
    try:
        value = json.loads(text)
    except RecursionError:
        raise _bad(path, where, field, "nested too deeply") from None
    except ValueError:
        raise _bad(path, where, field, "not valid JSON") from None
    if not isinstance(value, want):
        raise _bad(path, where, field, f"a JSON {type(value).__name__}, not an object")
    return value


def _int(path: Path, v: Any, where: str, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(path, where, field, f"{v!r} is not an integer")
    return v


def _real(path: Path, v: Any, where: str, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _bad(path, where, field, f"{v!r} is not a number")
    return float(v)


def _opt_real(path: Path, v: Any, where: str, field: str) -> float | None:
    return None if v is None else _real(path, v, where, field)


def _str(path: Path, v: Any, where: str, field: str) -> str:
    if not isinstance(v, str):
        raise _bad(path, where, field, f"{v!r} is not text")
    return v


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=True)


@dataclass
class StudyInfo:
    id: int
    name: str
    config: dict[str, Any]
    seed: int
    versions: dict[str, Any]
    created_at: float
    updated_at: float
    status: str
    stop_reason: str | None


class Store:
    """A SQLite file of studies. Use one Store per process (SQLite handles the locking)."""

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False) -> None:
        """``create``: make the file (and its folder) when missing. ``readonly`` (show, export,
        plot, replay, the dashboard watching a run another process writes): open without writing
        anything, so a store on read-only media opens and an empty or foreign file is refused,
        never turned into a store."""
        self.path = Path(path)
        if not self.path.exists() and (not create or readonly):
            raise StoreError(f"run store {str(self.path)!r} not found; check the path (runs are .sqlite files)")
        existed = self.path.exists()
        self.readonly = readonly
        self._convos = Conversations()
        if readonly:
            self._open_readonly()
            self._ident = self._file_ident()
            return
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder; give a file path for the run store (e.g. {self.path / 'run.sqlite'})")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise StoreError(f"cannot create the folder of {self.path}: a part of it is a file; choose another --out") from None
            except OSError as exc:
                raise StoreError(f"cannot create the folder of {self.path} ({exc.strerror}); choose another --out") from None
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self._check_or_init()
            if existed:
                self._check_intact()
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc):
                raise StoreError(f"{self.path} is not a readable llmnas run store ({exc}); point to a file written by "
                                 "llmnas or choose a new path") from None
            raise StoreError(f"cannot open or create the run store {self.path} ({exc}); check that its folder exists "
                             "and is writable, or choose another --out") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path} is not a readable llmnas run store ({exc}); point to a file written by llmnas or choose a new path"
            ) from None
        self._ident = self._file_ident()

    def _file_ident(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _check_file(self) -> None:
        """Before each write: the file this store opened must still be at its path (a store
        deleted or replaced mid-run would otherwise take every later trial with it, silently)."""
        now = self._file_ident()
        if now != self._ident:
            what = "deleted" if now is None else "replaced by another file"
            raise StoreError(f"the run store {self.path} was {what} while this run was writing to it; the trials "
                             "written to it are gone with it: stop whatever removes it, then start the run again "
                             "(or resume it from a backup)")

    def _open_readonly(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a run store; give the .sqlite file")
        if self.path.stat().st_size == 0:
            raise StoreError(f"{self.path} is empty (0 bytes), not an llmnas run store; point to a file written by llmnas")
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        last: Exception | None = None
        for extra in ("", "&immutable=1"):  # immutable: read-only media, where SQLite cannot make its -shm file
            try:
                # a watcher may open it in one thread and close it in another (never concurrently)
                self.conn = sqlite3.connect(uri + extra, uri=True, timeout=30.0, isolation_level=None,
                                            check_same_thread=False)
                self.conn.row_factory = sqlite3.Row
                self._check_or_init(init=False)
                self._check_intact()
                return
            except sqlite3.OperationalError as exc:
                last = exc
                self.conn.close()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path} is not a readable llmnas run store ({exc}); point to a file written by "
                                 "llmnas") from None
        raise StoreError(f"{self.path} cannot be opened for reading ({last}); check its permissions") from None

    # ----- file format -------------------------------------------------------------------
    def _header(self) -> tuple[int, int, set[str], bool]:
        """The file's id, schema version, tables and whether it holds a study, read in one
        snapshot: read one by one, a second creator committing between the reads would show
        an id of 0 beside a finished schema (a store mistaken for a foreign file)."""
        c = self.conn
        c.execute("BEGIN")
        try:
            app_id = c.execute("PRAGMA application_id").fetchone()[0]
            version = c.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            # only a version-0 file needs the count (is it a cut-short creation or a used file?)
            used = version == 0 and "studies" in tables and bool(
                c.execute("SELECT COUNT(*) FROM studies").fetchone()[0])
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")
        return app_id, version, tables, used

    def _check_or_init(self, init: bool = True) -> None:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                return self._check_or_init_once(init)
            except sqlite3.OperationalError as exc:
                # a second creator switching the new file to WAL at the same moment: SQLite
                # answers "locked" at once there (no busy wait), so try again shortly
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _check_or_init_once(self, init: bool) -> None:
        c = self.conn
        app_id, version, tables, used = self._header()
        if not init and version == 0 and (app_id == 0 or not tables):
            raise StoreError(f"{self.path} is not an llmnas run store (no store schema in it); point to a file "
                             "written by llmnas")
        if app_id in (0, APP_ID) and version == 0 and not (tables - set(_TABLES)) and not used:
            # a new file (or one whose creation was cut short by an older llmnas): the id, the
            # tables and the version in one transaction, so a kill or a second creator at any
            # moment leaves either an empty file or a whole store
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(f"BEGIN IMMEDIATE; PRAGMA application_id={APP_ID}; {_SCHEMA}"
                            f" PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            version = c.execute("PRAGMA user_version").fetchone()[0]
        elif app_id != APP_ID:
            raise StoreError(f"{self.path} is an SQLite file but not an llmnas run store; choose another path")
        if version != SCHEMA_VERSION:
            newer = version > SCHEMA_VERSION
            raise StoreError(
                f"{self.path} has store schema v{version}, this llmnas reads v{SCHEMA_VERSION}; "
                + ("upgrade llmnas: pip install -U llmnas" if newer else "open it with the llmnas version that wrote it, or export it and start a new run")
            )
        if init:
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA foreign_keys=ON")

    def _check_intact(self) -> None:
        """An existing file whose pages are damaged fails now, with one clear error."""
        problems = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            self.conn.close()
            detail = " ".join("; ".join(problems).replace("*** in database main ***", "").split())[:200]
            raise StoreError(f"{self.path} is a damaged llmnas run store ({detail}); restore it "
                             "from a backup or start a new run")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> "_Tx":
        self._check_file()
        return _Tx(self.conn)

    # ----- studies -----------------------------------------------------------------------
    def create_study(
        self, name: str, config: dict[str, Any], seed: int, versions: dict[str, Any], *, load_if_exists: bool = False
    ) -> StudyInfo:
        existing = self.find_study(name)
        if existing is not None:
            if load_if_exists:
                return existing
            raise StoreError(
                f"study {name!r} already exists in {self.path}; continue it with `llmnas resume {self.path} --study {name}` or pick another --study name"
            )
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO studies(name, config, seed, versions, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                (name, _dumps(config), int(seed), _dumps(versions), now, now),
            )
        study = self.find_study(name)
        assert study is not None and study.id == cur.lastrowid
        return study

    def discard_new_study(self, study_id: int) -> None:
        """Delete a study that has no trial (one whose run could not start), in one transaction."""
        with self._tx() as c:
            if c.execute("SELECT COUNT(*) FROM trials WHERE study_id=?", (study_id,)).fetchone()[0]:
                return
            for table in ("llm_calls", "events", "states"):
                c.execute(f"DELETE FROM {table} WHERE study_id=?", (study_id,))
            c.execute("DELETE FROM studies WHERE id=?", (study_id,))

    def remove_files(self) -> None:
        """Delete a closed store's file (and its WAL files) when it holds no study."""
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as c:
                if c.execute("SELECT COUNT(*) FROM studies").fetchone()[0]:
                    return
        except sqlite3.Error:
            return
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def find_study(self, name: str) -> StudyInfo | None:
        row = self.conn.execute("SELECT * FROM studies WHERE name=?", (name,)).fetchone()
        return self._study(row) if row else None

    def studies(self) -> list[StudyInfo]:
        return [self._study(r) for r in self.conn.execute("SELECT * FROM studies ORDER BY id")]

    def get_study(self, name: str | None) -> StudyInfo:
        """The named study, or the only one in the file."""
        studies = self.studies()
        if name is None:
            if len(studies) == 1:
                return studies[0]
            if not studies:
                raise StoreError(f"{self.path} holds no study yet")
            raise StoreError(f"{self.path} holds {len(studies)} studies; pick one with --study ({', '.join(s.name for s in studies[:10])})")
        for s in studies:
            if s.name == name:
                return s
        raise StoreError(f"no study {name!r} in {self.path}; it has: {', '.join(s.name for s in studies) or 'none'}")

    def _study(self, row: sqlite3.Row) -> StudyInfo:
        where = f"study row {row['id']}"
        return StudyInfo(
            _int(self.path, row["id"], "studies", "id"), _str(self.path, row["name"], where, "name"),
            _json(self.path, row["config"], dict, where, "config"), _int(self.path, row["seed"], where, "seed"),
            _json(self.path, row["versions"], dict, where, "versions"),
            _real(self.path, row["created_at"], where, "created_at"), _real(self.path, row["updated_at"], where, "updated_at"),
            _str(self.path, row["status"], where, "status"),
            None if row["stop_reason"] is None else _str(self.path, row["stop_reason"], where, "stop_reason"),
        )

    def set_status(self, study_id: int, status: str, stop_reason: str | None = None) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE studies SET status=?, stop_reason=?, updated_at=? WHERE id=?",
                (status, stop_reason, time.time(), study_id),
            )

    def update_config(self, study_id: int, config: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute("UPDATE studies SET config=?, updated_at=? WHERE id=?", (_dumps(config), time.time(), study_id))

    # ----- trials and state ------------------------------------------------------------------
    def add_pending(self, study_id: int, trials: list[Trial], state: dict[str, Any], round_: int) -> None:
        """Record an ask: its proposals as pending trials plus the strategy state, atomically."""
        now = time.time()
        with self._tx() as c:
            c.executemany(
                f"INSERT INTO trials(study_id, {_TRIAL_COLS}, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(study_id, *self._trial_row(t), now) for t in trials],
            )
            self._put_state(c, study_id, round_, "asked", state, now)

    def finish_trial(self, study_id: int, trial: Trial) -> None:
        """Make a pending trial final (one transaction)."""
        row = self._trial_row(trial)
        with self._tx() as c:
            cur = c.execute(
                "UPDATE trials SET number=?, key=?, arch=?, status=?, source=?, note=?, reason=?, signal=?, score=?, "
                "report=?, metrics=?, feasible=?, eval_seconds=?, meta=?, finished_at=? "
                "WHERE study_id=? AND seq=? AND status=?",
                (*row[2:], time.time(), study_id, trial.seq, PENDING),
            )
            if cur.rowcount != 1:
                raise StoreError(f"trial {trial.seq} of study {study_id} is not pending; the store was changed by another process")

    def save_told(self, study_id: int, round_: int, state: dict[str, Any]) -> None:
        with self._tx() as c:
            self._put_state(c, study_id, round_, "told", state, time.time())

    @staticmethod
    def _put_state(c: sqlite3.Connection, study_id: int, round_: int, phase: str, state: dict, now: float) -> None:
        c.execute(
            "INSERT INTO states(study_id, round, phase, state, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(study_id) DO UPDATE SET round=excluded.round, phase=excluded.phase, "
            "state=excluded.state, updated_at=excluded.updated_at",
            (study_id, round_, phase, _dumps(state), now),
        )

    def load_state(self, study_id: int) -> tuple[int, str, dict[str, Any]] | None:
        row = self.conn.execute("SELECT round, phase, state FROM states WHERE study_id=?", (study_id,)).fetchone()
        if not row:
            return None
        where = f"strategy state of study {study_id}"
        return (_int(self.path, row["round"], where, "round"), _str(self.path, row["phase"], where, "phase"),
                _json(self.path, row["state"], dict, where, "state"))

    @staticmethod
    def _trial_row(t: Trial) -> tuple:
        return (
            t.seq, t.round, t.number, t.key, _dumps(t.arch), t.status, t.source, t.note, t.reason,
            _num(t.signal), _num(t.score), _num(t.report), _dumps(t.metrics), int(bool(t.feasible)),
            float(t.eval_seconds), _dumps(t.meta),
        )

    def trials(self, study_id: int, from_seq: int = 0) -> list[Trial]:
        """The study's trials in proposal order (those with ``seq >= from_seq``)."""
        rows = self.conn.execute(
            f"SELECT {_TRIAL_COLS} FROM trials WHERE study_id=? AND seq>=? ORDER BY seq", (study_id, from_seq)
        ).fetchall()
        return [self._row_trial(r) for r in rows]

    def _row_trial(self, r: sqlite3.Row) -> Trial:
        p, w = self.path, f"trial row seq {r['seq']!r}"
        return Trial(
            seq=_int(p, r["seq"], w, "seq"), round=_int(p, r["round"], w, "round"),
            number=None if r["number"] is None else _int(p, r["number"], w, "number"), key=_str(p, r["key"], w, "key"),
            arch=_json(p, r["arch"], dict, w, "arch"), status=_str(p, r["status"], w, "status"),
            source=_str(p, r["source"], w, "source"), note=_str(p, r["note"], w, "note"), reason=_str(p, r["reason"], w, "reason"),
            signal=_opt_real(p, r["signal"], w, "signal"), score=_opt_real(p, r["score"], w, "score"),
            report=_opt_real(p, r["report"], w, "report"), metrics=_json(p, r["metrics"], dict, w, "metrics"),
            feasible=bool(_int(p, r["feasible"], w, "feasible")), eval_seconds=_real(p, r["eval_seconds"], w, "eval_seconds"),
            meta=_json(p, r["meta"], dict, w, "meta"),
        )

    # ----- LLM calls and events ---------------------------------------------------------------
    def add_llm_call(self, study_id: int, round_: int | None, record: dict[str, Any]) -> None:
        """Store one call record. A conversation that continues an earlier stored call (a re-ask
        appends the reply and the reason to it) is stored as that call's row id plus the new
        turns only (see :mod:`llmnas.store.conversations`); :meth:`llm_calls` rebuilds it."""
        usage = record.get("usage") or {}
        stored, full = self._convos.compact(study_id, record)
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO llm_calls(study_id, round, purpose, model, prompt_tokens, completion_tokens, latency_s, "
                "parse_status, record, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    study_id, round_, str(record.get("purpose", "")), str(record.get("model", "")),
                    int(record.get("prompt_tokens", usage.get("prompt_tokens", 0)) or 0),
                    int(record.get("completion_tokens", usage.get("completion_tokens", 0)) or 0),
                    float(record.get("latency_s", 0.0) or 0.0), str(record.get("parse_status", "")),
                    _dumps(stored), time.time(),
                ),
            )
        self._convos.remember(study_id, cur.lastrowid, full, record)

    def llm_calls(self, study_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT id, round, record FROM llm_calls WHERE study_id=? ORDER BY id", (study_id,))
        return expand_calls(self.path, ((r["id"], r["round"], r["record"]) for r in rows))

    def feasible_share(self, study_id: int) -> float | None:
        """Share of evaluated (or over-budget) trials that met every constraint; None if none."""
        n, ok = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(feasible), 0) FROM trials WHERE study_id=? AND status IN ('ok', 'over_budget')",
            (study_id,)).fetchone()
        return ok / n if n else None

    def last_llm_model(self, study_id: int) -> str:
        """The model named by the study's last LLM call ("" when none named one)."""
        row = self.conn.execute("SELECT model FROM llm_calls WHERE study_id=? ORDER BY id DESC LIMIT 1",
                                (study_id,)).fetchone()
        return str(row["model"] or "") if row else ""

    def trial_times(self, study_id: int, from_seq: int = 0) -> dict[int, tuple[float | None, float | None]]:
        """seq -> (created_at, finished_at) of the study's trials with ``seq >= from_seq``."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT seq, created_at, finished_at FROM trials WHERE study_id=? AND seq>=?", (study_id, from_seq))}

    def llm_totals(self, study_id: int) -> dict[str, float]:
        """Calls, prompt / cached / completion tokens, seconds and replies cut at ``max_tokens``."""
        return self.llm_usage(study_id).get("", _EMPTY_USAGE)

    def llm_usage(self, study_id: int) -> dict[str, dict[str, float]]:
        """:meth:`llm_totals` per call purpose (navigator, generator, ranker, ...), and for all
        calls under the key ``""``. Cached tokens and cut replies come from the call records
        (stores written before they were recorded count 0)."""
        rows = self.conn.execute(
            "SELECT purpose, COUNT(*) n, COALESCE(SUM(prompt_tokens),0) pt, COALESCE(SUM(completion_tokens),0) ct, "
            "COALESCE(SUM(latency_s),0) lat, "
            # a crafted or damaged record is named by llm_calls(); here it counts 0
            "COALESCE(SUM(CASE WHEN json_valid(record) THEN json_extract(record, '$.cached_tokens') END),0) cached, "
            "COALESCE(SUM(CASE WHEN json_valid(record) THEN json_extract(record, '$.finish_reason') = 'length' END),0) cut "
            "FROM llm_calls WHERE study_id=? GROUP BY purpose ORDER BY MIN(id)", (study_id,)).fetchall()
        out: dict[str, dict[str, float]] = {}
        for r in rows:
            out[r["purpose"]] = {"calls": r["n"], "prompt_tokens": r["pt"], "completion_tokens": r["ct"],
                                 "llm_seconds": r["lat"], "cached_tokens": int(r["cached"]), "cut": int(r["cut"])}
        total = {k: sum(u[k] for u in out.values()) for k in _EMPTY_USAGE}
        return {"": total, **out}

    def active_seconds(self, study_id: int, before: float | None = None) -> float:
        """Seconds the study was busy: the union of its LLM calls' spans (stored time minus
        latency, to stored time) and its trials' spans (proposed to finished).

        Pauses between sessions (a run stopped one day and resumed the next) do not count, as
        they would in "last trial minus first". ``before`` (a ``time.time()``) keeps only what
        happened before it, e.g. the sessions before a resume."""
        spans = [(r[0] - r[1], r[0]) for r in self.conn.execute(
            "SELECT created_at, latency_s FROM llm_calls WHERE study_id=?", (study_id,))]
        spans += [(r[0], r[1]) for r in self.conn.execute(
            "SELECT created_at, finished_at FROM trials WHERE study_id=? AND finished_at IS NOT NULL", (study_id,))]
        total, end = 0.0, float("-inf")
        for a, b in sorted(spans):
            if before is not None:
                b = min(b, before)
            if b <= a or b <= end:
                continue
            total += b - max(a, end)
            end = b
        return total

    def session_seconds(self, study_id: int, before: float | None = None) -> float:
        """Seconds the study ran: per session (each ``llmnas search``/``resume``, marked by a
        "session" event the runner writes when it starts), from its start to its last stored
        activity (a trial finished, an LLM call, an event). The pauses between sessions do not
        count; everything inside one does (also the strategy's own thinking, which
        :meth:`active_seconds` misses). Stores written before session events fall back to
        :meth:`active_seconds` for the part before the first session event."""
        starts = [r[0] for r in self.conn.execute(
            "SELECT time FROM events WHERE study_id=? AND kind='session' ORDER BY time", (study_id,))]
        if not starts:
            return self.active_seconds(study_id, before)
        acts = [r[0] for r in self.conn.execute(
            "SELECT finished_at FROM trials WHERE study_id=? AND finished_at IS NOT NULL", (study_id,))]
        acts += [r[0] for r in self.conn.execute("SELECT created_at FROM llm_calls WHERE study_id=?", (study_id,))]
        acts += [r[0] for r in self.conn.execute("SELECT time FROM events WHERE study_id=?", (study_id,))]
        if before is not None:
            acts, starts = [a for a in acts if a <= before], [s for s in starts if s <= before]
        total = self.active_seconds(study_id, before=starts[0]) if starts else 0.0
        bounds = starts + [float("inf")]
        for a, b in zip(bounds, bounds[1:]):
            inside = [t for t in acts if a <= t < b]
            total += max(inside) - a if inside else 0.0
        return total

    def add_event(self, study_id: int, kind: str, message: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO events(study_id, time, kind, message) VALUES (?,?,?,?)", (study_id, time.time(), kind, message))

    def events(self, study_id: int) -> list[tuple[float, str, str]]:
        return [tuple(r) for r in self.conn.execute("SELECT time, kind, message FROM events WHERE study_id=? ORDER BY id", (study_id,))]


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _write_error(exc) from None
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as err:
                self._rollback()
                raise _write_error(err) from None
            return False
        self._rollback()
        if isinstance(exc, sqlite3.OperationalError):
            raise _write_error(exc) from None
        return False

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite may have rolled back already (disk full)


def _write_error(exc: sqlite3.OperationalError) -> StoreError:
    """One line for a write the store could not make (disk full, read-only file, locked)."""
    text = str(exc)
    fix = ("free disk space, then `llmnas resume` continues from the last stored trial" if "full" in text else
           "make the file writable or choose another --out" if "readonly" in text else
           "another process holds the store; wait for it, then retry" if "locked" in text else
           "check the disk, then `llmnas resume`")
    return StoreError(f"cannot write the run store ({text}); {fix}")


def iter_store_files(path: str | Path) -> Iterator[Path]:
    """A store file itself, or every ``*.sqlite`` under a folder (e.g. a bench output)."""
    p = Path(path)
    if p.is_dir():
        yield from sorted(p.rglob("*.sqlite"))
    elif p.exists():
        yield p
    else:
        raise StoreError(f"{str(p)!r} not found; give a run store (.sqlite) or a bench output folder")
