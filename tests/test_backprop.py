"""The NumPy backpropagation against torch.autograd and central differences (float64)."""

from __future__ import annotations

import ast
import inspect
import sys

import numpy as np
import pytest
import torch

import lenetlab.backprop as bp
from lenetlab.backprop import (
    ACTIVATIONS,
    MLP,
    finite_differences,
    loss_and_gradients,
    relative_error,
    sgd_step,
    softmax_cross_entropy,
)
from lenetlab.experiments.backprop import BackpropConfig, autograd_gradients, gradient_checks

SHAPES = [[6, 4], [6, 5, 4], [6, 5, 7, 3], [7, 4, 6, 5, 5, 3]]  # 0 to 4 hidden layers


def random_case(sizes, activation, seed=0, batch=5):
    rng = np.random.default_rng(seed)
    mlp = MLP.init(sizes, activation, rng)
    x = rng.normal(size=(batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    return mlp, x, labels


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: f"{len(s) - 2}hidden")
def test_gradients_match_autograd_and_finite_differences(sizes, activation):
    mlp, x, labels = random_case(sizes, activation)
    grads = loss_and_gradients(mlp, x, labels)[1]
    assert [g.shape for g in grads] == [p.shape for p in mlp.parameters()]
    assert relative_error(grads, autograd_gradients(mlp, x, labels)) < 1e-8
    assert relative_error(grads, finite_differences(mlp, x, labels)) < 1e-8


def torch_forward(mlp: MLP, x: torch.Tensor) -> torch.Tensor:
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[mlp.activation]
    for i, (a, b) in enumerate(zip(mlp.weights, mlp.biases, strict=True)):
        x = x @ torch.tensor(a).T + torch.tensor(b)
        if i < len(mlp.weights) - 1:
            x = act(x)
    return x


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_matches_torch(activation):
    mlp, x, _ = random_case(SHAPES[2], activation)
    logits, _ = mlp.forward(x)
    np.testing.assert_allclose(logits, torch_forward(mlp, torch.tensor(x)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_documents_jacobians_chain_to_the_input_jacobian(activation):
    mlp, x, _ = random_case(SHAPES[3], activation, batch=1)
    jacobians = mlp.jacobians(x[0])
    assert np.array_equal(jacobians[-1], mlp.weights[-1])  # ∂y_L/∂y_{L−1} = A_L
    chain = jacobians[0]
    for j in jacobians[1:]:
        chain = j @ chain
    expected = torch.autograd.functional.jacobian(lambda v: torch_forward(mlp, v),
                                                  torch.tensor(x[0]))
    np.testing.assert_allclose(chain, expected.numpy(), rtol=1e-10, atol=1e-14)


def test_bias_gradient_of_the_last_layer_is_the_output_gradient():
    """∂y_L/∂b_L = I: db_L is the output gradient summed over the batch."""
    mlp, x, _ = random_case(SHAPES[1], "tanh")
    logits, trace = mlp.forward(x)
    d_out = np.random.default_rng(1).normal(size=logits.shape)
    assert np.array_equal(mlp.backward(trace, d_out)[-1], d_out.sum(0))


def test_softmax_cross_entropy_matches_torch_and_is_stable():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(6, 4)) * 3, rng.integers(0, 4, 6)
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    loss, grad = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)
    loss, grad = softmax_cross_entropy(np.array([[1e4, -1e4, 0.0]]), np.array([1]))
    assert loss == pytest.approx(2e4) and np.isfinite(grad).all()


def test_sigmoid_is_stable_at_extremes():
    with np.errstate(all="raise"):
        values = ACTIVATIONS["sigmoid"].f(np.array([-1e4, 0.0, 1e4]))
    assert values.tolist() == [0.0, 0.5, 1.0]


def test_sgd_step_moves_against_the_gradient():
    mlp, x, labels = random_case(SHAPES[1], "relu")
    before = [p.copy() for p in mlp.parameters()]
    loss, grads = loss_and_gradients(mlp, x, labels)
    sgd_step(mlp, grads, 0.1)
    for p, b, g in zip(mlp.parameters(), before, grads, strict=True):
        np.testing.assert_array_equal(p, b - 0.1 * g)
    assert loss_and_gradients(mlp, x, labels)[0] < loss


def test_module_uses_numpy_alone():
    roots = set()
    for node in ast.walk(ast.parse(inspect.getsource(bp))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) == {"numpy"}


def test_gradient_check_table_passes():
    checks = gradient_checks(depths=(0, 2), activations=("tanh", "relu"))
    assert len(checks) == 4
    assert max(max(c.error_fd, c.error_autograd) for c in checks) < 1e-8


def test_init_rejects_nonsense():
    with pytest.raises(ValueError, match="activation"):
        MLP.init([4, 2], "swish")
    with pytest.raises(ValueError):
        MLP.init([4])
    with pytest.raises(ValueError):
        BackpropConfig(activation="swish")


@pytest.mark.slow
def test_numpy_mlp_reaches_97_percent_on_mnist(real_mnist):
    from lenetlab.data import load_mnist
    from lenetlab.experiments.backprop import train

    _, history = train(BackpropConfig(), load_mnist("train", real_mnist),
                       load_mnist("test", real_mnist))
    assert history[-1].test_accuracy >= 0.97
