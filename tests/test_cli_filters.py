"""`lenetlab filters` and `lenetlab check` end to end: files written, values, exit codes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image

from lenetlab.cli import main
from lenetlab.experiments import commutation
from lenetlab.reproduce import Context
from lenetlab.sections.filters import part_p1, part_p3

PHOTO = Path(skimage.__file__).parent / "data" / "astronaut.png"
MAPS = ("gray", "vertical", "horizontal", "magnitude")
BT601 = np.array([0.299, 0.587, 0.114])


def opened(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64)


def test_filters_on_a_real_photo(tmp_path, capsys):
    photo = shutil.copy(PHOTO, tmp_path / "astronaut.png")
    assert main(["-q", "filters", str(photo), "--out", str(tmp_path / "out")]) == 0
    out = {name: tmp_path / "out" / f"astronaut_{name}.png" for name in (*MAPS, "panel")}
    rgb = opened(photo)[..., :3]  # [512, 512, 3]
    gray = rgb @ BT601  # float64 oracle
    dy, dx = np.diff(gray, axis=0)[:, :-1], np.diff(gray, axis=1)[:-1, :]
    expected = {
        "gray": np.clip(np.round(gray), 0, 255),
        "vertical": np.clip(np.round(128 + dy / 2), 0, 255),
        "horizontal": np.clip(np.round(128 + dx / 2), 0, 255),
        "magnitude": np.clip(np.round(np.hypot(dy, dx)), 0, 255),
    }
    for name in MAPS:
        png = opened(out[name])
        assert png.shape == expected[name].shape
        gap = np.abs(png - expected[name])
        assert gap.max() <= 1 and (gap == 0).mean() > 0.99, name  # float32 vs float64 rounding
    assert Image.open(out["gray"]).size == (512, 512)
    assert Image.open(out["vertical"]).size == (511, 511)
    panel = Image.open(out["panel"])
    assert panel.format == "PNG" and panel.width > 3 * panel.height
    printed = capsys.readouterr().out
    assert "astronaut.png" in printed and "158.7" in printed


def test_difference_pngs_put_zero_at_mid_grey(tmp_path):
    """A horizontal ramp in steps of 4 grey levels: the exact expected values."""
    ramp = np.tile(np.arange(0, 200, 4, dtype=np.uint8), (6, 1))  # [6, 50]
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    assert main(["-q", "filters", str(tmp_path / "ramp.png"), "--out", str(tmp_path)]) == 0
    np.testing.assert_array_equal(opened(tmp_path / "ramp_gray.png"), ramp)
    np.testing.assert_array_equal(opened(tmp_path / "ramp_vertical.png"), 128)  # no change
    np.testing.assert_array_equal(opened(tmp_path / "ramp_horizontal.png"), 130)  # 128 + 4/2
    np.testing.assert_array_equal(opened(tmp_path / "ramp_magnitude.png"), 4)


def test_filters_on_a_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        pixels = np.random.default_rng(i).integers(0, 256, (9, 11, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i}.jpg")
    (folder / "readme.txt").write_text("not an image")
    assert main(["-q", "filters", str(folder), "--out", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) == 10 and "img1_panel.png" in written


@pytest.mark.parametrize("content", [b"", b"GIF89a but not really"], ids=["empty", "malformed"])
def test_a_bad_file_is_a_one_line_error(tmp_path, capsys, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    assert main(["-q", "filters", str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lenetlab: error:") and str(bad) in err
    assert "\n" not in err and "Traceback" not in err


def test_good_images_in_a_folder_are_written_before_the_error(tmp_path, capsys):
    Image.new("RGB", (5, 4)).save(tmp_path / "good.png")
    for name in ("bad1.png", "bad2.png"):
        (tmp_path / name).write_bytes(b"junk")
    assert main(["-q", "filters", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert (tmp_path / "out" / "good_panel.png").exists()
    assert "2 of 3 images could not be read" in capsys.readouterr().err


def test_tiny_images_and_name_clashes_are_errors(tmp_path, capsys):
    Image.new("RGB", (1, 5)).save(tmp_path / "thin.png")
    assert main(["-q", "filters", str(tmp_path / "thin.png"), "--out", str(tmp_path)]) == 1
    (tmp_path / "a").mkdir()
    Image.new("RGB", (3, 3)).save(tmp_path / "a" / "thin.png")
    assert main(["-q", "filters", str(tmp_path / "a" / "thin.png"), str(tmp_path / "thin.png"),
                 "--out", str(tmp_path)]) == 1
    assert main(["-q", "filters", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "need 2×2" in err and "collide" in err and "no images given" in err


def verdict_table(out: str) -> dict[tuple[str, str], list[str]]:
    """(case, data) → the rest of the row, from the printed table."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if " ∘ " in line]
    return {(r[0], r[1]): r[2:] for r in rows}


def test_check_prints_the_table_and_exits_0(fake_mnist, capsys):
    args = ["check", "--trials", "10", "--mnist-images", "3", "--data-dir", str(fake_mnist)]
    assert main(args) == 0
    out = capsys.readouterr().out
    table = verdict_table(out)
    assert len(table) == 2 * len(commutation.CASES)
    assert table["max-pool ∘ square", "random"][:3] == [
        "fails", "fails", "X=[0, −1]: σ(P X)=0, P σ(X)=1"]
    assert table["max-pool ∘ tanh", "MNIST"][:4] == ["holds", "holds", "—", "0"]
    assert "σ(x_k) ≥ σ(x_i)" in out and "Every verdict agrees with the theory." in out


def test_check_exits_1_when_a_verdict_contradicts_the_theory(fake_mnist, capsys, monkeypatch):
    monkeypatch.setattr(commutation, "expected_to_hold", lambda a, kind: not a.monotone)
    args = ["check", "--trials", "5", "--mnist-images", "2", "--data-dir", str(fake_mnist)]
    assert main(args) == 1
    assert "UNEXPECTED" in capsys.readouterr().out


@pytest.mark.slow
def test_check_on_real_mnist(real_mnist, capsys):
    assert main(["check", "--data-dir", str(real_mnist)]) == 0
    table = verdict_table(capsys.readouterr().out)
    assert all(table["max-pool ∘ " + a, "MNIST"][1] == "holds" for a in ("relu", "tanh", "step"))
    assert table["max-pool ∘ square", "MNIST"][1] == "fails"  # standardized digits: both signs


def test_report_sections_p1_and_p3_on_the_sample_photo(tmp_path):
    ctx = Context(out=tmp_path, device_name="cpu")
    p1, p3 = part_p1(ctx), part_p3(ctx)
    assert (p1.key, p3.key) == ("p1", "p3")
    ours = {c.quantity: c.ours for c in p1.comparisons + p3.comparisons}
    assert ours["finite differences = numpy.diff"] == "exact"
    assert ours["grayscale of pixel (100, 200, 100)"] == "158.7"
    assert ours["output size of an m×n image"] == "599×511 from 600×512"
    assert p3.results["pillow_max_error"] <= 1
    assert p1.tables[0].rows[0][2] == "[[-1, 0], [1, 0]]"
    assert all(f.png.startswith(b"\x89PNG") for f in p1.figures + p3.figures)
