"""The 1998 LeNet-5 (SPEC P7+): parameter and connection counts layer by layer, C3's wiring, the
prototype bitmaps and their checksum, the RBF layer, the input levels, the initialisation, the
paper's two criteria, and the recipes' training loop and report section on tiny data."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

import pytest
import torch

from lenetlab.accounting import account, count_parameters
from lenetlab.errors import CheckpointError
from lenetlab.experiments.paper import PAPER_ETA, PaperConfig, recipe_config, run_recipe
from lenetlab.layers import C3_TABLE
from lenetlab.lenet1998 import (
    BITMAPS_SHA256,
    EuclideanRBF,
    Subsampling,
    fan_in,
    lenet5_1998,
    parse_bitmaps,
    rbf_bitmaps,
    squash,
    squash_slope,
    to_paper_input,
)
from lenetlab.losses1998 import MAPCriterion, MeanPenalty, criterion
from lenetlab.training import Split

# LeCun et al. 1998, §II-B: (trainable parameters, connections) per layer.
PAPER_LAYERS = {
    "c1": (156, 122_304), "s2": (12, 5_880), "c3": (1_516, 151_600), "s4": (32, 2_000),
    "c5": (48_120, 48_120), "f6": (10_164, 10_164), "output": (0, 840),
}  # fmt: skip


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return lenet5_1998()


def test_sixty_thousand_parameters_and_the_papers_connections(model):
    assert count_parameters(model) == 60_000
    rows = account(model, (1, 28, 28))
    assert {r.name: (r.params, r.connections) for r in rows} == PAPER_LAYERS
    assert sum(r.connections for r in rows) == 340_908
    shapes = {r.name: r.output_shape for r in rows}
    assert shapes["c1"] == (6, 28, 28) and shapes["c5"] == (120, 1, 1)
    assert shapes["output"] == (10,)


def test_c3_map_sees_exactly_its_table_row(model):
    """∂(C3 map o)/∂(S2 map i) is non-zero exactly when i is in Table I's row o."""
    s2 = torch.rand(1, 6, 14, 14, requires_grad=True)
    out = model.c3(s2)
    for o, ins in enumerate(C3_TABLE):
        (grad,) = torch.autograd.grad(out[0, o].sum(), s2, retain_graph=True)
        connected = {i for i in range(6) if grad[0, i].abs().sum() > 0}
        assert connected == set(ins), o


def test_bitmaps_checksum_and_content():
    bitmaps = rbf_bitmaps()
    assert bitmaps.shape == (10, 84) and bitmaps.dtype == torch.int8
    assert hashlib.sha256(bitmaps.numpy().tobytes()).hexdigest() == BITMAPS_SHA256
    assert set(bitmaps.unique().tolist()) == {-1, 1}
    one = bitmaps[1].view(12, 7)
    assert one[9].tolist() == [-1, 1, 1, 1, 1, 1, 1]  # the foot of the 1: ".######"
    hamming = (bitmaps[:, None] != bitmaps[None]).sum(-1) + torch.eye(10, dtype=torch.long) * 99
    assert hamming.min() == 12 and hamming[6, 8] == 12  # as the file's header says


def test_a_changed_bitmap_fails_the_checksum():
    from importlib import resources

    text = resources.files("lenetlab.resources").joinpath("rbf_bitmaps.txt").read_text()
    lines = text.splitlines()
    row = next(i for i, ln in enumerate(lines) if ln.startswith(" 5 "))
    lines[row] = lines[row].replace(".####..", ".#####.", 1)
    with pytest.raises(ValueError, match="sha256"):
        rbf_bitmaps("\n".join(lines))
    with pytest.raises(ValueError):
        parse_bitmaps(text.replace(".#####.", ".##x##.", 1))


def test_rbf_outputs_are_squared_distances():
    protos = rbf_bitmaps().double()
    rbf = EuclideanRBF(protos).double()
    x = torch.randn(5, 84, dtype=torch.float64) * 1.5
    expected = torch.tensor([[sum((x[n, j] - protos[i, j]) ** 2 for j in range(84))
                              for i in range(10)] for n in range(5)], dtype=torch.float64)
    torch.testing.assert_close(rbf(x), expected)
    torch.testing.assert_close(rbf(protos), torch.cdist(protos, protos) ** 2)
    assert (rbf(protos).argmin(1) == torch.arange(10)).all()


def test_input_levels_and_padding():
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, 10, 10] = 1.0
    y = to_paper_input(x)
    assert y.shape == (2, 1, 32, 32)
    assert y[0, 0, 12, 12].item() == pytest.approx(1.175)
    background = torch.ones_like(y, dtype=torch.bool)
    background[:, :, 12, 12] = False
    torch.testing.assert_close(y[background], torch.full_like(y[background], -0.1))


