"""`lenetlab reproduce --quick` end to end: the report, results.json and the figures agree,
and a real browser renders the page with every image decoded."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from PIL import Image

from lenetlab.cli import main
from lenetlab.report import COMPARISON_HEADER


class Page(HTMLParser):
    """Collects the table cells and image sources of the report."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.images: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self._in_cell = tag == "td"
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "td":
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    from lenetlab.data import mnist

    from tests.conftest import make_fake_mnist

    root = make_fake_mnist(tmp_path_factory.mktemp("mnist"))
    out = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    mp.setattr(mnist, "fetch", lambda r=None: r)
    mnist._load.cache_clear()
    try:
        assert main(["-q", "reproduce", "--quick", "--out", str(out), "--data-dir", str(root),
                     "--device", "cpu"]) == 0
    finally:
        mp.undo()
        mnist._load.cache_clear()
    return out


def test_every_compared_number_is_in_the_page_and_the_json(quick_report):
    results = json.loads((quick_report / "results.json").read_text())
    page = Page()
    page.feed((quick_report / "report.html").read_text())
    assert results["meta"]["quick"] is True and "torch" in results["meta"]
    comparisons = [(key, c) for key, part in results["parts"].items()
                   for c in part["comparisons"]]
    assert len(comparisons) >= 10
    for key, c in comparisons:
        assert c["ours"] in page.cells, (key, c)
        assert c["document"] in page.cells, (key, c)
    assert "60,806" in [c["ours"] for _, c in comparisons]
    assert len(COMPARISON_HEADER) == 6


def test_figures_are_written_and_embedded(quick_report):
    results = json.loads((quick_report / "results.json").read_text())
    files = [f for part in results["parts"].values() for f in part["figures"]]
    page = Page()
    page.feed((quick_report / "report.html").read_text())
    assert len(page.images) == len(files) > 0
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    for f in files:
        with Image.open(quick_report / f) as im:
            assert im.size[0] > 100 and im.size[1] > 50


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs Debian's)")
def test_a_real_browser_renders_the_report(quick_report, tmp_path):
    """Headless Chromium: the page renders, is not blank, and no image is broken."""
    probe = quick_report / "probe.html"
    html = (quick_report / "report.html").read_text()
    # After load, write the count of images that failed to decode into the title.
    script = ("<script>window.addEventListener('load',()=>{const bad=[...document.images]"
              ".filter(i=>!i.complete||i.naturalWidth===0).length;"
              "document.title='images:'+document.images.length+' broken:'+bad;});</script>")
    probe.write_text(html.replace("</body>", script + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,3000",
                    probe.as_uri()], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    images, broken = map(int, re.findall(r"\d+", title))
    assert images > 0 and broken == 0, title
    with Image.open(shot) as im:
        colours = im.convert("L").getextrema()
        assert im.size == (1200, 3000) and colours[1] - colours[0] > 100  # not blank
