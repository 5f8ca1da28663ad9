"""K seeds at once: the same K models as K separate runs of the eager trainer."""

import pytest
import torch

from lenetlab.errors import TrainingDiverged
from lenetlab.many import choose_path, train_many, train_seeds
from lenetlab.training import Split, TrainConfig, evaluate, train


def random_splits(n_train: int = 120, n_test: int = 50) -> tuple[Split, Split]:
    g = torch.Generator().manual_seed(0)

    def make(n: int) -> Split:
        return Split(torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))

    return make(n_train), make(n_test)


@pytest.mark.parametrize("model", ["lenet5", "lenet5-full"])
def test_k_at_once_equals_k_runs_in_a_row(model):
    train_data, test_data = random_splits()
    config = TrainConfig(model=model, epochs=2, batch_size=32, engine="eager", device="cpu")
    seeds = [3, 0, 7]
    many = train_seeds(config, seeds, train_data, test_data)
    for k, seed in enumerate(seeds):
        alone = train(TrainConfig(model=model, epochs=2, batch_size=32, engine="eager",
                                  device="cpu", seed=seed), train_data, test_data)
        for name, p in alone.model.named_parameters():
            torch.testing.assert_close(many.params[name][k], p, rtol=1e-5, atol=1e-6)
        assert many.test_accuracy[k] == pytest.approx(evaluate(alone.model, test_data)[1])
    assert many.models_per_second == pytest.approx(3 / many.train_seconds)


def test_seeds_must_be_distinct():
    train_data, test_data = random_splits(10, 10)
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(TrainConfig(epochs=1), [1, 1], train_data, test_data)


def test_a_diverging_model_stops_the_run():
    train_data, test_data = random_splits(64, 10)
    train_data.x[5] = float("nan")
    config = TrainConfig(epochs=1, batch_size=32, device="cpu")
    with pytest.raises(TrainingDiverged, match="non-finite"):
        train_seeds(config, [0, 1], train_data, test_data)


def test_both_paths_give_the_same_models_and_auto_picks_by_device():
    train_data, test_data = random_splits(64, 20)
    config = TrainConfig(epochs=1, batch_size=32, engine="eager", device="cpu")
    at_once = train_many(config, [5, 6], train_data, test_data, "vmap")
    in_a_row = train_many(config, [5, 6], train_data, test_data, "sequential")
    assert (at_once.path, in_a_row.path) == ("vmap", "sequential")
    for name, p in at_once.params.items():
        torch.testing.assert_close(in_a_row.params[name], p, rtol=1e-5, atol=1e-6)
    assert choose_path("auto", torch.device("cpu")) == "sequential"
    assert choose_path("auto", torch.device("cuda")) == "vmap"
    with pytest.raises(ValueError, match="path"):
        choose_path("parallel", torch.device("cpu"))


def test_spread_is_mean_and_sample_sd():
    train_data, test_data = random_splits(10, 10)
    result = train_many(TrainConfig(epochs=1, device="cpu", engine="eager"), [0], train_data,
                        test_data, "sequential")
    result.test_accuracy = [0.90, 0.94, 0.98]
    mean, sd = result.spread()
    assert mean == pytest.approx(0.94) and sd == pytest.approx(0.04)
    assert result.metrics()["sd"] == pytest.approx(0.04)
