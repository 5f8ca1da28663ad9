"""SDLM: h_kk against two independent computations (the exact Gauss–Newton diagonal by autograd
where the paper's recursion is exact, and the recursion itself from dense autograd Jacobians
where weights are shared), the update rule, and a few online steps that lower the loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev

from lenetlab.layers import TableConv2d
from lenetlab.lenet1998 import Subsampling, lenet5_1998, squash, squash_slope, to_paper_input
from lenetlab.losses1998 import MAPCriterion, MeanPenalty
from lenetlab.sdlm import SDLM, gauss_newton_diagonal, stage_input


class Chain(nn.Module):
    """x → f(L_1(x)) → … → f(L_n(·)), the structure `gauss_newton_diagonal` walks."""

    def __init__(self, *stages: nn.Module) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.stages:
            x = squash(layer(stage_input(layer, x)))
        return x


def seeded(seed: int, *stages: nn.Module) -> Chain:
    torch.manual_seed(seed)
    for layer in stages:  # larger weights than the 1998 init, so every term matters
        for p in layer.parameters():
            nn.init.uniform_(p, -0.8, 0.8)
    return Chain(*stages).double()


def prototypes(k: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 2, (k, d), generator=g) * 2 - 1).double()


def test_h_equals_the_exact_gauss_newton_diagonal_of_a_two_layer_net():
    """With Eq. 8 the loss Hessian over F6's outputs is 2·I and every parameter of a two-layer
    net reaches each output by one path, so the recursion drops nothing: h_kk must equal
    diag(Jᵀ H J) averaged over examples, computed here by autograd."""
    net = seeded(0, nn.Linear(5, 4), nn.Linear(4, 3))
    protos, labels = prototypes(2, 3), torch.tensor([0, 1, 1, 0, 1, 0])
    x = torch.randn(6, 5, dtype=torch.float64)
    loss = MeanPenalty()
    params = dict(net.named_parameters())
    expected = {n: torch.zeros_like(p) for n, p in params.items()}
    for xp, label in zip(x, labels, strict=True):
        out = net(xp[None])[0]
        jac = jacrev(lambda ps, xp=xp: functional_call(net, ps, (xp[None],))[0])(params)
        hess = torch.autograd.functional.hessian(
            lambda o, label=label: ((o - protos[label]) ** 2).sum(), out)
        for n, j in jac.items():
            j = j.reshape(3, -1)  # [outputs, parameter entries]
            expected[n] += (j * (hess @ j)).sum(0).view_as(params[n]) / len(x)
    got = gauss_newton_diagonal(list(net.stages), x, lambda o: loss.curvature(o, protos),
                                squash, squash_slope)
    for (n, e), g in zip(expected.items(), got, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-14, msg=n)


def dense_recursion(net: Chain, x: torch.Tensor, top: torch.Tensor) -> list[torch.Tensor]:
    """The paper's recursion from dense autograd Jacobians, one example at a time:
    ∂²E/∂u_j² = Σ_i (∂a_i/∂u_j)² ∂²E/∂a_i², and per weight Σ over its connections (i, j),
    found as the non-zero mixed derivatives ∂²a_i/∂w∂u_j, of ∂²E/∂a_i²·u_j²; per bias
    Σ_i (∂a_i/∂b)² ∂²E/∂a_i²."""
    total = [torch.zeros_like(p) for p in net.parameters()]
    for xp, tp in zip(x, top, strict=True):
        inputs, preacts, u = [], [], xp[None]
        for layer in net.stages:
            u = stage_input(layer, u)
            inputs.append(u)
            preacts.append(layer(u))
            u = squash(preacts[-1])
        d, per_layer = tp.reshape(u.shape), []
        for layer, u, a in zip(reversed(net.stages), reversed(inputs), reversed(preacts),
                               strict=True):
            da = (d.reshape(a.shape) * squash_slope(a) ** 2).flatten()  # [A]
            params = dict(layer.named_parameters())

            def pre(ps, u, layer=layer):
                return functional_call(layer, ps, (u,)).flatten()

            h = {}
            for n, w in params.items():
                if n == "bias":
                    jb = jacrev(pre)(params, u)[n].reshape(len(da), -1)  # [A, W]
                    h[n] = (jb**2 * da[:, None]).sum(0).view_as(w)
                else:
                    mixed = jacrev(lambda u, n=n, ps=params: jacrev(pre)(ps, u)[n])(u)
                    mixed = mixed.reshape(len(da), w.numel(), -1)  # [A, W, U]
                    h[n] = (mixed**2 * da[:, None, None] * u.flatten() ** 2).sum((0, 2))
                    h[n] = h[n].view_as(w)
            ju = jacrev(lambda v, ps=params: pre(ps, v))(u).reshape(len(da), -1)  # [A, U]
            d = (ju**2 * da[:, None]).sum(0)
            per_layer.append([h[n] for n in params])
        for i, h in enumerate(h for layer_h in reversed(per_layer) for h in layer_h):
            total[i] += h / len(x)
    return total


def test_h_with_shared_weights_matches_the_recursion_from_dense_jacobians():
    """Convolution, trainable subsampling (one coefficient on 4 connections per unit), the
    sparse table convolution and a fully connected layer: shared weights sum over their
    connections exactly as the paper says."""
    net = seeded(1, nn.Conv2d(1, 2, 3), Subsampling(2),
                 TableConv2d(((0,), (0, 1), (1,)), 2, 2), nn.Linear(12, 4))
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    top = torch.rand(3, 4, dtype=torch.float64) + 0.5  # any positive output curvature
    got = gauss_newton_diagonal(list(net.stages), x, lambda o: top, squash, squash_slope)
    expected = dense_recursion(net, x, top)
    for (n, _), g, e in zip(net.named_parameters(), got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-14, msg=n)


def test_lenet1998_curvature_covers_every_parameter_from_its_own_features():
    model = lenet5_1998()
    x = torch.rand(4, 1, 28, 28)
    seen = []

    def top(out):
        seen.append(out)
        return MeanPenalty().curvature(out, model.output.prototypes)

    h = gauss_newton_diagonal(model.stages(), to_paper_input(x), top, squash, squash_slope)
    torch.testing.assert_close(seen[0], model.features(x))
    params = [p for layer in model.stages() for p in layer.parameters()]
    assert [t.shape for t in h] == [p.shape for p in params]
    assert all((t > 0).all() for t in h)


def test_step_is_eta_over_mu_plus_h_times_the_gradient():
    w = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    w.grad = torch.tensor([0.5, 1.0, -4.0])
    h = torch.tensor([0.0, 0.3, 10.0])
    opt = SDLM([w], mu=0.02)
    opt.set_curvature([h], eta=0.01)
    opt.step()
    expected = torch.tensor([1.0, -2.0, 3.0]) - 0.01 / (0.02 + h) * torch.tensor([0.5, 1.0, -4.0])
    torch.testing.assert_close(w.detach(), expected)
    assert opt.step_range() == pytest.approx((0.01 / 10.02, 0.01 / 0.02))
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("loss", [MeanPenalty(), MAPCriterion(j=2.0)])
def test_a_few_online_steps_lower_the_loss(loss):
    net = seeded(2, nn.Linear(6, 5), nn.Linear(5, 4))
    protos = prototypes(3, 4, seed=1)
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (12,), generator=g)
    x = torch.randn(12, 6, generator=g, dtype=torch.float64) + labels[:, None]

    def penalties(inp):
        return (net(inp).unsqueeze(1) - protos).square().sum(-1)

    before = loss(penalties(x), labels).item()
    opt = SDLM(net.parameters(), mu=0.02)
    opt.set_curvature(gauss_newton_diagonal(list(net.stages), x,
                                            lambda o: loss.curvature(o, protos),
                                            squash, squash_slope), eta=0.02)
    for i in range(len(x)):  # one pass, one example per step
        loss(penalties(x[i : i + 1]), labels[i : i + 1]).backward()
        opt.step()
        opt.zero_grad()
    after = loss(penalties(x), labels).item()
    assert after < 0.9 * before


def test_mu_must_be_positive():
    with pytest.raises(ValueError, match="mu"):
        SDLM([nn.Parameter(torch.zeros(1))], mu=0.0)
