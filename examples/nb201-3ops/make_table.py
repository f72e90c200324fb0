"""Write results.csv.gz: the NAS-Bench-201 cells that use only skip_connect, nor_conv_1x1 and
nor_conv_3x3 (3^6 = 729 cells), with their CIFAR-10 accuracies, params and FLOPs, taken from
the table shipped with llmnas. It shows the format a user's own benchmark table takes."""

from pathlib import Path

import pandas as pd

from llmnas.data import load_nb201
from llmnas.spaces.nb201 import OPS

KEEP = {1, 2, 3}
t = load_nb201()
rows = []
for i, ops in enumerate(t["ops"].tolist()):
    if set(ops) <= KEEP:
        row = {f"edge{k}": OPS[o] for k, o in enumerate(ops)}
        row.update(val_acc=t["c10_val_200"][i], test_acc=t["c10_test_200"][i],
                   params_M=t["c10_params_M"][i], flops_M=t["c10_flops_M"][i])
        rows.append(row)
out = Path(__file__).with_name("results.csv.gz")
pd.DataFrame(rows).to_csv(out, index=False)
print(f"wrote {out} ({len(rows)} rows)")
