"""A YAML space whose function evaluator can sleep, fail, or kill its own worker process,
driven by marker files, for the executor tests (local, process, ray)."""

from __future__ import annotations

from pathlib import Path

SPACE = """
name: exec-test
decisions:
  - {name: a, options: [0, 1, 2, 3, 4, 5]}
  - {name: b, options: [0, 1, 2, 3, 4, 5]}
  - {name: c, options: [x, y, z]}
evaluator: {type: function, callable: "exec_eval:evaluate", signal: val, report: test}
"""

EVAL = '''
import os, signal, time
from pathlib import Path

HERE = Path(__file__).parent


def evaluate(arch):
    key = f"{arch['a']}{arch['b']}{arch['c']}"
    (HERE / "started").mkdir(exist_ok=True)
    (HERE / "started" / f"{key}-{os.getpid()}-{time.time_ns()}").write_text(os.environ.get("CUDA_VISIBLE_DEVICES", "-"))
    if (HERE / "stuck" / key).exists():       # never finishes (until its worker is stopped)
        time.sleep(300)
    once = HERE / "stall" / key
    if once.exists():                         # hangs the first time only
        once.unlink()
        time.sleep(300)
    if (HERE / "hold" / key).exists():        # wait for the test to release this one
        deadline = time.time() + 60
        while not (HERE / "go").exists() and time.time() < deadline:
            time.sleep(0.02)
    if (HERE / "doomed" / key).exists():      # kills its worker every time
        os.kill(os.getpid(), signal.SIGKILL)
    flaky = HERE / "flaky" / key
    if flaky.exists():                        # kills its worker the first time only
        flaky.unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    if arch["c"] == "z" and arch["a"] == 5:
        raise ValueError(f"diverged on {key}")
    pause = HERE / "sleep"                    # seconds per evaluation (default 0.01)
    time.sleep(float(pause.read_text()) if pause.exists() else 0.01)
    v = (arch["a"] * 7 + arch["b"] * 3) % 11 + {"x": 0.5, "y": 1.5, "z": 0.0}[arch["c"]]
    return {"val": v, "test": v + 0.1, "aux": arch["b"] / 10}
'''


def make_space(folder: Path, hold: list[str] = (), doomed: list[str] = (), flaky: list[str] = (),
               stuck: list[str] = (), stall: list[str] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exec_eval.py").write_text(EVAL)
    (folder / "space.yaml").write_text(SPACE)
    for name, keys in (("hold", hold), ("doomed", doomed), ("flaky", flaky), ("stuck", stuck), ("stall", stall)):
        (folder / name).mkdir(exist_ok=True)
        for k in keys:
            (folder / name / k).write_text("")
    return folder / "space.yaml"


def trial_rows(store_path: Path, study: str = "x") -> list[tuple]:
    from llmnas.store import Store

    with Store(store_path, create=False) as st:
        return [(t.seq, t.round, t.number, t.key, t.status, t.signal, t.report, t.reason, t.source, t.metrics)
                for t in st.trials(st.get_study(study).id)]
