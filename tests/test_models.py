"""P2: the document's parameter counts, per layer, and the accounting of our models."""

import pytest
import torch

from lenetlab.accounting import account, count_parameters
from lenetlab.models import MODELS, build_model, input_shape, lenet5


def test_lenet5_parameter_counts_are_the_documents():
    assert count_parameters(lenet5("table")) == 60_806
    assert count_parameters(lenet5("full")) == 61_706


@pytest.mark.parametrize("model", ["lenet5", "lenet5-full"])
def test_per_layer_accounting(model):
    rows = {r.name: r for r in account(build_model(model), (1, 28, 28))}
    c3 = 1_516 if model == "lenet5" else 2_416
    assert {n: r.params for n, r in rows.items()} == {
        "c1": 156, "s2": 0, "c3": c3, "s4": 0, "c5": 48_120, "f6": 10_164, "output": 850}
    assert rows["c1"].output_shape == (6, 28, 28) and rows["c3"].output_shape == (16, 10, 10)
    assert rows["c1"].weight_shape == (6, 1, 5, 5)
    # The 1998 paper's connection counts for the layers the two networks share.
    assert rows["c1"].connections == 122_304
    assert rows["c3"].connections == (151_600 if model == "lenet5" else 241_600)
    assert rows["c5"].connections == 48_120 and rows["f6"].connections == 10_164
    # Multiply-adds: C_out·C_in·k²·H·W for a convolution.
    assert rows["c1"].macs == 6 * 25 * 28 * 28
    assert rows["c3"].macs == (60 if model == "lenet5" else 96) * 25 * 100


def test_accounting_formula_on_a_plain_conv():
    conv = torch.nn.Sequential()
    conv.add_module("c", torch.nn.Conv2d(3, 8, 3))
    (row,) = account(conv, (3, 10, 10))
    assert row.params == 8 * (3 * 9 + 1)
    assert row.connections == 8 * 8 * 8 * (3 * 9 + 1)


@pytest.mark.parametrize("name", list(MODELS))
def test_models_map_a_batch_to_ten_logits(name):
    torch.manual_seed(0)
    out = build_model(name)(torch.rand(4, *input_shape(name)))
    assert out.shape == (4, 10) and torch.isfinite(out).all()


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError):
        lenet5("sparse")
    with pytest.raises(KeyError):
        build_model("alexnet")
