"""The Bayesian evidence core (DESIGN.md section 3).

* :class:`BehaviourModel`: per-feature likelihood models turning one epoch of
  behaviour into clamped fixed-point log-likelihood ratios (vectorised);
* :class:`EvidenceStats`: sufficient statistics combined by integer addition;
* :class:`SprtThresholds` and :class:`Verdict`: Wald's SPRT with exactly
  derived thresholds;
* :class:`Reputation` and :class:`ReputationPolicy`: Beta reputation with
  forgetting, the admission gate and the misbehaviour penalty.
"""

from vigilnet.evidence._likelihood import (
    DEFAULT_BEHAVIOUR_MODEL,
    BehaviourModel,
    Distribution,
    FeatureModel,
)
from vigilnet.evidence._reputation import REPUTATION_SCALE, Reputation, ReputationPolicy
from vigilnet.evidence._sprt import SprtThresholds, Verdict, fixed_log
from vigilnet.evidence._stats import EvidenceStats

__all__ = [
    "DEFAULT_BEHAVIOUR_MODEL",
    "REPUTATION_SCALE",
    "BehaviourModel",
    "Distribution",
    "EvidenceStats",
    "FeatureModel",
    "Reputation",
    "ReputationPolicy",
    "SprtThresholds",
    "Verdict",
    "fixed_log",
]
