"""Behavioural analysis: from one epoch of an agent's behaviour to evidence.

Each **feature** of behaviour (action rate, error rate, resource use,
policy violations, ...) has two likelihood models, one for benign agents and
one for misbehaving agents, each a :mod:`scipy.stats` distribution with
parameters from the configuration.  For an observed value ``x`` the
feature's log-likelihood ratio is

    lambda = log p_misbehaving(x) - log p_benign(x)

(``logpdf`` for continuous features, ``logpmf`` for counts).  This is the
analysis boundary, the one place floats are used: each ``lambda`` is
converted to fixed point by the rule of :mod:`vigilnet.fixedpoint` (exact
scaling by ``2**16``, ties to even) and clamped to ``+-lambda_max``.  An
observation impossible under one model only gives ``+-inf``, which clamps;
one impossible under both (``nan``) is refused.

:meth:`BehaviourModel.evidence` does this for a whole epoch of agents at once
with numpy (one ``logpdf`` call per feature and model over all agents), and
returns per-agent :class:`~vigilnet.evidence.EvidenceStats` arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.stats

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, LAMBDA_MAX_LIMIT, SCALE

__all__ = ["DEFAULT_BEHAVIOUR_MODEL", "BehaviourModel", "Distribution", "FeatureModel"]


@functools.lru_cache(maxsize=256)
def _freeze(family: str, params: tuple[tuple[str, float], ...]) -> Any:
    return getattr(scipy.stats, family)(**dict(params))


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """A :mod:`scipy.stats` distribution by name, with its parameters."""

    family: str
    params: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, family: str, **params: float) -> Distribution:
        return cls(family=family, params=tuple(sorted(params.items())))

    def __post_init__(self) -> None:
        ensure(
            hasattr(scipy.stats, self.family),
            f"unknown distribution {self.family!r}",
            LocalProtocolError,
        )
        try:
            self.frozen()
        except (TypeError, ValueError) as exc:
            raise LocalProtocolError(f"bad parameters for {self.family}: {exc}") from exc

    def frozen(self) -> Any:
        """The frozen scipy distribution (built once per distinct
        ``(family, params)``, then shared: freezing costs more than a
        vectorised ``logpdf`` over a whole epoch)."""
        return _freeze(self.family, self.params)

    def log_likelihood(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        dist = self.frozen()
        result = dist.logpmf(x) if hasattr(dist, "logpmf") else dist.logpdf(x)
        return np.asarray(result, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureModel:
    name: str
    benign: Distribution
    misbehaving: Distribution


@dataclass(frozen=True, slots=True, kw_only=True)
class BehaviourModel:
    """The per-feature likelihood models of one configuration."""

    features: tuple[FeatureModel, ...]
    lambda_max: int = DEFAULT_LAMBDA_MAX

    def __post_init__(self) -> None:
        ensure(
            len(self.features) > 0,
            "a behaviour model needs at least one feature",
            LocalProtocolError,
        )
        ensure(
            0 < self.lambda_max <= LAMBDA_MAX_LIMIT, "lambda_max out of range", LocalProtocolError
        )
        names = [f.name for f in self.features]
        ensure(
            len(set(names)) == len(names), f"duplicate feature names {names}", LocalProtocolError
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def llr_fixed(self, observations: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Clamped fixed-point LLRs, shape ``(agents, features)``."""
        x = np.asarray(observations, dtype=np.float64)
        ensure(
            x.ndim == 2 and x.shape[1] == len(self.features),
            f"observations must have shape (agents, {len(self.features)}), got {x.shape}",
            LocalProtocolError,
        )
        llr = np.empty_like(x)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for column, feature in enumerate(self.features):
                values = x[:, column]
                llr[:, column] = feature.misbehaving.log_likelihood(
                    values
                ) - feature.benign.log_likelihood(values)
            bad = np.isnan(llr)
            if bad.any():
                agent, column = (int(i) for i in np.argwhere(bad)[0])
                raise LocalProtocolError(
                    f"observation {x[agent, column]!r} of feature {self.features[column].name!r} "
                    f"(agent row {agent}) is impossible under both likelihood models"
                )
            # x * 2**16 is exact in binary floating point; rint rounds ties to even.
            scaled = np.rint(llr * SCALE)
        return np.clip(scaled, -self.lambda_max, self.lambda_max).astype(np.int64)

    def evidence(
        self, observations: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per agent: ``(count, llr_sum)`` of this epoch's evidence."""
        llr = self.llr_fixed(observations)
        counts = np.full(llr.shape[0], llr.shape[1], dtype=np.int64)
        return counts, llr.sum(axis=1, dtype=np.int64)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BehaviourModel:
        """Build from ``{"lambda_max": int, "features": [{"name", "benign":
        {"family", "params"}, "misbehaving": {...}}]}``."""
        try:
            features = tuple(
                FeatureModel(
                    name=str(f["name"]),
                    benign=Distribution.of(f["benign"]["family"], **f["benign"]["params"]),
                    misbehaving=Distribution.of(
                        f["misbehaving"]["family"], **f["misbehaving"]["params"]
                    ),
                )
                for f in config["features"]
            )
        except (KeyError, TypeError) as exc:
            raise LocalProtocolError(f"behaviour model configuration: {exc!r}") from exc
        return cls(features=features, lambda_max=int(config.get("lambda_max", DEFAULT_LAMBDA_MAX)))


def _features(rows: Sequence[tuple[str, Distribution, Distribution]]) -> tuple[FeatureModel, ...]:
    return tuple(FeatureModel(name=n, benign=b, misbehaving=m) for n, b, m in rows)


#: The embedded default: four features of an agent's epoch.
DEFAULT_BEHAVIOUR_MODEL = BehaviourModel(
    features=_features(
        [
            # actions per second: misbehaving agents act in bursts
            (
                "action_rate",
                Distribution.of("gamma", a=4.0, scale=0.5),
                Distribution.of("gamma", a=3.0, scale=2.0),
            ),
            # fraction of actions that failed
            (
                "error_rate",
                Distribution.of("beta", a=1.0, b=30.0),
                Distribution.of("beta", a=2.0, b=8.0),
            ),
            # resource use relative to the agent's quota
            (
                "resource_use",
                Distribution.of("lognorm", s=0.4, scale=0.3),
                Distribution.of("lognorm", s=0.6, scale=0.9),
            ),
            # policy violations in the epoch
            (
                "policy_violations",
                Distribution.of("poisson", mu=0.05),
                Distribution.of("poisson", mu=1.5),
            ),
        ]
    )
)
