"""CoLLM-NAS (Navigator + Generator + Coordinator) and its SiLLM-NAS ablation; see docs/collm.md.

Importing this package registers the strategies ``collm`` and ``sillm``.
"""

from .rank_poc import RankPoCResult, kendall_tau, rank_poc
from .strategy import CoLLM, CoLLMSettings, SiLLM, SiLLMSettings

__all__ = ["CoLLM", "CoLLMSettings", "SiLLM", "SiLLMSettings", "RankPoCResult", "kendall_tau", "rank_poc"]
