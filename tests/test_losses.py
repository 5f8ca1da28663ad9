"""The margin losses against their definitions and torch.autograd; the many-seed trainer against
a plain nn.Linear + autograd + torch.optim.SGD loop and against itself one seed at a time."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from lenetlab.losses import (
    LOSSES,
    ce_slope,
    evaluate,
    initial_weights,
    logistic_ce,
    squared_probability,
    squared_slope,
    train_many,
)

margins = st.floats(-30, 30, allow_nan=False)


def literal_squared(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The document's definition: ‖onehot(y) − [σ(−z), σ(z)]‖², class 0 for y = −1."""
    p = torch.stack([torch.sigmoid(-z), torch.sigmoid(z)], -1)
    onehot = torch.stack([(y < 0).double(), (y > 0).double()], -1)
    return ((onehot - p) ** 2).sum(-1)


@given(z=margins, y=st.sampled_from([-1.0, 1.0]))
def test_losses_equal_their_closed_forms(z, y):
    zt, yt = torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    assert logistic_ce(zt, yt).item() == pytest.approx(math.log1p(math.exp(-y * z)), rel=1e-12)
    assert squared_probability(zt, yt).item() == pytest.approx(
        2 / (1 + math.exp(y * z)) ** 2, rel=1e-12)


@given(z=st.floats(-8, 8), y=st.sampled_from([-1.0, 1.0]))
def test_squared_probability_is_the_documents_squared_distance(z, y):
    """Only for moderate z: the literal 1 − σ(z) cancels, which is why we use 2σ(−yz)²."""
    zt, yt = torch.tensor(z, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    assert squared_probability(zt, yt).item() == pytest.approx(literal_squared(zt, yt).item(),
                                                                rel=1e-9)


@pytest.mark.parametrize("name", list(LOSSES))
def test_slopes_match_autograd(name):
    m = torch.linspace(-20, 20, 801, dtype=torch.float64, requires_grad=True)
    LOSSES[name].of_margin(m).sum().backward()
    torch.testing.assert_close(LOSSES[name].slope(m.detach()), m.grad, rtol=1e-12, atol=1e-15)


def test_slopes_closed_forms():
    m = torch.linspace(-20, 20, 801, dtype=torch.float64)
    torch.testing.assert_close(ce_slope(m), -1 / (1 + torch.exp(m)))
    s = 1 / (1 + torch.exp(-m))
    torch.testing.assert_close(squared_slope(m), -4 * (1 - s) ** 2 * s)


def test_gradient_in_z_is_y_times_slope():
    z = torch.randn(50, dtype=torch.float64, requires_grad=True)
    y = torch.where(torch.rand(50) < 0.5, -1.0, 1.0).double()
    for fn, slope in ((logistic_ce, ce_slope), (squared_probability, squared_slope)):
        (grad,) = torch.autograd.grad(fn(z, y).sum(), z)
        torch.testing.assert_close(grad, y * slope(y * z.detach()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_margins_are_finite(dtype):
    z = torch.tensor([-1e4, 1e4, -1e4, 1e4], dtype=dtype, requires_grad=True)
    y = torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=dtype)  # margins −1e4, 1e4, 1e4, −1e4
    ce, sq = logistic_ce(z, y), squared_probability(z, y)
    assert ce.tolist() == [1e4, 0.0, 0.0, 1e4]
    assert sq.tolist() == [2.0, 0.0, 0.0, 2.0]
    (g_ce,) = torch.autograd.grad(ce.sum(), z)
    (g_sq,) = torch.autograd.grad(sq.sum(), z)
    assert g_ce.tolist() == [-1.0, 0.0, 0.0, 1.0]  # cross-entropy keeps pulling
    assert g_sq.abs().max().item() == 0.0  # the squared loss has let go
    m = y * z.detach()
    assert ce_slope(m).tolist() == [-1.0, 0.0, 0.0, -1.0]
    assert squared_slope(m).abs().max().item() == 0.0


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_initial_weights_are_nn_linear_default(seed):
    torch.manual_seed(seed)
    expected = nn.Linear(784, 1, bias=False).weight.detach()[0]
    assert torch.equal(initial_weights(torch.Generator().manual_seed(seed)), expected)


def toy_data(n: int = 150, dim: int = 20, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A separable-ish ±1 task with two always-zero pixels (their weights must not move)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, dim, generator=g)
    x[:, :2] = 0
    y = torch.where(x[:, 2:6].sum(1) > x[:, 6:10].sum(1), 1.0, -1.0)
    return x, y


def reference(x, y, seed, loss, epochs, batch_size, lr):
    """One seed the ordinary way: nn.Linear, autograd, torch.optim.SGD, same batches."""
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(x.shape[1], 1, bias=False)
    with torch.no_grad():
        model.weight[0] = initial_weights(g, x.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    fn = {"ce": logistic_ce, "mse": squared_probability}[loss]
    batch_losses = []
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch_size):
            idx = order[i : i + batch_size]
            value = fn(model(x[idx])[:, 0], y[idx]).mean()
            opt.zero_grad()
            value.backward()
            opt.step()
            batch_losses.append(value.item())
    return model.weight.detach()[0], torch.tensor(batch_losses)


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_train_many_equals_autograd_sgd(loss):
    x, y = toy_data()
    run = train_many(x, y, [3, 7], ("ce", "mse"), epochs=2, batch_size=32, lr=0.5)
    j = run.losses.index(loss)
    for k, seed in enumerate(run.seeds):
        w, batch_losses = reference(x, y, seed, loss, epochs=2, batch_size=32, lr=0.5)
        torch.testing.assert_close(run.weights[k, j], w, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(run.train_loss[:, :, k, j].flatten(), batch_losses,
                                   rtol=1e-5, atol=1e-6)
        assert torch.equal(run.weights[k, j, :2], run.snapshots[0, k, j, :2])  # zero pixels


def test_seed_alone_equals_seed_in_the_crowd():
    x, y = toy_data()
    crowd = train_many(x, y, range(7), epochs=2, batch_size=16, lr=0.1, chunk=3)
    for k in (0, 4, 6):
        alone = train_many(x, y, [k], epochs=2, batch_size=16, lr=0.1)
        torch.testing.assert_close(alone.snapshots[:, 0], crowd.snapshots[:, k],
                                   rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(alone.train_loss[:, :, 0], crowd.train_loss[:, :, k],
                                   rtol=1e-6, atol=1e-7)


def test_losses_share_start_and_batches_per_seed():
    x, y = toy_data()
    run = train_many(x, y, [0, 1], epochs=1, batch_size=50, lr=0.1)
    assert torch.equal(run.snapshots[0, :, 0], run.snapshots[0, :, 1])
    assert not torch.equal(run.snapshots[0, 0], run.snapshots[0, 1])  # seeds differ
    assert run.train_loss.shape == (1, 3, 2, 2)  # 150 images in batches of 50


def test_evaluate_counts_zero_as_correct():
    x, y = toy_data(n=10)
    w = torch.zeros(3, 2, x.shape[1])
    loss, accuracy = evaluate(w, x, y, ("ce", "mse"))
    assert accuracy.shape == loss.shape == (3, 2)
    assert torch.all(accuracy == 1.0)
    torch.testing.assert_close(loss[:, 0], torch.full((3,), math.log(2)))
    torch.testing.assert_close(loss[:, 1], torch.full((3,), 0.5))


def test_evaluate_matches_a_loop():
    x, y = toy_data(n=40)
    w = torch.randn(2, 2, x.shape[1], generator=torch.Generator().manual_seed(1))
    loss, accuracy = evaluate(w, x, y, ("ce", "mse"))
    for k in range(2):
        z = x @ w[k, 0]
        assert accuracy[k, 0].item() == pytest.approx(((z * y) >= 0).double().mean().item())
        assert loss[k, 0].item() == pytest.approx(logistic_ce(z, y).mean().item(), rel=1e-6)


def test_bad_arguments():
    x, y = toy_data(n=10)
    with pytest.raises(ValueError, match="losses"):
        train_many(x, y, [0], losses=("hinge",))
    with pytest.raises(ValueError, match="lr"):
        train_many(x, y, [0], lr=0)
