"""SPEC P4: max-pooling commutes with every non-decreasing activation, and nothing more.

For σ non-decreasing and P a max-pool, σ(P(X)) = P(σ(X)) for every X (`PROOF`). This module
holds the catalogue of activations (monotone ones, and non-monotone ones where the identity
breaks), pooling geometries, the comparison of both sides, and a deterministic search for a
small concrete counterexample. Property-based tests and `lenetlab check` are built on it.

Floating point: both sides apply σ to the same number x_k, so the maths says they are equal
bit for bit; in practice PyTorch evaluates some σ (sigmoid) by a vectorised and a scalar code
path that can differ in the last bit. `exceeds_rounding` therefore allows a few units in the
last place, which no real counterexample comes near.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

PROOF = (
    "For non-decreasing σ, σ(max_i x_i) = max_i σ(x_i): max_i x_i = x_k for some k, and "
    "σ(x_k) ≥ σ(x_i) for every i because x_k ≥ x_i."
)

ULPS = 4  # float rounding allowed between the two sides, in units of the dtype's epsilon


@dataclass(frozen=True)
class PiecewiseLinear:
    """σ(x) = offset + Σ slope·clamp(x − start, 0, width) + Σ height·[x ≥ at].

    Non-decreasing by construction (slopes and heights ≥ 0), also in floating point, where
    subtraction, clamping, scaling by a non-negative number and addition are all monotone.
    `width` may be inf (a ray: a ReLU); jumps make it a monotone step function.
    """

    ramps: tuple[tuple[float, float, float], ...] = ()  # (start, width > 0, slope ≥ 0)
    jumps: tuple[tuple[float, float], ...] = ()  # (at, height ≥ 0)
    offset: float = 0.0

    def __post_init__(self) -> None:
        if any(w <= 0 or s < 0 for _, w, s in self.ramps) or any(h < 0 for _, h in self.jumps):
            raise ValueError("widths must be positive, slopes and heights non-negative")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.full_like(x, self.offset)
        for start, width, slope in self.ramps:
            y = y + slope * (x - start).clamp(0, width)
        for at, height in self.jumps:
            y = y + height * (x >= at).to(x.dtype)
        return y


def random_piecewise_linear(seed: int, pieces: int = 4) -> PiecewiseLinear:
    """A seeded random monotone piecewise-linear σ with `pieces` ramps and jumps in [−3, 3]."""
    g = torch.Generator().manual_seed(seed)

    def uniform(n: int, lo: float, hi: float) -> list[float]:
        return (lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)).tolist()

    starts, widths, slopes = uniform(pieces, -3, 3), uniform(pieces, 0.1, 2), uniform(pieces, 0, 2)
    widths[-1] = math.inf  # the last ramp rises for ever, like a ReLU
    ats, heights = uniform(pieces, -3, 3), uniform(pieces, 0, 1)
    return PiecewiseLinear(tuple(zip(starts, widths, slopes, strict=True)),
                           tuple(zip(ats, heights, strict=True)), offset=uniform(1, -1, 1)[0])


@dataclass(frozen=True)
class Activation:
    name: str
    formula: str
    fn: Callable[[torch.Tensor], torch.Tensor] = field(compare=False)
    monotone: bool  # non-decreasing on all of R
    affine: bool = False  # a·x + b: commutes with average pooling too


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", "max(x, 0)", torch.relu, True),
        Activation("leaky-relu", "max(x, 0.1x)", lambda x: F.leaky_relu(x, 0.1), True),
        Activation("tanh", "tanh x", torch.tanh, True),
        Activation("sigmoid", "1/(1 + e^−x)", torch.sigmoid, True),
        Activation("step", "[x ≥ 0]", lambda x: (x >= 0).to(x.dtype), True),
        Activation("clamp", "min(max(x, −1), 1)", lambda x: x.clamp(-1, 1), True),
        Activation("piecewise", "random monotone piecewise-linear (seed 0)",
                   random_piecewise_linear(0), True),
        Activation("square", "x²", torch.square, False),
        Activation("sin", "sin x", torch.sin, False),
        Activation("negate", "−x", torch.neg, False, affine=True),
    )
}


def expected_to_hold(activation: Activation, kind: str) -> bool:
    """What the theory says: max-pooling commutes with non-decreasing σ, average pooling (a
    linear map with weights summing to 1) with affine σ."""
    return activation.monotone if kind == "max" else activation.affine


@dataclass(frozen=True)
class Pool:
    """A 2-D pooling geometry as PyTorch defines it (max pads with −inf, average with zeros)."""

    kind: str  # "max" or "avg"
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)  # max only: average pooling has none
    ceil_mode: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return F.max_pool2d(x, self.kernel, self.stride, self.padding, self.dilation,
                                self.ceil_mode)
        # Padding left out of the mean, so that a window's real entries are all it averages.
        return F.avg_pool2d(x, self.kernel, self.stride, self.padding, self.ceil_mode,
                            count_include_pad=False)

    def empty(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs whose window lies wholly in the padding, [1, 1, H', W'] bool.

        Max-pooling pads with −inf and PyTorch keeps padding ≤ kernel/2, yet with dilation a
        window can still miss the input (kernel 2, dilation 2, padding 1 on a 1-wide input):
        its max is −inf on both sides, and σ(−inf) ≠ −inf, an artefact of the empty max that
        says nothing about σ. Comparisons skip these outputs.
        """
        if self.kind != "max":
            return torch.zeros_like(self(x[:1, :1]), dtype=torch.bool)
        return torch.isneginf(self(torch.zeros_like(x[:1, :1])))

    def window(self, x: torch.Tensor, index: Sequence[int]) -> torch.Tensor:
        """The real (unpadded) inputs that output `index` = (n, c, i, j) pools over, [h, w]."""
        n, c, i, j = index
        rows = [i * self.stride[0] - self.padding[0] + r * self.dilation[0]
                for r in range(self.kernel[0])]
        cols = [j * self.stride[1] - self.padding[1] + s * self.dilation[1]
                for s in range(self.kernel[1])]
        rows = [r for r in rows if 0 <= r < x.shape[2]]
        cols = [s for s in cols if 0 <= s < x.shape[3]]
        return x[n, c][rows][:, cols]

    def describe(self) -> str:
        """"max 2×2 stride 2×2", with padding, dilation and ceil mode when they are used."""

        def pair(p: tuple[int, int]) -> str:
            return f"{p[0]}×{p[1]}"

        text = f"{self.kind} {pair(self.kernel)} stride {pair(self.stride)}"
        if any(self.padding):
            text += f" pad {pair(self.padding)}"
        if self.dilation != (1, 1):
            text += f" dilation {pair(self.dilation)}"
        return text + (" ceil" if self.ceil_mode else "")


