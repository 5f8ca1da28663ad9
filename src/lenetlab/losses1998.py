"""The 1998 paper's training criteria on the RBF penalties y_i = Σ_j (x_j − w_ij)² (SPEC P7+).

Each criterion also gives its curvature for SDLM (`sdlm`): the diagonal of the Hessian of the
per-example loss with respect to F6's outputs x, the fixed RBF layer included. That is where the
Gauss–Newton back-propagation starts; for Eq. 8 it is the constant 2 of the paper. Neither
depends on the label (the correct class's term is quadratic in x either way).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _correct(penalties: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    # penalties: [N, K], labels: [N] -> [N] the penalty of the correct class, y_D
    return penalties.gather(1, labels.view(-1, 1)).view(-1)


@dataclass(frozen=True)
class MeanPenalty:
    """Eq. 8: E = mean over examples of y_D, the penalty of the correct class."""

    name = "mse"

    def __call__(self, penalties: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return _correct(penalties, labels).mean()

    def curvature(self, x: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """∂²E_p/∂x_j² = 2 for every example and unit: E_p = Σ_j (x_j − w_Dj)²."""
        return torch.full_like(x, 2.0)


@dataclass(frozen=True)
class MAPCriterion:
    """Eq. 9: E = mean[y_D + log(e^{−j} + Σ_i e^{−y_i})]. The second term pushes the wrong
    classes' penalties up; e^{−j} is a "rubbish class" that stops it once every y_i ≫ j."""

    j: float = 10.0  # positive; the paper does not give its value
    name = "map"

    def __post_init__(self) -> None:
        if not self.j > 0:
            raise ValueError(f"the MAP constant j must be positive, got {self.j}")

    def _log_z(self, penalties: torch.Tensor) -> torch.Tensor:
        # log(e^{−j} + Σ_i e^{−y_i}) -> [N], without overflow
        rubbish = penalties.new_full((len(penalties), 1), -self.j)
        return torch.cat([rubbish, -penalties], 1).logsumexp(1)

    def __call__(self, penalties: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (_correct(penalties, labels) + self._log_z(penalties)).mean()

    def curvature(self, x: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """∂²E_p/∂x_j² = 2(1 − Σ_i p_i) + Σ_i p_i g_ij² − (Σ_i p_i g_ij)², where
        g_ij = 2(x_j − w_ij) and p_i = e^{−y_i}/(e^{−j} + Σ_k e^{−y_k}). Never negative:
        Σ_i p_i < 1, and by Cauchy–Schwarz (Σ p g)² ≤ (Σ p)(Σ p g²)."""
        g = 2 * (x.unsqueeze(1) - prototypes)  # [N, K, D]
        penalties = g.square().sum(-1) / 4  # [N, K]
        p = (-penalties - self._log_z(penalties).unsqueeze(1)).exp()  # [N, K]
        pg = p.unsqueeze(-1) * g  # [N, K, D]
        return 2 * (1 - p.sum(1, keepdim=True)) + (pg * g).sum(1) - pg.sum(1).square()


Criterion = MeanPenalty | MAPCriterion


def criterion(name: str, j: float = MAPCriterion.j) -> Criterion:
    """"mse" (Eq. 8) or "map" (Eq. 9 with constant j)."""
    if name == "mse":
        return MeanPenalty()
    if name == "map":
        return MAPCriterion(j)
    raise ValueError(f"unknown 1998 criterion {name!r}; choose 'mse' (Eq. 8) or 'map' (Eq. 9)")
