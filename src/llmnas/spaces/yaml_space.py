"""User-defined spaces from YAML (safe loader), optionally with their evaluator.

```yaml
name: my-space
description: A small CNN family.            # optional, shown to LLMs
decisions:
  - {name: depth, options: [2, 3, 4], description: number of blocks}
  - {name: width, options: [16, 32, 64]}
evaluator:                                  # optional here; one of:
  type: table                               # CSV/CSV.gz lookup, path relative to this file
  path: results.csv.gz
  signal: val_acc
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
from typing import Any, List, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError, DataError
from ..types import Arch
from .base import Decision, SearchSpace


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
    path: str
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


class YamlSpace(SearchSpace):
    """A categorical space read from YAML; may be restricted to the rows of a lookup table."""

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


def build_yaml_problem(path: str | Path):  # type: ignore[no-untyped-def]
    """The space and evaluator a YAML file describes."""
    from ..evaluators.function import FunctionEvaluator, load_callable
    from ..evaluators.table import TableEvaluator

    space, ev, base = read_space_file(path)
    if ev is None:
        raise ConfigError(f"{path}: no 'evaluator' section; add one of type 'table' or 'function'")
    if ev["type"] == "table":
        table_path = Path(ev["path"])
        if not table_path.is_absolute():
            table_path = base / table_path
        evaluator = TableEvaluator(space, table_path, ev["signal"], ev["report"], ev["higher_is_better"], ev["costs"])
        space.restrict_to(evaluator.row_keys())
    else:
        from ..evaluators.function import announce_code

        announce_code(Path(path), [ev["callable"], *([ev["costs_callable"]] if ev["costs_callable"] else [])], base)
        fn = load_callable(ev["callable"], base)
        cost_fn = load_callable(ev["costs_callable"], base) if ev["costs_callable"] else None
        if ev["costs"] and cost_fn is None:
            raise ConfigError(f"{path}: 'costs' needs 'costs_callable' to measure them")
        evaluator = FunctionEvaluator(fn, ev["signal"], ev["report"], ev["higher_is_better"], cost_fn, ev["costs"], ev["callable"])
    return space, evaluator
