"""Build the packaged tables of NAS-Bench-Macro, TransNAS-Bench-101 (micro, macro) and NAS-Bench-301.

Usage: python scripts/build_benchmark_tables.py [SHARED_DATA_DIR]   (default ../shared/data)

Reads the upstream JSON files (each checked against the sha256 in its PROVENANCE.md) and writes
one compressed numpy archive per benchmark (no pickle) under src/llmnas/data/<name>/:

* ``codes``: int8, one row per architecture, the option index of every decision, in the decision
  order of :mod:`llmnas.spaces.tables.catalog`;
* ``signal__<dataset>``: float64, the benchmark's accuracy-like target per row (NaN: not measured
  for that dataset/task);
* ``cost__<name>``: float64 cost metrics (params, FLOPs) where the source has them.

The licence files are copied beside each archive; PROVENANCE.md there is written by hand.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "llmnas" / "data"

SHA256 = {
    "nas-bench-macro/nas-bench-macro_cifar10.json": "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
    "transnas-bench-101-zc/zc_transbench101_micro.json": "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1",
    "transnas-bench-101-zc/zc_transbench101_macro.json": "f1d393373855bd7ba29bc81b33adb947ef2518d82aa0e6c003809ce6a4d94212",
    "naslib-zc/zc_nasbench301.json": "537e9abd6f0b14fdffdfcb3c07b18a037647b5c80808b3b2cf9a51b1b491aba1",
}
TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout", "segmentsemantic")


def load(src: Path, rel: str) -> dict:
    raw = (src / rel).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[rel]:
        sys.exit(f"{rel}: sha256 {digest} does not match the PROVENANCE.md value {SHA256[rel]}")
    return json.loads(raw)


def save(name: str, arrays: dict[str, np.ndarray], licences: list[Path]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    for lic in licences:
        shutil.copyfile(lic, folder / lic.name)
    n = len(arrays["codes"])
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e3:.1f} kB, {n} rows, {len(arrays)} arrays)")


def nb_macro(src: Path) -> None:
    data = load(src, "nas-bench-macro/nas-bench-macro_cifar10.json")
    keys = sorted(data)
    codes = np.array([[int(c) for c in k] for k in keys], dtype=np.int8)
    save("nbmacro", {
        "codes": codes,
        "signal__cifar10": np.array([data[k]["mean_acc"] for k in keys], dtype=np.float64),
        "cost__params_M": np.array([data[k]["params"] / 1e6 for k in keys], dtype=np.float64),
        "cost__flops_M": np.array([data[k]["flops"] / 1e6 for k in keys], dtype=np.float64),
    }, [src / "nas-bench-macro/LICENSE"])


def transnas(src: Path, which: str) -> None:
    data = load(src, f"transnas-bench-101-zc/zc_transbench101_{which}.json")
    keys = sorted({k for task in TASKS for k in data[task]}, key=lambda k: ast.literal_eval(k))
    codes = np.array([list(ast.literal_eval(k)) for k in keys], dtype=np.int8)
    arrays: dict[str, np.ndarray] = {"codes": codes}
    for task in TASKS:
        arrays[f"signal__{task}"] = np.array(
            [data[task][k]["val_accuracy"] if k in data[task] else np.nan for k in keys], dtype=np.float64)
    for cost in ("params", "flops"):  # the same network has the same cost in every task
        vals = []
        for k in keys:
            rec = next(data[t][k] for t in TASKS if k in data[t])
            vals.append(rec[cost]["score"])
        arrays[f"cost__{cost}_M"] = np.array(vals, dtype=np.float64)
    save(f"transnas{which}", arrays, [src / "transnas-bench-101-zc/LICENSE-NASLib",
                                      src / "transnas-bench-101-zc/LICENSE-TransNAS-Bench-101"])


def nb301(src: Path) -> None:
    data = load(src, "naslib-zc/zc_nasbench301.json")["cifar10"]
    keys = sorted(data)
    rows = []
    for k in keys:
        cells = ast.literal_eval(k)
        rows.append([x for cell in cells for edge in cell for x in edge])  # input, op per edge
    save("nb301", {
        "codes": np.array(rows, dtype=np.int8),
        "signal__cifar10": np.array([data[k]["val_accuracy"] for k in keys], dtype=np.float64),
        "cost__params_M": np.array([data[k]["params"]["score"] for k in keys], dtype=np.float64),
        "cost__flops_M": np.array([data[k]["flops"]["score"] for k in keys], dtype=np.float64),
    }, [src / "naslib-zc/LICENSE"])


def main(src_dir: str | None = None) -> None:
    src = Path(src_dir) if src_dir else ROOT.parent / "shared" / "data"
    nb_macro(src)
    transnas(src, "micro")
    transnas(src, "macro")
    nb301(src)


if __name__ == "__main__":
    main(*sys.argv[1:2])
