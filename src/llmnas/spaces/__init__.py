"""Search spaces, their evaluators and the ``--space`` registry.

Every built-in space registers its builder where it is defined; importing this package loads
them: ``nb201`` (:mod:`.nb201`), the packaged tables (:mod:`.tables`: nb-macro, transnas-micro,
transnas-macro, nb301) and the weight-sharing supernets (:mod:`.supernets`: spos, ofa,
autoformer; torch is imported only when one is built).
"""

from .base import Decision, SearchSpace
from .registry import SPACES, Problem, build_problem, is_space_file
from .nb201 import NB201Space
from .tables import register as _tables  # noqa: F401  (registers the packaged tables)
from .supernets import register as _supernets  # noqa: F401  (registers spos, ofa, autoformer)

__all__ = ["Decision", "SearchSpace", "NB201Space", "SPACES", "Problem", "build_problem", "is_space_file"]
