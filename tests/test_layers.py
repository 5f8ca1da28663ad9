"""The C3 layer: its connectivity is Table I, and it computes what 16 separate convolutions
(the document's implementation) compute, gradients included."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lenetlab.layers import C3_TABLE, TableConv2d


def test_table_is_the_1998_table():
    assert len(C3_TABLE) == 16
    assert [len(ins) for ins in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert sum(map(len, C3_TABLE)) == 60
    assert C3_TABLE[9] == (0, 3, 4, 5) and C3_TABLE[14] == (0, 2, 3, 5)


def test_c3_has_exactly_the_connected_parameters():
    c3 = TableConv2d(C3_TABLE, 6, 5)
    assert sum(p.numel() for p in c3.parameters()) == 60 * 25 + 16 == 1516
    assert c3.dense_weight().shape == (16, 6, 5, 5)


@settings(deadline=None, max_examples=30)
@given(out_map=st.integers(0, 15), in_map=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_an_input_map_affects_an_output_map_only_through_the_table(out_map, in_map, seed):
    torch.manual_seed(seed)
    c3 = TableConv2d(C3_TABLE, 6, 5)
    x = torch.randn(1, 6, 14, 14)
    bumped = x.clone()
    bumped[0, in_map] += torch.randn(14, 14)
    with torch.no_grad():
        changed = (c3(bumped)[0, out_map] - c3(x)[0, out_map]).abs().max() > 1e-6
    assert changed == (in_map in C3_TABLE[out_map])


def separate_convs(c3: TableConv2d, x: torch.Tensor) -> torch.Tensor:
    """The document's way: one small convolution per C3 map over its own inputs, concatenated."""
    outs, start = [], 0
    for o, ins in enumerate(C3_TABLE):
        w = c3.weight[start : start + len(ins)].unsqueeze(0)  # [1, |ins|, 5, 5]
        outs.append(F.conv2d(x[:, list(ins)], w, c3.bias[o : o + 1]))
        start += len(ins)
    return torch.cat(outs, 1)


def test_one_convolution_equals_sixteen_in_value_and_gradient():
    torch.manual_seed(0)
    c3 = TableConv2d(C3_TABLE, 6, 5).double()
    x = torch.randn(3, 6, 14, 14, dtype=torch.float64, requires_grad=True)
    target = torch.randn(3, 16, 10, 10, dtype=torch.float64)
    ours = c3(x)
    theirs = separate_convs(c3, x)
    torch.testing.assert_close(ours, theirs)
    g_ours = torch.autograd.grad((ours * target).sum(), [x, c3.weight, c3.bias])
    g_theirs = torch.autograd.grad((theirs * target).sum(), [x, c3.weight, c3.bias])
    for a, b in zip(g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b)


def test_default_init_matches_one_conv2d_per_map():
    torch.manual_seed(0)
    c3 = TableConv2d(C3_TABLE, 6, 5)
    start = 0
    for o, ins in enumerate(C3_TABLE):
        bound = (len(ins) * 25) ** -0.5
        block = c3.weight[start : start + len(ins)]
        assert block.abs().max() <= bound and block.abs().max() > 0.8 * bound
        assert abs(c3.bias[o]) <= bound
        start += len(ins)


def test_bad_table_is_refused():
    with pytest.raises(ValueError):
        TableConv2d(((0, 6),), 6, 5)
    with pytest.raises(ValueError):
        TableConv2d(((),), 6, 5)
