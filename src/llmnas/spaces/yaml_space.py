"""User-defined spaces from YAML (safe loader), optionally with their evaluator.

```yaml
name: my-space
description: A small CNN family.            # optional, shown to LLMs
decisions:
  - {name: depth, options: [2, 3, 4], description: number of blocks}
  - {name: width, options: [16, 32, 64]}
evaluator:                                  # optional here; one of:
  type: table                               # CSV/CSV.gz lookup, path relative to this file
  path: results.csv.gz                      # several datasets: results-{dataset}.csv.gz
  # datasets: [cora, citeseer]              #   with the names ({dataset} in path; first = default)
  # path: {cora: cora.csv, citeseer: cs.csv}  #   or one file per dataset
  signal: val_acc                           # --signal picks another numeric column
  report: test_acc
  higher_is_better: true
  costs: [params_M]                         # columns usable in constraints
# or
#  type: function
#  callable: my_train:evaluate              # module beside this file or on PYTHONPATH
#  signal: val_acc
#  report: test_acc
#  costs_callable: my_train:costs           # optional: cheap metrics for constraints
#  costs: [params_M]
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError, DataError
from ..types import Arch
from .base import CAPABILITIES, Decision, SearchSpace


class _DecisionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    options: List[Union[bool, int, float, str]] = Field(min_length=1)
    description: str = ""

    @field_validator("options", mode="before")
    @classmethod
    def _plain_distinct(cls, v: Any) -> Any:
        """Each option a number, string or true/false, and no two equal to Python: ``1 == true``
        and ``0 == false`` would silently make them one option."""
        if not isinstance(v, list):
            return v
        for i, x in enumerate(v):
            if x is None or not isinstance(x, (bool, int, float, str)):
                what = "null" if x is None else ("a list" if isinstance(x, list) else
                                                 "a mapping" if isinstance(x, dict) else type(x).__name__)
                raise ValueError(f"option {i} is {what}; each option must be a number, a string or true/false")
        for j, b in enumerate(v):
            for i in range(j):
                if v[i] == b:
                    same = "the same option twice" if type(v[i]) is type(b) else \
                        "equal to Python (1 == true, 0 == false, 1 == 1.0)"
                    raise ValueError(f"options {i} ({_yaml(v[i])}) and {j} ({_yaml(b)}) are {same}; "
                                     "give distinct options (quote them, e.g. '1' and 'true', to keep both)")
        return v


def _yaml(x: Any) -> str:
    return "true" if x is True else "false" if x is False else repr(x)


class _TableModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["table"]
    path: Union[str, Dict[str, str]]
    datasets: Optional[List[str]] = Field(default=None, min_length=1)
    signal: str
    report: Optional[str] = None
    higher_is_better: bool = True
    costs: Optional[List[str]] = None


class _FunctionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    callable: str
    signal: str = "signal"
    report: Optional[str] = None
    higher_is_better: bool = True
    costs_callable: Optional[str] = None
    costs: List[str] = Field(default_factory=list)


class _SpaceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str = ""
    decisions: List[_DecisionModel] = Field(min_length=1)
    evaluator: Optional[Union[_TableModel, _FunctionModel]] = Field(default=None, discriminator="type")


#: a table of at most this many rows is listed in the LLM's description of the space
LIST_LEGAL_MAX = 40
#: ... and at most this many rows make the JSON schema an explicit list (constrained decoding)
SCHEMA_LEGAL_MAX = 200


class YamlSpace(SearchSpace):
    """A categorical space read from YAML; may be restricted to the rows of a lookup table.

    When it is, the LLM is told so: :meth:`describe` says how many combinations are legal (and
    lists them for a small table), and :meth:`arch_json_schema` lists them as the only
    allowed objects for a table of at most :data:`SCHEMA_LEGAL_MAX` rows, so constrained
    decoding cannot produce an illegal candidate."""

    implements = CAPABILITIES

    def __init__(self, name: str, decisions: list[Decision], description: str = "") -> None:
        super().__init__(name, decisions, description)
        self._allowed: set[tuple[int, ...]] | None = None
        self._allowed_list: list[tuple[int, ...]] = []

    def restrict_to(self, rows: set[tuple[int, ...]]) -> None:
        if len(rows) < super().size():
            self._allowed = rows
            self._allowed_list = sorted(rows)

    def size(self) -> int:
        return len(self._allowed) if self._allowed is not None else super().size()

    def rule_problem(self, arch: Arch) -> str | None:
        if self._allowed is not None and self.to_indices(arch) not in self._allowed:
            return "this combination is not in the benchmark table"
        return None

    def describe(self) -> str:
        text = super().describe()
        if self._allowed is None:
            return text
        n, full = len(self._allowed), super().size()
        text += (f"\nOnly {n:,} of the {full:,} combinations of these options are legal (the rows of the "
                 "benchmark table); any other combination is rejected and not evaluated.")
        if n <= LIST_LEGAL_MAX:
            import json

            rows = [json.dumps(self.from_indices(i), separators=(", ", ": ")) for i in self._allowed_list]
            text += " The legal architectures:\n" + "\n".join(f"- {r}" for r in rows)
        return text

    def arch_json_schema(self) -> dict[str, Any]:
        if self._allowed is None or len(self._allowed) > SCHEMA_LEGAL_MAX:
            return super().arch_json_schema()
        names = list(self.names)
        return {"anyOf": [{"type": "object", "properties": {k: {"const": v} for k, v in self.from_indices(i).items()},
                           "required": names, "additionalProperties": False} for i in self._allowed_list]}

    def sample(self, rng, max_tries: int = 1000):  # type: ignore[no-untyped-def]
        if self._allowed is not None:
            return self.from_indices(self._allowed_list[int(rng.integers(len(self._allowed_list)))])
        return super().sample(rng, max_tries)


def _fmt_validation(path: Path, err: ValidationError) -> str:
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(p) for p in first["loc"] if str(p) not in ("function", "table"))
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown key {loc!r}; check its spelling (top-level keys: name, description, decisions, evaluator)"
    return f"{path}: {loc or 'top level'}: {str(first['msg']).removeprefix('Value error, ')}"


def read_space_file(path: str | Path) -> tuple[YamlSpace, dict[str, Any] | None, Path]:
    """Parse a YAML space file; returns the space, its evaluator section (or None) and its folder."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"space file {str(path)!r} not found; give a path to a YAML file or a built-in space name")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DataError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}; fix the file") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping with 'name' and 'decisions'")
    try:
        model = _SpaceModel.model_validate(raw)
    except ValidationError as exc:
        raise DataError(_fmt_validation(path, exc)) from None
    decisions = [Decision(d.name, tuple(d.options), d.description) for d in model.decisions]
    space = YamlSpace(model.name, decisions, model.description)
    ev = model.evaluator.model_dump() if model.evaluator is not None else None
    return space, ev, path.parent


