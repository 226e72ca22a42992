"""The suggestion record every rule returns (its id, its proposed change, how it is shown)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from engine.optimizer.settings import AUTOMATIC_KINDS


@dataclass
class Suggestion:
    """One evidence-based suggestion and the change it proposes."""

    kind: str  # parallelize | retry | fix_errors | fix_failing_state | timeout | cache_state | llm_cache | llm_model
    optimization_type: str  # performance | reliability | cost | ux
    title: str
    description: str
    evidence: dict
    estimated_improvement: float  # % of the median run time, or success-rate points for reliability
    implementation_effort: str  # low | medium | high
    priority: int  # 1..5 (5 = do first)
    proposed_changes: dict
    reasoning: str = ""
    workflow_id: str = ""
    version: int = 0
    key: str = ""
    id: str = ""
    status: str = "suggested"
    gain_ms: float = 0.0  # predicted saving per run (performance)
    success_gain: float = 0.0  # predicted success-rate gain, in points (reliability)
    cost_saving_usd: float = 0.0

    @property
    def automatic(self) -> bool:
        return self.kind in AUTOMATIC_KINDS

    def finalize(self, workflow_id: str, version: int) -> Suggestion:
        self.workflow_id, self.version = workflow_id, int(version)
        self.id = hashlib.sha1(f"{workflow_id}:{version}:{self.kind}:{self.key}".encode()).hexdigest()[:12]
        self.proposed_changes = {"kind": self.kind, "automatic": self.automatic, **self.proposed_changes}
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["automatic"] = self.automatic
        d["type"] = self.optimization_type
        return d
