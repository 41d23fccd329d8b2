"""report.html end to end: written by every run and by `orchestrator report`, every film and take linked by a
relative path that exists, takes marked in use / approved / awaiting approval, every seam with its two frames and a
verdict; then opened from file:// in Debian's Chromium, headless: no console error, every <video> playable
(readyState >= 2), and a 1280x800 screenshot that shows the first film's poster.

The browser test is skipped, with the reason, where /usr/bin/chromium is missing (`apt-get install chromium`;
.ci/run installs it)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import run_cli
from tests.e2e.conftest import run
from tests.e2e.test_faults import write_storyboard

CHROMIUM = Path("/usr/bin/chromium")
SHOTS: list[dict[str, Any]] = [{"id": "hook", "review": True}, {"id": "mid", "after": "hook"}, {"id": "solo"}]
OUTPUTS = {"main": ["hook", "mid", "solo"]}


class Links(HTMLParser):
    """The media a page links to, and the text of its badges."""

    def __init__(self) -> None:
        super().__init__()
        self.videos: list[str] = []
        self.images: list[str] = []
        self.posters: list[str] = []
        self.badges: list[str] = []
        self._badge = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "video":
            self.videos.append(str(found["src"]))
            if found.get("poster"):
                self.posters.append(str(found["poster"]))
        elif tag == "img":
            self.images.append(str(found["src"]))
        self._badge = tag == "span" and "badge" in (found.get("class") or "")

    def handle_data(self, data: str) -> None:
        if self._badge and data.strip():
            self.badges.append(" ".join(data.split()))
            self._badge = False


def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A gated storyboard run, its hook rerolled, approved and finished: (storyboard, out, run directory). Its
    film has a chained join and a crossfade."""
    storyboard = write_storyboard(tmp_path, SHOTS, name="page", outputs=OUTPUTS,
                                  assembly={"transition": "crossfade", "crossfade_seconds": 0.25})
    out = tmp_path / "runs"
    assert run(storyboard, out).code == 0
    assert run(storyboard, out, "--reroll", "hook").code == 0
    assert run_cli("approve", storyboard, "hook", "2", "--out", out).code == 0
    assert run(storyboard, out).code == 0
    return storyboard, out, out / "page"


def test_every_run_writes_a_page_whose_links_all_exist(ark: SimulatorServer, tmp_path: Path) -> None:
    storyboard = write_storyboard(tmp_path, SHOTS, name="page", outputs=OUTPUTS)
    out = tmp_path / "runs"
    held = run_cli("run", storyboard, "--out", out, "--yes")
    page = out / "page" / "report.html"
    assert held.code == 0 and f"look at {page} or" in held.stderr
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    assert "awaiting approval" in links.badges and len(links.videos) == 2  # hook and solo; no film yet

    _, _, run_dir = made(tmp_path / "second")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    links = Links()
    links.feed(html)
    # one film, hook's two takes, mid's and solo's one each
    assert links.videos[0] == "outputs/main.mp4" and len(links.videos) == 5
    assert all((run_dir / link).is_file() for link in [*links.videos, *links.images, *links.posters])
    assert links.posters[0] == "report/posters/main.jpg"
    assert links.badges.count("in use") == 3 and links.badges.count("approved") == 2  # the gate, and take 2
    assert links.badges.count("ok") == 2  # both joins: a chained one and a crossfade
    kinds = re.findall(r'<span class="mute">(\w+), frame \d+</span>', html)
    assert kinds == ["chained", "crossfade"]  # a crossfade is named as one, not as a cut
    assert len([i for i in links.images if i.startswith("report/seams/")]) == 4
    assert re.search(r"take 2</strong>\s*<span class=\"badge use\">in use</span>", html)
    again = run_cli("report", run_dir)
    assert (again.code, again.stdout.strip()) == (0, f"report: {run_dir / 'report.html'}")


@pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's Chromium is not installed (apt-get install chromium); "
                    ".ci/run installs it")
def test_the_page_opens_from_disk_in_headless_chromium(ark: SimulatorServer, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    _, _, run_dir = made(tmp_path)
    page_file = run_dir / "report.html"
    moved = shutil.copytree(run_dir, tmp_path / "moved")  # the page travels with its run directory
    shot = tmp_path / "screen.png"
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            page.goto((moved / page_file.name).as_uri())
            page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2)",
                                   timeout=60_000)
            states = page.eval_on_selector_all("video", "vs => vs.map(v => v.readyState)")
            box = page.locator("video").first.bounding_box()
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert errors == []
    assert len(states) == 5 and min(states) >= 2
    screen = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert screen.std() > 10, "the page is blank"
    assert box is not None
    left, top, width, height = (round(v) for v in (box["x"], box["y"], box["width"], box["height"]))
    shown = screen[top:top + height // 2, left:left + width]  # the upper half: no player controls over it
    poster = Image.open(moved / "report" / "posters" / "main.jpg").convert("RGB").resize((width, height))
    expected = np.asarray(poster, dtype=np.float64)[:height // 2]
    assert np.abs(shown - expected).mean() < 12, "the first film's poster is not what the page shows"