def test_squash_and_its_slope():
    assert squash(torch.tensor([1.0, -1.0])).tolist() == pytest.approx([1.0, -1.0], abs=2e-4)
    a = torch.linspace(-4, 4, 41, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(squash(a).sum(), a)
    torch.testing.assert_close(squash_slope(a.detach()), grad)


def test_subsampling_is_block_sum_times_coefficient_plus_bias():
    s = Subsampling(3).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    blocks = x.view(2, 3, 3, 2, 3, 2).sum((3, 5))
    torch.testing.assert_close(s(x), blocks * s.weight.view(-1, 1, 1) + s.bias.view(-1, 1, 1))


def test_initialisation_within_2_4_over_fan_in(model):
    for layer in model.stages():
        bounds = 2.4 / fan_in(layer).double()
        per_map_w = layer.weight.detach().double().reshape(len(layer.weight), -1).abs()
        if hasattr(layer, "table"):  # weight rows are table entries, grouped by map
            sizes = torch.tensor([len(ins) for ins in layer.table])
            bounds_w = bounds.repeat_interleave(sizes)
        else:
            bounds_w = bounds
        assert (per_map_w.max(1).values <= bounds_w).all()
        assert (layer.bias.detach().abs() <= bounds).all()
    assert fan_in(model.c3).tolist() == [len(ins) * 25 + 1 for ins in C3_TABLE]
    assert fan_in(model.s2).tolist() == [5] * 6 and fan_in(model.c5)[0] == 401
    c5 = model.c5.weight.detach().abs().max().item()
    assert 0.9 * 2.4 / 401 < c5 <= 2.4 / 401  # the range is used in full


def test_sqrt_fan_in_init_is_the_same_draw_scaled_by_sqrt_fan_in():
    """Same seed, same uniform draws: every weight and bias of map i is √F_i times larger."""
    from lenetlab.training import seeded_model

    paper, sqrt = (seeded_model("lenet5-1998", 4, init=rule) for rule in ("fan-in", "sqrt-fan-in"))
    for a, b in zip(paper.stages(), sqrt.stages(), strict=True):
        scale = fan_in(a).double().sqrt()
        torch.testing.assert_close(b.bias.double(), a.bias.double() * scale)
        if hasattr(a, "table"):
            scale = scale.repeat_interleave(torch.tensor([len(ins) for ins in a.table]))
        shape = (-1,) + (1,) * (a.weight.dim() - 1)
        torch.testing.assert_close(b.weight.double(), a.weight.double() * scale.view(shape))
    with pytest.raises(ValueError, match="init"):
        lenet5_1998(init="xavier")


def test_mean_penalty_and_map_against_direct_formulas():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(4, 10, generator=g, dtype=torch.float64) * 30
    labels = torch.tensor([3, 0, 9, 3])
    j = 5.0
    rows, ids = y.tolist(), labels.tolist()
    direct_map = sum(row[d] + math.log(math.exp(-j) + sum(math.exp(-v) for v in row))
                     for row, d in zip(rows, ids, strict=True)) / 4
    assert MAPCriterion(j)(y, labels).item() == pytest.approx(direct_map, rel=1e-12)
    assert MeanPenalty()(y, labels).item() == pytest.approx(
        sum(row[d] for row, d in zip(rows, ids, strict=True)) / 4, rel=1e-12)
    assert math.isfinite(MAPCriterion(j)(y + 1e4, labels).item())  # no overflow


@pytest.mark.parametrize("loss", [MeanPenalty(), MAPCriterion(j=1.5)])
def test_criterion_curvature_is_the_hessian_diagonal_over_f6(loss):
    protos = rbf_bitmaps().double()
    x = torch.randn(3, 84, dtype=torch.float64) * 0.8
    labels = torch.tensor([2, 7, 7])
    for n in range(3):
        hess = torch.autograd.functional.hessian(
            lambda v, n=n: loss(EuclideanRBF(protos).double()(v[None]), labels[n : n + 1]), x[n])
        torch.testing.assert_close(loss.curvature(x[n : n + 1], protos)[0], hess.diagonal())


def test_criteria_by_name():
    assert criterion("mse") == MeanPenalty() and criterion("map", 3.0) == MAPCriterion(3.0)
    with pytest.raises(ValueError):
        criterion("ce")
    with pytest.raises(ValueError):
        MAPCriterion(0.0)


def test_the_papers_eta_schedule():
    config = PaperConfig()
    etas = {p: config.eta(p) for p in (1, 2, 3, 5, 6, 8, 9, 12, 13, 20)}
    assert etas == {1: 5e-4, 2: 5e-4, 3: 2e-4, 5: 2e-4, 6: 1e-4, 8: 1e-4, 9: 5e-5, 12: 5e-5,
                    13: 1e-5, 20: 1e-5}
    assert recipe_config("fast").eta(1) == PAPER_ETA[0][1] * recipe_config("fast").eta_scale
    with pytest.raises(ValueError, match="recipe"):
        recipe_config("slow")
    with pytest.raises(ValueError):
        PaperConfig(loss="hinge")


def tiny_splits(n_train: int, n_test: int) -> tuple[Split, Split]:
    """Bars whose row gives the digit."""
    g = torch.Generator().manual_seed(0)

    def make(n):
        y = torch.randint(0, 10, (n,), generator=g)
        x = torch.rand(n, 1, 28, 28, generator=g) * 0.15
        for i, d in enumerate(y.tolist()):
            x[i, 0, 2 + 2 * d : 4 + 2 * d, 4:24] = 1.0
        return Split(x, y)

    return make(n_train), make(n_test)


@pytest.mark.parametrize("recipe", ["paper", "paper-distorted", "fast"])
def test_run_recipe_reports_per_pass_errors_and_mistakes(recipe):
    train, test = tiny_splits(48, 30)
    config = recipe_config(recipe, passes=2, curvature_samples=20, device="cpu")
    result = run_recipe(config, train, test)
    assert [r.pass_number for r in result.history] == [1, 2]
    assert [r.eta for r in result.history] == [config.eta(1), config.eta(2)]
    assert result.params == 60_000 and result.n_train == 48
    assert result.test_error == pytest.approx(len(result.misclassified) / 30)
    assert all(0 < r.step_min <= r.step_max for r in result.history)
    with torch.no_grad():
        pred = result.model(test.x).argmin(1)
    assert (pred[torch.from_numpy(result.misclassified)] ==
            torch.from_numpy(result.predicted)).all()
    assert result.images.shape == (len(result.misclassified), 28, 28)
    metrics = result.metrics()
    assert metrics["config"]["recipe"] == recipe and len(metrics["history"]) == 2
    assert metrics["silent_maps"] == result.model.silent_maps()


def test_online_cpu_changes_speed_not_results():
    """PyTorch's own convolutions (online_cpu) give the oneDNN step's gradients, and the
    thread count and oneDNN switch come back afterwards."""
    from lenetlab.experiments.paper import online_cpu

    train, _ = tiny_splits(4, 1)
    model = lenet5_1998()

    def grads():
        model.zero_grad()
        criterion("map")(model(train.x), train.y).backward()
        return [p.grad.clone() for p in model.parameters()]

    threads, onednn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    reference = grads()
    with online_cpu():
        assert torch.get_num_threads() == 1 and not torch.backends.mkldnn.enabled
        online = grads()
    assert torch.get_num_threads() == threads and torch.backends.mkldnn.enabled == onednn
    for a, b in zip(reference, online, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_resume_after_a_pass_is_bit_for_bit():
    """Stopped after pass 1 and resumed, a distorted run (which draws from the generator
    every pass) ends with the same weights and history as an unbroken one."""
    train, test = tiny_splits(24, 10)
    config = recipe_config("paper-distorted", passes=2, curvature_samples=8, device="cpu")
    states = []
    whole = run_recipe(config, train, test, on_pass=lambda r, state: states.append(state))
    first = run_recipe(replace(config, passes=1), train, test,
                       on_pass=lambda r, state: states.append(state))
    assert torch.equal(first.model.c1.weight, states[0]["model"]["c1.weight"])
    resumed = run_recipe(config, train, test, resume=states[-1])
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [r.test_error for r in resumed.history] == [r.test_error for r in whole.history]
    with pytest.raises(CheckpointError, match="mu"):
        run_recipe(replace(config, mu=0.3), train, test, resume=states[-1])


def test_same_seed_same_run():
    train, test = tiny_splits(32, 20)
    config = recipe_config("fast", passes=1, curvature_samples=20, device="cpu")
    a, b = (run_recipe(config, train, test) for _ in range(2))
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_section_has_the_papers_table_and_figures():
    from lenetlab.sections.paper import section

    train, test = tiny_splits(32, 20)
    result = run_recipe(recipe_config("fast", passes=1, curvature_samples=20, device="cpu"),
                        train, test)
    s = section(result, "lenetlab train --model lenet5-1998 --recipe fast", quick=True)
    assert s.key == "p7+"
    assert {f.name for f in s.figures} == {"p7plus_curves", "p7plus_mistakes",
                                           "p7plus_prototypes"}
    assert all(f.png.startswith(b"\x89PNG") for f in s.figures)
    rows = {r[0]: r for r in s.tables[0].rows}
    assert rows["LeNet-5 (1998)"][1] == "0.95%" and rows["LeNet-5 (1998), distortions"][1] == "0.8%"
    assert "98.67%" in rows["the document's LeNet-5 (P7)"][1]
    by_quantity = {c.quantity: c for c in s.comparisons}
    assert by_quantity["trainable parameters"].ours == "60,000"
    assert by_quantity["connections"].ours == "340,908"


def test_silent_maps_are_the_subsampling_maps_with_a_near_zero_coefficient():
    model = lenet5_1998()
    with torch.no_grad():
        model.s2.weight.fill_(0.3)
        model.s4.weight.fill_(-0.3)
        model.s2.weight[4] = 0.019
        model.s4.weight[[0, 15]] = torch.tensor([-0.001, 0.0])
        model.s4.weight[7] = 0.021
    assert model.silent_maps() == {"s2": [4], "s4": [0, 15]}
    assert model.silent_maps(tol=0.5) == {"s2": list(range(6)), "s4": list(range(16))}
