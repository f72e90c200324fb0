"""Export a study's trials as CSV or JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from ..store import Store, StudyInfo
from ..types import Trial


def trial_records(trials: list[Trial]) -> list[dict[str, Any]]:
    """Flat rows: trial fields, one column per decision (``arch.NAME``) and per metric (``m.NAME``)."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "seq": t.seq, "round": t.round, "number": t.number, "status": t.status, "key": t.key,
            "source": t.source, "signal": t.signal, "score": t.score, "report": t.report,
            "feasible": t.feasible, "eval_seconds": round(t.eval_seconds, 6), "reason": t.reason, "note": t.note,
        }
        row.update({f"arch.{k}": v for k, v in t.arch.items()})
        row.update({f"m.{k}": v for k, v in t.metrics.items()})
        rows.append(row)
    return rows


def _finite(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as null (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def export_study(store: Store, study: StudyInfo, fmt: str) -> str:
    trials = store.trials(study.id)
    if fmt == "json":
        doc = {
            "study": study.name, "config": study.config, "seed": study.seed, "versions": study.versions,
            "status": study.status, "stop_reason": study.stop_reason,
            "trials": [t.to_dict() for t in trials], "llm": store.llm_totals(study.id),
        }
        return json.dumps(_finite(doc), indent=1, allow_nan=False)  # valid JSON: no NaN / Infinity
    import pandas as pd

    return pd.DataFrame(trial_records(trials)).to_csv(index=False)
