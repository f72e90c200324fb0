"""Executors: where a run's evaluations happen (local, worker processes, Ray). See ``base.py``."""

from __future__ import annotations

from typing import Any

from ..config import ExecutorSettings
from ..evaluators.base import Evaluator
from .base import EvalJob, EvalOutcome, Executor, ExecutorError
from .local import LocalExecutor

__all__ = ["EvalJob", "EvalOutcome", "Executor", "ExecutorError", "LocalExecutor", "make_executor"]


def make_executor(settings: ExecutorSettings, cfg_data: dict[str, Any], evaluator: Evaluator) -> Executor:
    """The executor ``settings`` name; ``cfg_data`` (the run config as JSON) lets workers rebuild
    the evaluator. Nothing starts until the first batch."""
    if settings.kind == "local":
        return LocalExecutor(evaluator)
    from .base import usable_cores
    from .worker import worker_spec

    spec = worker_spec(cfg_data)
    if settings.kind == "process":
        from .process import ProcessExecutor

        return ProcessExecutor(spec, settings.workers or usable_cores(), settings.max_requeues,
                               timeout_s=settings.eval_timeout_s, gpu_ids=settings.gpu_ids)
    from .ray_exec import RayExecutor

    return RayExecutor(spec, address=settings.ray_address, workers=settings.workers, num_cpus=settings.num_cpus,
                       num_gpus=settings.num_gpus, max_requeues=settings.max_requeues,
                       object_store_mb=settings.object_store_mb, timeout_s=settings.eval_timeout_s)