def table_datasets(path: str | Path, ev: dict[str, Any]) -> dict[str, str]:
    """dataset -> table path of a table evaluator section ({} when it declares no datasets)."""
    if isinstance(ev["path"], dict):
        if ev.get("datasets"):
            raise DataError(f"{path}: give the datasets either as the keys of 'path' or as 'datasets', not both")
        return dict(ev["path"])
    names = ev.get("datasets") or []
    if "{dataset}" in ev["path"] and not names:
        raise DataError(f"{path}: 'path' has {{dataset}} but no 'datasets' list names them; add datasets: [...]")
    if names and "{dataset}" not in ev["path"]:
        raise DataError(f"{path}: 'datasets' needs a 'path' with {{dataset}} in it (or a mapping dataset: file)")
    return {n: ev["path"].replace("{dataset}", n) for n in names}


def space_datasets(path: str | Path) -> list[str]:
    """The datasets a YAML space file declares (empty when it has one table or a function)."""
    _, ev, _ = read_space_file(path)
    return list(table_datasets(path, ev)) if ev is not None and ev["type"] == "table" else []


def build_yaml_problem(path: str | Path, dataset: str | None = None, signal: str | None = None):  # type: ignore[no-untyped-def]
    """The space and evaluator a YAML file describes, on ``dataset`` (one it declares; default
    its first) with ``signal`` (a numeric column of the table; default the file's ``signal``)."""
    from ..evaluators.function import FunctionEvaluator, load_callable
    from ..evaluators.table import TableEvaluator
    from ..wording import did_you_mean

    space, ev, base = read_space_file(path)
    if ev is None:
        raise ConfigError(f"{path}: no 'evaluator' section; add one of type 'table' or 'function'")
    if ev["type"] == "table":
        files = table_datasets(path, ev)
        if dataset is not None and not files:
            raise ConfigError(f"--dataset {dataset}: space file {Path(path).name} declares no datasets; drop --dataset, "
                              "or give its table evaluator 'datasets' and a path with {dataset}")
        if dataset is not None and dataset not in files:
            raise ConfigError(f"--dataset {dataset!r} is not a dataset of {Path(path).name}{did_you_mean(dataset, files)} "
                              f"(choices: {', '.join(files)})")
        chosen = dataset or next(iter(files), None)
        table_path = Path(files[chosen] if chosen else ev["path"])
        if not table_path.is_absolute():
            table_path = base / table_path
        evaluator = TableEvaluator(space, table_path, ev["signal"], ev["report"], ev["higher_is_better"], ev["costs"])
        evaluator.dataset = chosen
        if signal is not None:
            evaluator.use_signal(signal)
        space.restrict_to(evaluator.row_keys())
    else:
        if dataset is not None:
            raise ConfigError(f"--dataset {dataset}: space file {Path(path).name} has a function evaluator, which "
                              "takes no dataset; drop --dataset")
        if signal is not None:
            raise ConfigError(f"--signal {signal}: space file {Path(path).name} has a function evaluator, whose "
                              "signal is set in the file ('signal:'); drop --signal")
        from ..evaluators.function import announce_code

        announce_code(Path(path), [ev["callable"], *([ev["costs_callable"]] if ev["costs_callable"] else [])], base)
        fn = load_callable(ev["callable"], base)
        cost_fn = load_callable(ev["costs_callable"], base) if ev["costs_callable"] else None
        if ev["costs"] and cost_fn is None:
            raise ConfigError(f"{path}: 'costs' needs 'costs_callable' to measure them")
        evaluator = FunctionEvaluator(fn, ev["signal"], ev["report"], ev["higher_is_better"], cost_fn, ev["costs"], ev["callable"])
    return space, evaluator
