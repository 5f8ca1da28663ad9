"""P4 as properties: σ(maxpool X) = maxpool σ(X) for monotone σ over every geometry PyTorch
accepts, and the concrete counterexamples where the identity stops holding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lenetlab.commutation import (
    ACTIVATIONS,
    PiecewiseLinear,
    Pool,
    compare,
    exceeds_rounding,
    expected_to_hold,
    random_piecewise_linear,
    random_sweep,
    smallest_counterexample,
)
from lenetlab.experiments import commutation
from lenetlab.sections.commutation import section

MONOTONE = [a for a in ACTIVATIONS.values() if a.monotone]
NOT_MONOTONE = [a for a in ACTIVATIONS.values() if not a.monotone]
NONLINEAR = [ACTIVATIONS[n] for n in ("relu", "tanh", "sigmoid", "square", "sin", "step")]


@st.composite
def geometries(draw, kind: str = "max") -> Pool:
    """Any geometry PyTorch accepts: padding at most half the kernel, dilation for max only."""
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    return Pool(
        kind, kernel,
        stride=(draw(st.integers(1, 5)), draw(st.integers(1, 5))),
        padding=(draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2))),
        dilation=(draw(st.integers(1, 3)), draw(st.integers(1, 3))) if kind == "max" else (1, 1),
        ceil_mode=draw(st.booleans()),
    )


@st.composite
def pooled_inputs(draw, kind: str = "max") -> tuple[Pool, torch.Tensor]:
    """A geometry and X [N, C, H, W] big enough for it, with continuous or tied values."""
    pool = draw(geometries(kind))
    least = [max(1, pool.dilation[a] * (pool.kernel[a] - 1) + 1 - 2 * pool.padding[a])
             for a in (0, 1)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             draw(st.integers(least[0], least[0] + 5)), draw(st.integers(least[1], least[1] + 5)))
    values = st.one_of(
        st.floats(-50, 50, width=32),
        st.integers(-3, 3).map(float),  # ties, which step functions care about
    )
    return pool, torch.from_numpy(draw(arrays(np.float32, shape, elements=values)))


@st.composite
def monotone_piecewise(draw) -> PiecewiseLinear:
    """Random non-decreasing piecewise-linear σ with ramps (some unbounded) and jumps."""
    coord = st.floats(-10, 10)
    ramps = draw(st.lists(st.tuples(coord, st.one_of(st.floats(0.01, 10), st.just(math.inf)),
                                    st.floats(0, 5)), max_size=5))
    jumps = draw(st.lists(st.tuples(coord, st.floats(0, 5)), max_size=5))
    return PiecewiseLinear(tuple(ramps), tuple(jumps), draw(st.floats(-5, 5)))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MONOTONE), pooled_inputs())
def test_max_pool_commutes_with_every_monotone_activation(activation, case):
    pool, x = case
    outcome = compare(activation.fn, pool, x)
    assert outcome.holds, f"{activation.name} {pool.describe()}: {outcome.counterexample}"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([a for a in MONOTONE if a.name != "sigmoid"]), pooled_inputs())
def test_and_the_equality_is_exact_in_floating_point(activation, case):
    """Both sides apply σ to the same x_k; only sigmoid's two code paths differ in the last bit."""
    pool, x = case
    real = ~pool.empty(x).expand_as(pool(x))
    left, right = activation.fn(pool(x)), pool(activation.fn(x))
    assert torch.equal(left[real], right[real])


@settings(max_examples=60, deadline=None)
@given(monotone_piecewise(), pooled_inputs())
def test_max_pool_commutes_with_random_monotone_piecewise_linear_functions(sigma, case):
    pool, x = case
    assert compare(sigma, pool, x).holds


@settings(max_examples=100, deadline=None)
@given(monotone_piecewise(), arrays(np.float64, 50, elements=st.floats(-20, 20)))
def test_piecewise_linear_functions_are_non_decreasing(sigma, values):
    y = sigma(torch.from_numpy(np.sort(values)))
    assert (y[1:] >= y[:-1]).all()


def test_piecewise_linear_refuses_decreasing_pieces():
    with pytest.raises(ValueError):
        PiecewiseLinear(ramps=((0.0, 1.0, -1.0),))
    with pytest.raises(ValueError):
        PiecewiseLinear(jumps=((0.0, -0.5),))


def test_random_piecewise_linear_is_seeded():
    x = torch.linspace(-5, 5, 101)
    assert torch.equal(random_piecewise_linear(3)(x), random_piecewise_linear(3)(x))
    assert not torch.equal(random_piecewise_linear(3)(x), random_piecewise_linear(4)(x))


@settings(max_examples=40, deadline=None)
@given(pooled_inputs("avg"))
def test_average_pooling_commutes_with_an_affine_activation(case):
    pool, x = case
    assert compare(ACTIVATIONS["negate"].fn, pool, x).holds


