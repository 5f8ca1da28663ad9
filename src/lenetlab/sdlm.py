"""Stochastic diagonal Levenberg–Marquardt (LeCun et al. 1998, Appendix C; SPEC P7+).

Every parameter w_k gets its own step ε_k = η/(μ + h_kk), h_kk an estimate of ∂²E/∂w_k² by the
Gauss–Newton approximation, back-propagated like a gradient but with squares:

    ∂²E/∂a_i² = f'(a_i)² · ∂²E/∂x_i²          (x_i = f(a_i); f'' is dropped)
    ∂²E/∂x_j² = Σ_i u_ij² · ∂²E/∂a_i²         (u_ij the weight from input j to unit i)
    ∂²E/∂u_ij² = ∂²E/∂a_i² · x_j²,  h_kk = Σ over the connections (i, j) that share w_k

averaged over a few hundred examples. The cross terms between units are dropped, so h_kk is the
exact Gauss–Newton diagonal only where a parameter reaches the output by a single path.

Implementation: every layer here (Conv2d, Linear, TableConv2d, Subsampling) is bilinear in its
input and its weights, plus a bias. For such a layer L, the vector–Jacobian product of
u, v ↦ ⟨d, L(u; v)⟩ at u = x², v = w² gives Σ_i w_ij² d_i for the input and Σ_conn d_i x_j² for
each weight, the sum over shared connections included, and Σ_i d_i for a bias: the recursion
above is one backward pass per layer through the layer with squared weights and squared inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.func import functional_call

Activation = Callable[[torch.Tensor], torch.Tensor]


def stage_input(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A fully connected stage sees its input flattened; the others as they come."""
    return x.flatten(1) if isinstance(layer, nn.Linear) else x


def gauss_newton_diagonal(
    stages: Sequence[nn.Module],
    x: torch.Tensor,
    top_curvature: Callable[[torch.Tensor], torch.Tensor],
    activation: Activation,
    slope: Activation,
) -> list[torch.Tensor]:
    """h_kk for every parameter of `stages`, in `parameters()` order, averaged over the rows of x.

    The network is x → f(L_1(x)) → … → f(L_n(·)); `top_curvature(out)` gives ∂²E_p/∂out² per
    example for the last stage's squashed output (see `losses1998`), `slope` is f'.
    """
    inputs, preacts = [], []
    with torch.no_grad():
        for layer in stages:
            x = stage_input(layer, x)
            inputs.append(x)
            preacts.append(layer(x))
            x = activation(preacts[-1])
        d = top_curvature(x)  # ∂²E/∂x² of the last stage's output, per example
    per_layer = []
    for layer, u, a in zip(reversed(stages), reversed(inputs), reversed(preacts), strict=True):
        d = d.reshape(a.shape) * slope(a).square()  # ∂²E/∂a²
        squared = {n: p.detach().square().requires_grad_() for n, p in layer.named_parameters()}
        u2 = u.square().requires_grad_()
        out = functional_call(layer, squared, (u2,))
        d, *h = torch.autograd.grad(out, [u2, *squared.values()], d)
        per_layer.append([g / len(u) for g in h])
    return [h for layer_h in reversed(per_layer) for h in layer_h]


class SDLM:
    """The update w_k ← w_k − ε_k·∂E/∂w_k with ε_k = η/(μ + h_kk).

    `set_curvature` fixes the steps (before each pass, from `gauss_newton_diagonal`); `step`
    then costs one fused multiply-add over all parameters, with no host synchronisation.
    """

    def __init__(self, params: Iterable[nn.Parameter], mu: float = 0.02) -> None:
        if not mu > 0:
            raise ValueError(f"mu must be positive, got {mu}")
        self.params = list(params)
        self.mu = mu
        self.neg_steps = [torch.zeros_like(p, requires_grad=False) for p in self.params]  # −ε_k

    @torch.no_grad()
    def set_curvature(self, curvature: Sequence[torch.Tensor], eta: float) -> None:
        for neg, h in zip(self.neg_steps, curvature, strict=True):
            torch.div(-eta, h + self.mu, out=neg)

    def step_range(self) -> tuple[float, float]:
        """(smallest, largest) ε_k now in use; the paper saw ≈ 7e-5 to 0.016 in its first pass."""
        flat = torch.cat([s.flatten() for s in self.neg_steps]).neg()
        return flat.min().item(), flat.max().item()

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        torch._foreach_addcmul_(self.params, grads, self.neg_steps)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None
