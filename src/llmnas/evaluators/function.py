"""Evaluator that calls a user's Python function ``module:function`` (e.g. a training script).

The function takes the arch dict and returns either a number (used as signal and report) or a
dict of metrics that holds the ``signal`` and ``report`` keys. An optional ``costs`` function
``module:function`` returns a dict of cheap metrics for constraints without training.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, EvaluationError
from ..types import Arch
from .base import Evaluator, Result


def load_callable(spec: str, base_dir: Path | None = None) -> Callable[..., Any]:
    """Import ``module:function``; ``base_dir`` (the YAML file's folder) is searched first."""
    mod_name, sep, fn_name = spec.partition(":")
    if not sep or not mod_name or not fn_name:
        raise ConfigError(f"callable {spec!r} must look like 'module:function'")
    if base_dir is not None:
        _from_folder(mod_name, Path(base_dir))
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {mod_name!r} for {spec!r} ({exc}); put it on PYTHONPATH or beside the YAML file") from None
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ConfigError(f"{mod_name!r} has no function {fn_name!r}; fix the 'callable' entry {spec!r}")
    return fn


def _from_folder(mod_name: str, base_dir: Path) -> None:
    """Make ``mod_name`` importable from the YAML file's folder without letting that folder
    shadow anything: the folder goes *last* on ``sys.path`` (a ``multiprocessing.py`` there is
    never imported in place of the standard library's), the named module's own file is loaded
    from the folder directly, and a module named like a standard-library one is refused."""
    top = mod_name.split(".")[0]
    here = base_dir / f"{top}.py"
    if top in sys.stdlib_module_names and (here.exists() or (base_dir / top).is_dir()):
        raise ConfigError(f"the evaluator module {top!r} beside the YAML file has the name of a standard-library "
                          "module; rename the file")
    if str(base_dir) not in sys.path:
        sys.path.append(str(base_dir))
    if here.is_file() and top not in sys.modules:
        spec = importlib.util.spec_from_file_location(top, here)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules[top] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[top]
                raise


#: called with (YAML file, [(spec, file or None)]) before a space's Python code is imported;
#: the CLI prints it, so running a space file from someone else is never silent
ON_CODE: list[Callable[[Path, list[tuple[str, str | None]]], None]] = []


def announce_code(yaml_path: Path, specs: list[str], base_dir: Path) -> None:
    """Tell the :data:`ON_CODE` hooks which modules a space is about to import."""
    found = []
    for spec in specs:
        top = spec.partition(":")[0].split(".")[0]
        here = base_dir / f"{top}.py"
        found.append((spec, str(here.resolve()) if here.is_file() else None))
    for hook in ON_CODE:
        hook(yaml_path, found)


class FunctionEvaluator(Evaluator):
    def __init__(
        self,
        fn: Callable[[Arch], Any],
        signal: str = "signal",
        report: str | None = None,
        higher_is_better: bool = True,
        cost_fn: Callable[[Arch], dict] | None = None,
        cost_names: list[str] | None = None,
        spec: str = "",
    ) -> None:
        self.fn, self.cost_fn, self.spec = fn, cost_fn, spec
        self.signal_name, self.report_name = signal, report or signal
        self.higher_is_better = higher_is_better
        self._cost_names = list(cost_names or [])

    def evaluate(self, arch: Arch) -> Result:
        out = self.fn(dict(arch))
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            metrics = {self.signal_name: float(out)}
        elif isinstance(out, dict):
            metrics = {}
            for k, v in out.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    metrics[str(k)] = float(v)
        else:
            raise EvaluationError(f"{self.spec or 'evaluator'} returned {type(out).__name__}; return a number or a dict of numbers")
        for name in (self.signal_name, self.report_name):
            if name not in metrics or math.isnan(metrics[name]):
                if name == self.report_name and self.signal_name in metrics:
                    continue
                raise EvaluationError(f"{self.spec or 'evaluator'} returned no number for {name!r}; its keys: {', '.join(metrics)}")
            if math.isinf(metrics[name]):
                raise EvaluationError(f"{self.spec or 'evaluator'} returned {metrics[name]} for {name!r}; return a finite number")
        signal = metrics[self.signal_name]
        return Result(signal, metrics.get(self.report_name, signal), metrics)

    def cost_metrics(self) -> list[str]:
        return list(self._cost_names)

    def measure(self, arch: Arch, metric: str) -> float:
        if self.cost_fn is None or metric not in self._cost_names:
            raise ConfigError(self.unknown_metric(metric))
        costs = self.cost_fn(dict(arch))
        if metric not in costs:
            raise EvaluationError(f"cost function returned no {metric!r}; its keys: {', '.join(costs)}")
        return float(costs[metric])

    def describe(self) -> dict:
        return {**super().describe(), "type": "function", "callable": self.spec}