@pytest.mark.parametrize(("name", "window", "sigma_of_pool", "pool_of_sigma"), [
    ("square", ((0.0, -1.0),), 0.0, 1.0),
    ("sin", ((1.0, 3.0),), math.sin(3), math.sin(1)),
    ("negate", ((0.0, 1.0),), -1.0, 0.0),
])
def test_non_monotone_activations_have_a_small_concrete_counterexample(
    name, window, sigma_of_pool, pool_of_sigma
):
    found = smallest_counterexample(ACTIVATIONS[name].fn, "max", seed=0).counterexample
    assert found is not None and found.x == window
    assert found.sigma_of_pool == pytest.approx(sigma_of_pool, rel=1e-6)
    assert found.pool_of_sigma == pytest.approx(pool_of_sigma, rel=1e-6)


@pytest.mark.parametrize("activation", NOT_MONOTONE, ids=lambda a: a.name)
def test_max_pool_counterexamples_are_real(activation):
    """Recomputed in plain Python: σ(max X) differs from max σ(X) on the window found."""
    found = smallest_counterexample(activation.fn, "max", seed=0).counterexample
    xs = [v for row in found.x for v in row]

    def sigma(v: float) -> float:
        return float(activation.fn(torch.tensor(v, dtype=torch.float64)))

    assert abs(sigma(max(xs)) - max(map(sigma, xs))) > 1e-3


@pytest.mark.parametrize("activation", NONLINEAR, ids=lambda a: a.name)
def test_average_pooling_with_a_nonlinear_activation_fails(activation):
    found = smallest_counterexample(activation.fn, "avg", seed=0).counterexample
    assert found is not None
    xs = [v for row in found.x for v in row]

    def sigma(v: float) -> float:
        return float(activation.fn(torch.tensor(v, dtype=torch.float64)))

    assert abs(sigma(sum(xs) / len(xs)) - sum(map(sigma, xs)) / len(xs)) > 1e-3


def test_relu_average_pool_counterexample_is_the_simplest_one():
    found = smallest_counterexample(ACTIVATIONS["relu"].fn, "avg").counterexample
    assert (found.x, found.sigma_of_pool, found.pool_of_sigma) == (((1.0, -1.0),), 0.0, 0.5)


@pytest.mark.parametrize("activation", MONOTONE, ids=lambda a: a.name)
def test_the_search_finds_nothing_for_monotone_activations(activation):
    assert smallest_counterexample(activation.fn, "max", trials=512).holds


def test_windows_wholly_in_the_padding_are_left_out():
    """Kernel 2, dilation 2, padding 1 on a 1-wide input: PyTorch's max over no real entry is
    −inf, where tanh(−inf) = −1 ≠ −inf. An artefact of the empty max, not a counterexample."""
    pool = Pool("max", (1, 2), (1, 1), (0, 1), (1, 2))
    x = torch.ones(1, 1, 1, 1)
    assert torch.isneginf(pool(x)).all() and pool.empty(x).all()
    assert torch.tanh(pool(x)).item() == -1.0
    assert compare(torch.tanh, pool, x).holds


def test_window_returns_the_real_entries_an_output_sees():
    x = torch.arange(20.0).view(1, 1, 4, 5)
    pool = Pool("max", (3, 3), (2, 2), (1, 1))
    assert pool.window(x, (0, 0, 0, 0)).tolist() == [[0, 1], [5, 6]]
    assert pool.window(x, (0, 0, 1, 1)).tolist() == [[6, 7, 8], [11, 12, 13], [16, 17, 18]]
    assert pool(x)[0, 0, 1, 1] == pool.window(x, (0, 0, 1, 1)).max()


def test_rounding_tolerance():
    one = torch.tensor([1.0])
    assert not exceeds_rounding(one, one + torch.finfo(torch.float32).eps).any()
    assert exceeds_rounding(one, one + 1e-5).all()
    inf = torch.tensor([math.inf])
    assert not exceeds_rounding(inf, inf).any()
    assert exceeds_rounding(torch.tensor([0.0]), -inf).all()
    assert exceeds_rounding(torch.tensor([math.nan]), torch.tensor([math.nan])).all()


def test_theory_table():
    assert all(expected_to_hold(a, "max") == a.monotone for a in ACTIVATIONS.values())
    assert [a.name for a in ACTIVATIONS.values() if expected_to_hold(a, "avg")] == ["negate"]


def test_sweeps_are_deterministic():
    sigma = ACTIVATIONS["square"].fn
    assert random_sweep(sigma, "max", 20, seed=5) == random_sweep(sigma, "max", 20, seed=5)


def test_experiment_agrees_with_the_theory_and_the_report_says_so():
    digits = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    result = commutation.run(commutation.CheckConfig(trials=15, device="cpu"), digits)
    assert result.ok
    p4 = section(result, "CPU", "lenetlab check")
    ours = [c.ours for c in p4.comparisons]
    assert ours[0].startswith("holds in 14/14 checks") and ours[1].endswith("in 6/6 cases")
    assert any("σ(x_k) ≥ σ(x_i)" in note for note in p4.notes)
    assert len(p4.tables[0].rows) == len(result.verdicts)
    assert len(result.verdicts) == 2 * len(commutation.CASES)
    by_case = {(v.case, v.data): v for v in result.verdicts}
    assert by_case["max-pool ∘ tanh", "MNIST"].holds
    assert str(by_case["max-pool ∘ square", "random"].counterexample) == (
        "X=[0, −1]: σ(P X)=0, P σ(X)=1")
    assert not by_case["avg-pool ∘ relu", "random"].holds
