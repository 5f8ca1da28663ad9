"""The command line: outputs, files written, and one-line errors for user mistakes."""

import json

import pytest

from lenetlab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_params_prints_the_documents_counts(capsys):
    code, out, _ = run(capsys, "params", "lenet5")
    assert code == 0 and "60,806" in out and "151,600" in out
    code, out, _ = run(capsys, "params", "lenet5", "--c3", "full")
    assert code == 0 and "61,706" in out and "60,806" not in out


def test_train_writes_metrics_and_evaluate_reprints_accuracy(capsys, fake_mnist, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "-q", "train", "--epochs", "2", "--batch-size", "50",
                       "--data-dir", str(fake_mnist), "--out", str(out_dir), "--device", "cpu")
    assert code == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    for key in ("test_accuracy", "train_seconds", "params", "epochs", "seed", "history"):
        assert key in metrics
    assert metrics["params"] == 60_806 and metrics["epochs"] == 2 and len(metrics["history"]) == 2
    code, out, _ = run(capsys, "evaluate", str(out_dir), "--data-dir", str(fake_mnist))
    assert code == 0 and f"{100 * metrics['test_accuracy']:.2f}%" in out


def test_train_1998_takes_mu_and_criterion(capsys, fake_mnist, tmp_path):
    code, out, _ = run(capsys, "-q", "train", "--model", "lenet5-1998", "--recipe", "fast",
                       "--epochs", "1", "--mu", "0.3", "--criterion", "map", "--map-j", "5",
                       "--data-dir", str(fake_mnist), "--out", str(tmp_path), "--device", "cpu")
    assert code == 0 and "mu 0.3, map criterion" in out
    config = json.loads((tmp_path / "metrics.json").read_text())["config"]
    assert (config["mu"], config["loss"], config["map_j"], config["passes"]) == (0.3, "map", 5, 1)
    assert (tmp_path / "curves.png").stat().st_size and (tmp_path / "mistakes.png").stat().st_size
    code, out, _ = run(capsys, "-q", "train", "--model", "lenet5-1998", "--recipe", "fast",
                       "--epochs", "2", "--mu", "0.3", "--criterion", "map", "--map-j", "5",
                       "--data-dir", str(fake_mnist), "--out", str(tmp_path), "--resume")
    assert code == 0 and "after pass 1" in out and "pass  2" in out and "pass  1" not in out
    code, _, err = run(capsys, "-q", "train", "--model", "lenet5-1998", "--recipe", "fast",
                       "--epochs", "3", "--data-dir", str(fake_mnist), "--out", str(tmp_path),
                       "--resume")
    assert code == 1 and "cannot resume a different run" in err and "Traceback" not in err
    code, _, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 1 and "1998" in err


@pytest.mark.parametrize("path", ["vmap", "sequential"])
def test_seeds_prints_each_accuracy_and_the_spread(capsys, fake_mnist, tmp_path, path):
    code, out, _ = run(capsys, "-q", "seeds", "--seeds", "4,2", "--epochs", "1", "--path", path,
                       "--data-dir", str(fake_mnist), "--out", str(tmp_path), "--device", "cpu")
    assert code == 0 and f"{path} path" in out
    saved = json.loads((tmp_path / "seeds.json").read_text())
    assert saved["seeds"] == [4, 2] and saved["path"] == path and len(saved["test_accuracy"]) == 2
    for accuracy in saved["test_accuracy"]:
        assert f"{100 * accuracy:.2f}%" in out
    assert "models/s" in out


def test_resume_extends_a_run(capsys, fake_mnist, tmp_path):
    args = ["-q", "train", "--batch-size", "100", "--data-dir", str(fake_mnist),
            "--out", str(tmp_path)]
    assert run(capsys, *args, "--epochs", "1")[0] == 0
    assert run(capsys, *args, "--epochs", "2", "--resume")[0] == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 2


def test_corrupt_data_gives_one_line_error(capsys, tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    code, _, err = run(capsys, "data", "verify", "--data-dir", str(tmp_path))
    assert code == 1
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("lenetlab: error:")
    code, out, _ = run(capsys, "data", "verify", "--data-dir", str(tmp_path))
    assert "missing" in out and "truncated or wrong file" in out


def test_evaluate_of_a_missing_checkpoint_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "evaluate", str(tmp_path / "nothing.pt"))
    assert code == 1 and "no checkpoint there" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["train", "--epochs", "0"], ["train", "--lr", "fast"],
                                  ["params", "vgg"], ["frobnicate"],
                                  ["seeds", "--seeds", "1,1"], ["seeds", "--seeds", "a,b"],
                                  ["seeds", "--count", "2", "--seeds", "3"]])
def test_bad_flags_exit_2_with_usage(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_cuda_asked_without_gpu_is_a_clear_error(capsys, fake_mnist, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    code, _, err = run(capsys, "train", "--device", "cuda", "--data-dir", str(fake_mnist))
    assert code == 1 and "no usable CUDA GPU" in err
