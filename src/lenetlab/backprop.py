"""Backpropagation through an MLP by hand, in NumPy alone (SPEC P6).

The network is y_ℓ = σ(A_ℓ y_{ℓ−1} + b_ℓ) for ℓ < L and y_L = A_L y_{L−1} + b_L (logits).
Writing a_ℓ = A_ℓ y_{ℓ−1} + b_ℓ, the document's Jacobians are

    ∂y_L/∂b_L = I,   ∂y_L/∂y_{L−1} = A_L,   ∂y_ℓ/∂y_{ℓ−1} = diag(σ'(a_ℓ))·A_ℓ,

and the chain rule carries the row vector δ = ∂loss/∂y_ℓ down the layers: δ ← δ·diag(σ'(a_ℓ))
through the nonlinearity, then ∂loss/∂A_ℓ = δᵀ y_{ℓ−1}, ∂loss/∂b_ℓ = δ, and δ ← δ·A_ℓ. For a
batch the rows of y and δ are examples, so each line below is one matrix product.
No torch here: the tests check this module against torch.autograd and finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[[np.ndarray], np.ndarray]
    prime: Callable[[np.ndarray, np.ndarray], np.ndarray]  # σ'(a), given a and y = σ(a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * a))  # σ without exp overflow for large |a|


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", _sigmoid, lambda a, y: y * (1 - y)),
    "tanh": Activation("tanh", np.tanh, lambda a, y: 1 - y * y),
    "relu": Activation("relu", lambda a: np.maximum(a, 0), lambda a, y: (a > 0).astype(a.dtype)),
}


@dataclass
class Trace:
    """What the backward pass needs from the forward pass of one batch."""

    inputs: list[np.ndarray]  # y_{ℓ−1} for ℓ = 1..L, each [B, n_{ℓ−1}]
    pre: list[np.ndarray]  # a_ℓ for the hidden layers ℓ = 1..L−1, each [B, n_ℓ]
    post: list[np.ndarray]  # y_ℓ = σ(a_ℓ) for the same layers


@dataclass
class MLP:
    weights: list[np.ndarray]  # A_ℓ [n_ℓ, n_{ℓ−1}], ℓ = 1..L
    biases: list[np.ndarray]  # b_ℓ [n_ℓ]
    activation: str = "tanh"

    @classmethod
    def init(cls, sizes: list[int] | tuple[int, ...], activation: str = "tanh",
             rng: np.random.Generator | None = None, dtype: type = np.float64) -> MLP:
        """Layers sizes[0] → … → sizes[-1], drawn like nn.Linear: U(±1/√fan_in)."""
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"not {activation!r}")
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"need at least an input and an output size ≥ 1, got {sizes}")
        rng = rng or np.random.default_rng(0)
        weights, biases = [], []
        for fan_in, fan_out in pairwise(sizes):
            bound = 1 / np.sqrt(fan_in)
            weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype))
            biases.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        return cls(weights, biases, activation)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [a.shape[0] for a in self.weights]

    def parameters(self) -> list[np.ndarray]:
        """[A_1, b_1, …, A_L, b_L]: the order of `backward`'s gradients."""
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Trace]:
        """Logits y_L [B, n_L] of x [B, n_0], and the trace for `backward`."""
        act = ACTIVATIONS[self.activation]
        trace = Trace([], [], [])
        y = x
        for a_mat, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            trace.inputs.append(y)
            a = y @ a_mat.T + b  # [B, n_ℓ]
            y = act.f(a)  # [B, n_ℓ]
            trace.pre.append(a)
            trace.post.append(y)
        trace.inputs.append(y)
        return y @ self.weights[-1].T + self.biases[-1], trace  # [B, n_L], linear last layer

    def backward(self, trace: Trace, d_out: np.ndarray) -> list[np.ndarray]:
        """Gradients [dA_1, db_1, …, dA_L, db_L] of a loss whose gradient in the logits is d_out."""
        act = ACTIVATIONS[self.activation]
        grads: list[np.ndarray] = []
        delta = d_out  # ∂loss/∂y_L, [B, n_L]
        for layer in range(len(self.weights) - 1, -1, -1):
            if layer < len(self.weights) - 1:  # hidden: ∂y_ℓ/∂a_ℓ = diag(σ'(a_ℓ))
                delta = delta * act.prime(trace.pre[layer], trace.post[layer])  # [B, n_ℓ]
            grads += [delta.sum(0), delta.T @ trace.inputs[layer]]  # ∂a_ℓ/∂b_ℓ = I
            if layer > 0:
                delta = delta @ self.weights[layer]  # ∂a_ℓ/∂y_{ℓ−1} = A_ℓ, [B, n_{ℓ−1}]
        return grads[::-1]  # built as [db_L, dA_L, …]: reversed is [dA_1, db_1, …]

    def jacobians(self, x: np.ndarray) -> list[np.ndarray]:
        """The document's per-layer Jacobians ∂y_ℓ/∂y_{ℓ−1} [n_ℓ, n_{ℓ−1}] at one input x [n_0].

        Their product J_L ··· J_1 is ∂y_L/∂x; `backward` applies the same matrices without
        forming them.
        """
        _, trace = self.forward(x[None])
        act = ACTIVATIONS[self.activation]
        hidden = [act.prime(a[0], y[0])[:, None] * a_mat  # diag(σ'(a_ℓ))·A_ℓ
                  for a, y, a_mat in zip(trace.pre, trace.post, self.weights[:-1], strict=True)]
        return [*hidden, self.weights[-1]]  # ∂y_L/∂y_{L−1} = A_L


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits [B, C] against integer labels [B], and its gradient in the
    logits: (softmax − onehot) / B."""
    shifted = logits - logits.max(1, keepdims=True)  # no overflow in exp
    log_z = np.log(np.exp(shifted).sum(1, keepdims=True))
    log_p = shifted - log_z  # [B, C]
    rows = np.arange(len(labels))
    loss = -log_p[rows, labels].mean()
    grad = np.exp(log_p)
    grad[rows, labels] -= 1
    return float(loss), grad / len(labels)


def loss_and_gradients(mlp: MLP, x: np.ndarray, labels: np.ndarray
                       ) -> tuple[float, list[np.ndarray]]:
    """Softmax cross-entropy of the batch and its gradient in every parameter."""
    logits, trace = mlp.forward(x)
    loss, d_logits = softmax_cross_entropy(logits, labels)
    return loss, mlp.backward(trace, d_logits)


def sgd_step(mlp: MLP, grads: list[np.ndarray], lr: float) -> None:
    """p ← p − lr·∂loss/∂p, in place, for every parameter."""
    for p, g in zip(mlp.parameters(), grads, strict=True):
        p -= lr * g


def finite_differences(mlp: MLP, x: np.ndarray, labels: np.ndarray,
                       eps: float = 1e-5) -> list[np.ndarray]:
    """Central differences (ℓ(p + ε) − ℓ(p − ε)) / 2ε of the loss in every parameter.

    In float64, ε = 1e-5 balances the O(ε²) truncation error against rounding (≈ 1e-16/ε).
    """
    grads = []
    for p in mlp.parameters():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + eps
            up = softmax_cross_entropy(mlp.forward(x)[0], labels)[0]
            p[i] = saved - eps
            down = softmax_cross_entropy(mlp.forward(x)[0], labels)[0]
            p[i] = saved
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def relative_error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) over all parameters together (0 when both are 0)."""
    flat_a = np.concatenate([g.ravel() for g in a])
    flat_b = np.concatenate([g.ravel() for g in b])
    scale = max(np.linalg.norm(flat_a), np.linalg.norm(flat_b))
    return float(np.linalg.norm(flat_a - flat_b) / scale) if scale else 0.0
