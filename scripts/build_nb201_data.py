"""Build the packaged NAS-Bench-201 table from the merged CSV.

Usage: python scripts/build_nb201_data.py PATH/TO/nb201_merged.csv

Writes src/llmnas/data/nb201/nb201.npz (numpy, compressed, no pickle). The CSV's sha256 is
checked against the one in its PROVENANCE.md so the shipped table is traceable to its source.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

EXPECTED_SHA256 = "0f48e4a49c25313554ed54229f3391d72f95f5ebb84a3210df8789b310e2b54a"
OUT = Path(__file__).resolve().parents[1] / "src" / "llmnas" / "data" / "nb201" / "nb201.npz"


def main(csv_path: str) -> None:
    raw = Path(csv_path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != EXPECTED_SHA256:
        sys.exit(f"sha256 mismatch: {digest} != {EXPECTED_SHA256}")
    df = pd.read_csv(csv_path, dtype={"ops": str})
    assert list(df["index"]) == list(range(len(df))), "rows must be in official index order"
    ops = np.array([[int(c) for c in s.zfill(6)] for s in df["ops"]], dtype=np.int8)
    iso_ids, iso = np.unique(df["nats_unique_str"].to_numpy(), return_inverse=True)
    arrays: dict[str, np.ndarray] = {"ops": ops, "iso": iso.astype(np.int32)}
    for col in df.columns:
        if col in ("index", "arch_str", "ops", "nats_unique_str"):
            continue
        arrays[col] = df[col].to_numpy(dtype=np.float64)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(df)} rows, {len(arrays)} arrays, "
          f"{len(iso_ids)} isomorphism classes)")


if __name__ == "__main__":
    main(sys.argv[1])
