"""P5's statistics, experiment and report section; the real 200-seed run is slow."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lenetlab.experiments.losses import Interval, LossConfig, run, t_quantile
from lenetlab.sections import losses as section

PNG = b"\x89PNG\r\n\x1a\n"


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 40), 50, 99, 199, 1000, 10**6]:
        assert t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=6e-5)


def test_t_quantile_needs_a_degree_of_freedom():
    with pytest.raises(ValueError):
        t_quantile(0)


def test_interval_by_hand():
    i = Interval.of(np.array([1.0, 2.0, 3.0]))
    assert (i.mean, i.sd, i.n) == (2.0, 1.0, 3)
    assert i.high - i.mean == pytest.approx(4.3027 / math.sqrt(3))
    assert i.low == pytest.approx(2 * i.mean - i.high)
    one = Interval.of(np.array([5.0]))
    assert one.mean == 5.0 and math.isnan(one.sd) and math.isnan(one.low)


def toy_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32)
    y = np.where(x[:, :100].sum(1) > x[:, 100:200].sum(1), 1.0, -1.0).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def result():
    config = LossConfig(seeds=5, first_seed=10, epochs=2, device="cpu")
    return run(config, toy_pair(300, 0), toy_pair(100, 1))


def test_result_shapes_and_seeds(result):
    assert result.seeds == [10, 11, 12, 13, 14]
    assert result.test_accuracy.shape == result.test_loss.shape == (3, 5, 2)
    assert result.train_loss.shape == (2, 5, 5, 2)  # 300 images in batches of 64 → 5 steps
    assert result.weights.shape == (5, 2, 784)
    assert (result.n_train, result.n_test) == (300, 100)


def test_summary_and_paired_difference(result):
    acc = result.test_accuracy[-1]
    ce, mse = result.summary("ce"), result.summary("mse")
    assert ce["accuracy"].mean == pytest.approx(acc[:, 0].mean())
    assert mse["loss"].mean == pytest.approx(result.test_loss[-1, :, 1].mean())
    d = result.paired()
    assert d.mean == pytest.approx(mse["accuracy"].mean - ce["accuracy"].mean)
    assert d.sd == pytest.approx(np.std(acc[:, 1] - acc[:, 0], ddof=1))


def test_metrics_are_json_with_every_seed(result):
    metrics = json.loads(json.dumps(result.metrics()))
    assert [s["seed"] for s in metrics["seeds"]] == result.seeds
    assert metrics["seeds"][2]["mse_accuracy"] == pytest.approx(result.test_accuracy[-1, 2, 1])
    assert metrics["config"]["lr"] == 0.0255
    assert "paired_accuracy_mse_minus_ce" in metrics


def test_section_has_figures_table_and_the_documents_numbers(result):
    s = section.section(result, "lenetlab compare-losses --seeds 5")
    assert s.key == "p5"
    assert all(f.png.startswith(PNG) for f in s.figures)
    assert {f.name for f in s.figures} == {"p5_margin", "p5_histogram", "p5_weights",
                                           "p5_curves"}
    documents = {c.document for c in s.comparisons}
    assert {"95.13%", "95.23%", "0.1749", "0.1007"} <= documents
    assert len(s.tables[0].rows) == 3  # two losses and the paired difference


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        LossConfig(seeds=0)
    with pytest.raises(ValueError):
        LossConfig(digits=(4, 4))
    with pytest.raises(ValueError):
        LossConfig(losses=("ce", "hinge"))


@pytest.mark.slow
def test_two_hundred_seeds_on_real_mnist(real_mnist):
    from lenetlab.data import digit_pair

    config = LossConfig(device="cpu")
    r = run(config, digit_pair(4, 9, "train", real_mnist), digit_pair(4, 9, "test", real_mnist))
    assert (r.n_train, r.n_test) == (11_791, 1_991)
    ce, mse = r.summary("ce"), r.summary("mse")
    # The document's single runs (95.13% and 95.23%) lie inside the spread across seeds.
    assert abs(ce["accuracy"].mean - 0.9513) < 2 * ce["accuracy"].sd
    assert abs(mse["accuracy"].mean - 0.9523) < 3 * mse["accuracy"].sd
    assert abs(ce["loss"].mean - 0.1749) < 0.002 and abs(mse["loss"].mean - 0.1007) < 0.002
    assert r.paired().low > 0  # over 200 seeds, the squared loss is ahead on this recipe