def both_sides(sigma: Callable, pool: Pool, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ(P(X)), P(σ(X))) for X [N, C, H, W]; both [N, C, H', W']."""
    return sigma(pool(x)), pool(sigma(x))


def exceeds_rounding(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Where a and b differ by more than float rounding (`ULPS` relative, or the smallest
    normal number absolute); equal infinities agree, NaN never does."""
    info = torch.finfo(a.dtype)
    scale = torch.maximum(a.abs(), b.abs())
    scale = torch.where(scale.isfinite(), scale, 0)  # an infinity is only close to itself
    tolerance = ULPS * info.eps * scale + info.tiny
    return ~((a == b) | ((a - b).abs() <= tolerance))


@dataclass(frozen=True)
class Counterexample:
    """One pooling window X where σ(P X) ≠ P σ(X)."""

    x: tuple[tuple[float, ...], ...]  # the window's real entries, rows of columns
    sigma_of_pool: float  # σ(P X)
    pool_of_sigma: float  # P(σ(X))

    def __str__(self) -> str:
        rows = "; ".join(", ".join(_short(v) for v in row) for row in self.x)
        return (f"X=[{rows}]: σ(P X)={_short(self.sigma_of_pool)}, "
                f"P σ(X)={_short(self.pool_of_sigma)}")


def _short(v: float) -> str:
    return f"{v + 0.0:.4g}".replace("-", "−")  # + 0.0 turns −0 into 0


@dataclass(frozen=True)
class Outcome:
    """The comparison of both sides over one batch."""

    max_difference: float
    counterexample: Counterexample | None  # at the first failing output, None when it holds
    compared: int  # pooled outputs compared

    @property
    def holds(self) -> bool:
        return self.counterexample is None


