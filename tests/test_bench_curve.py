"""``bench/scale/curve.py``'s growth exponent: the least-squares slope of
log time against log agents, checked on exact power laws and against
numpy's polyfit on noisy points."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "scale" / "curve.py"


def _curve() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_curve", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("k", [0.5, 1.0, 1.5, 2.0])
def test_exact_power_law_gives_its_exponent(k: float) -> None:
    xs = [1e5, 1e6, 3e6, 1e7]
    slope, c = _curve().fit_exponent(xs, [3.0 * x**k for x in xs])
    assert slope == pytest.approx(k, abs=1e-12)
    assert math.exp(c) == pytest.approx(3.0, rel=1e-9)


def test_matches_polyfit_on_noisy_points() -> None:
    rng = np.random.default_rng(7)
    xs = [1e5, 1e6, 3e6, 1e7]
    ys = [2e-5 * x * float(rng.uniform(0.8, 1.25)) for x in xs]
    k, c = _curve().fit_exponent(xs, ys)
    want_k, want_c = np.polyfit(np.log(xs), np.log(ys), 1)
    assert (k, c) == pytest.approx((want_k, want_c), rel=1e-9)


def test_the_published_curve_is_near_linear() -> None:
    """The figures quoted in docs/scale.md give the exponents quoted there."""
    xs = [1e5, 1e6, 3e6, 1e7]
    cpu_per_epoch = [4.155544 / 2, 16.984803, 55.392026, 194.251152]
    assert round(_curve().fit_exponent(xs, cpu_per_epoch)[0], 3) == 0.984


@pytest.mark.parametrize("xs,ys", [([1e5], [1.0]), ([1e5, 1e5], [1.0, 2.0]), ([1e5, 1e6], [1.0])])
def test_refuses_what_cannot_be_fitted(xs: list[float], ys: list[float]) -> None:
    with pytest.raises(ValueError):
        _curve().fit_exponent(xs, ys)
