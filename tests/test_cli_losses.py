"""`lenetlab compare-losses` and `lenetlab backprop` on fake MNIST: output, files, errors."""

import json

import pytest

from lenetlab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_losses_prints_table_and_writes_every_seed(capsys, fake_mnist, tmp_path):
    out_dir = tmp_path / "losses"
    code, out, _ = run(capsys, "-q", "compare-losses", "--seeds", "3", "--epochs", "1",
                       "--seed", "5", "--data-dir", str(fake_mnist), "--out", str(out_dir),
                       "--device", "cpu")
    assert code == 0
    assert "cross-entropy" in out and "MSE − CE, same seed (paired)" in out
    assert "95.13% / 0.1749" in out  # the document's numbers beside ours
    metrics = json.loads((out_dir / "losses.json").read_text())
    assert [s["seed"] for s in metrics["seeds"]] == [5, 6, 7]
    assert metrics["config"]["epochs"] == 1 and "torch" in metrics["versions"]
    assert f"{100 * metrics['summary']['ce']['accuracy']['mean']:.2f}" in out
    for name in ("margin", "histogram", "weights", "curves"):
        assert (out_dir / f"p5_{name}.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("digits", [["4", "4"], ["4", "12"]])
def test_bad_digits_are_a_one_line_error(capsys, fake_mnist, digits):
    code, _, err = run(capsys, "compare-losses", "--digits", *digits, "--data-dir",
                       str(fake_mnist))
    assert code == 1 and "--digits" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["compare-losses", "--seeds", "0"],
                                  ["backprop", "--activation", "swish"],
                                  ["backprop", "--hidden", "0"]])
def test_bad_flags_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_backprop_prints_epochs_and_the_gradient_check_table(capsys, fake_mnist, tmp_path):
    code, out, _ = run(capsys, "-q", "backprop", "--epochs", "2", "--hidden", "16",
                       "--data-dir", str(fake_mnist), "--out", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("training a 784-16-10 relu MLP")
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]  # one row per epoch
    assert "vs torch.autograd" in out and "FAIL" not in out and out.count(" ok") == 12
    metrics = json.loads((tmp_path / "backprop.json").read_text())
    assert len(metrics["history"]) == 2
    assert f"{100 * metrics['test_accuracy']:.2f}%" in lines[-1]