def compare(sigma: Callable, pool: Pool, x: torch.Tensor) -> Outcome:
    """Both sides over X [N, C, H, W]; a failure is reported at its first output in order."""
    left, right = both_sides(sigma, pool, x)
    real = ~pool.empty(x)  # [1, 1, H', W'], broadcast over N and C
    fails = exceeds_rounding(left, right) & real
    diff = (left - right).abs()[real.expand_as(left)]
    max_difference = float(diff.max()) if diff.numel() else 0.0
    if not fails.any():
        return Outcome(max_difference, None, diff.numel())
    index = tuple(int(k) for k in fails.nonzero()[0])
    window = pool.window(x, index).double()
    return Outcome(max_difference, Counterexample(
        tuple(tuple(row) for row in window.tolist()), float(left[index]), float(right[index])),
        diff.numel())


# Small values first, so the first failing pair is the simplest counterexample.
GRID = sorted(range(-3, 4), key=lambda v: (abs(v), v < 0))
PAIR_POOL = {"max": Pool("max", (1, 2), (1, 2)), "avg": Pool("avg", (1, 2), (1, 2))}


def smallest_counterexample(
    sigma: Callable, kind: str, seed: int = 0, trials: int = 4096,
    device: torch.device | str = "cpu",
) -> Outcome:
    """A deterministic search for a small X with σ(P X) ≠ P σ(X), P pooling over X.

    First every 1×2 window of integers in −3…3, simplest first (x² fails on [0, −1]); then,
    should all of those agree, `trials` random 2×2 windows drawn from `seed`.
    """
    pairs = sorted(itertools.product(GRID, repeat=2),
                   key=lambda p: (max(map(abs, p)), abs(p[0]) + abs(p[1])))
    x = torch.tensor(pairs, dtype=torch.float32, device=device).view(-1, 1, 1, 2)
    grid = compare(sigma, PAIR_POOL[kind], x)
    if not grid.holds:
        return grid
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(trials, 1, 2, 2, generator=g) * 4).round().div(2).to(device)  # halves
    return merge([grid, compare(sigma, Pool(kind), x)])


def random_pool(kind: str, g: torch.Generator) -> Pool:
    """A random geometry PyTorch accepts: kernel 1–4 per axis, stride 1–4, padding up to half the
    kernel, dilation 1–2 (max only), either ceil_mode."""

    def draw(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (), generator=g))

    kernel = (draw(1, 4), draw(1, 4))
    return Pool(
        kind, kernel, (draw(1, 4), draw(1, 4)), (draw(0, kernel[0] // 2), draw(0, kernel[1] // 2)),
        (draw(1, 2), draw(1, 2)) if kind == "max" else (1, 1), bool(draw(0, 1)),
    )


def random_input(pool: Pool, g: torch.Generator, device: torch.device | str = "cpu"
                 ) -> torch.Tensor:
    """X [N, C, H, W] large enough for `pool`, with N, C ≤ 3, up to 8 rows/columns to spare;
    half the time small integers (ties, which a step function cares about), else normal·3."""
    low = [pool.dilation[a] * (pool.kernel[a] - 1) + 1 - 2 * pool.padding[a] for a in (0, 1)]
    shape = [int(torch.randint(1, 4, (), generator=g)), int(torch.randint(1, 4, (), generator=g))]
    shape += [max(1, m) + int(torch.randint(0, 9, (), generator=g)) for m in low]
    if torch.rand((), generator=g) < 0.5:
        x = torch.randint(-3, 4, shape, generator=g).float()
    else:
        x = torch.randn(shape, generator=g) * 3
    return x.to(device)


def random_sweep(
    sigma: Callable, kind: str, trials: int, seed: int = 0, device: torch.device | str = "cpu"
) -> Outcome:
    """Both sides on `trials` random (geometry, X) draws from `seed`: the largest difference,
    and the first counterexample met."""
    g = torch.Generator().manual_seed(seed)
    outcomes = []
    for _ in range(trials):
        pool = random_pool(kind, g)
        outcomes.append(compare(sigma, pool, random_input(pool, g, device)))
    return merge(outcomes)


def merge(outcomes: Sequence[Outcome]) -> Outcome:
    """Several comparisons as one: the largest difference, the first counterexample."""
    return Outcome(
        max((o.max_difference for o in outcomes), default=0.0),
        next((o.counterexample for o in outcomes if not o.holds), None),
        sum(o.compared for o in outcomes),
    )
