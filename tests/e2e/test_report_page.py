"""report.html end to end: written by every run and by `orchestrator report`, every film and take linked by a
relative path that exists, takes marked in use / approved / awaiting approval, every seam with its two frames and a
verdict; then opened from file:// in Debian's Chromium, headless: no console error, every <video> playable
(readyState >= 2), and a 1280x800 screenshot that shows the first film's poster.

The browser test is skipped, with the reason, where /usr/bin/chromium is missing (`apt-get install chromium`;
.ci/run installs it)."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from orchestrator.simulator.server import SimulatorServer
from tests.conftest import FAST, run_cli
from tests.e2e.conftest import API_KEY, run
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


# The drift section. It reads nothing but report.json's `drift`, so one run of one shot is made for the module and
# copies of it are given report.json's of each format, with the drift of chains a → b → c → d and e → f (shots the run
# does not have: the section does not look for them), their pages written again by `orchestrator report` and all read
# in one Chromium: a run and a browser per test would cost seconds each.
LIMITS = {"delta_e": 5.0, "sharpness": 0.5}
LIMITS_TEXT = "colour: ΔE2000 above 5.0 from the chain's reference picture; sharpness: below 0.50 of it"
LOOK = {"lab_mean": [52.1, 3.4, 9.8], "lab_std": [18.2, 6.1, 7.7], "sharpness": 123.4}
# shot, root, link, delta_e, sharpness, anchored_delta_e, over (anchor off), over (anchor root: colour judged on the
# graded figure, as drift.py does); listed out of link order (the page orders them)
FIGURES = [("d", "a", 3, 7.9, 0.41, 6.2, ["colour", "sharpness"], ["colour", "sharpness"]),
           ("f", "e", 1, 1.2, 0.97, 0.5, [], []), ("b", "a", 1, 2.31, 0.912, 0.8, [], []),
           ("c", "a", 2, 5.46, 0.655, 1.1, ["colour"], [])]
# What Chromium's DOM holds of the section: the heading, its text, and per chain its title, classes, verdict badge,
# advice lines, column heads, link rows and the cells marked over.
READ_DRIFT = """() => ({
  heading: document.querySelector('h2#drift') !== null,
  intro: document.querySelector('h2#drift + p')?.textContent.replace(/\\s+/g, ' ').trim() ?? null,
  verdicts: document.querySelectorAll('.verdict').length,
  chains: [...document.querySelectorAll('section.chain')].map(s => ({
    id: s.id, classes: [...s.classList].sort(),
    title: s.querySelector('h3').firstChild.textContent.trim(),
    verdict: s.querySelector('.verdict .badge')?.textContent.trim() ?? null,
    badge: s.querySelector('.verdict .badge')?.className ?? null,
    advice: [...s.querySelectorAll('.verdict div')].map(d => d.textContent.replace(/\\s+/g, ' ').trim()),
    head: [...s.querySelectorAll('thead th')].map(t => t.textContent),
    rows: [...s.querySelectorAll('tr.link')].map(r => [...r.cells].map(c => c.textContent.trim())),
    over: [...s.querySelectorAll('td.over')].map(c => c.textContent.trim()),
  })),
})"""


def drift_shot(shot: str, root: str, link: int, delta_e: float, sharpness: float, anchored: float,
               over: list[str], graded_over: list[str], anchor: str) -> dict[str, Any]:
    """One shot of report.json's drift section, as the producer writes it."""
    return {"shot": shot, "root": root, "link": link, "delta_e": delta_e, "sharpness": sharpness,
            "anchored_delta_e": anchored if anchor == "root" else None,
            "over": graded_over if anchor == "root" else over, "start": LOOK, "end": LOOK}


def drift_section(anchor: str) -> dict[str, Any]:
    """A drift section of today's format: chain a over on colour and sharpness, chain e within limits."""
    return {"limits": LIMITS, "anchor": anchor, "shots": [drift_shot(*f, anchor=anchor) for f in FIGURES],
            "chains": [{"root": "a", "shots": ["b", "c", "d"], "links": 3, "delta_e": 7.9, "sharpness": 0.41,
                        "anchored_delta_e": 6.2 if anchor == "root" else None, "over": ["colour", "sharpness"]},
                       {"root": "e", "shots": ["f"], "links": 1, "delta_e": 1.2, "sharpness": 0.97,
                        "anchored_delta_e": 0.5 if anchor == "root" else None, "over": []}]}


# drift: {"shots": [...]} alone, as runs wrote it before limits, anchors and chains
OLD_SHOTS = {"shots": [{k: v for k, v in drift_shot(*f, anchor="off").items() if k not in ("anchored_delta_e", "over")}
                       for f in FIGURES]}
VARIANTS: dict[str, dict[str, Any] | None] = {"off": drift_section("off"), "root": drift_section("root"),
                                              "shots only": OLD_SHOTS, "no drift": None}


def render_with(made_once: Path, folder: Path, drift: dict[str, Any] | None) -> Path:
    """A copy of the run directory whose report.json has this drift section (None: no `drift` key), its page
    written again by `orchestrator report`, which must succeed; returns the page."""
    run_dir = Path(shutil.copytree(made_once, folder))
    report = run_dir / "report.json"
    body = json.loads(report.read_text(encoding="utf-8"))
    body.pop("drift", None)
    if drift is not None:
        body["drift"] = drift
    report.write_text(json.dumps(body), encoding="utf-8")
    made_again = run_cli("report", run_dir)
    assert (made_again.code, made_again.stderr) == (0, "")
    return run_dir / "report.html"


@pytest.fixture(scope="module")
def drift_pages(sim_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each of VARIANTS' drift section as Chromium's DOM holds it (the page has no script: READ_DRIFT only reads).

    The pages are all written before the browser starts: Playwright's sync API holds an event loop running, and
    `orchestrator report` starts its own."""
    sync_api = pytest.importorskip("playwright.sync_api")
    sim_server.reset()  # what the `ark` fixture does, at module scope
    for key, value in FAST.model_dump().items():
        setattr(sim_server.backend.config, key, value)
    folder = tmp_path_factory.mktemp("drift")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARK_API_KEY", API_KEY)
        env.setenv("ARK_BASE_URL", sim_server.base_url)
        env.setenv("ORCHESTRATOR_POLL_SCALE", "0.002")
        storyboard = write_storyboard(folder, [{"id": "solo"}], name="drift")
        assert run(storyboard, folder / "runs").code == 0
        pages = {name: render_with(folder / "runs" / "drift", folder / name.replace(" ", "-"), drift)
                 for name, drift in VARIANTS.items()}
    found: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            for name, page_file in pages.items():
                page.goto(page_file.as_uri(), wait_until="domcontentloaded")  # no script: the DOM is whole then
                found[name] = page.evaluate(READ_DRIFT)
        finally:
            browser.close()
    assert errors == []
    return found


needs_chromium = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's Chromium is not installed "
                                    "(apt-get install chromium); .ci/run installs it")


@needs_chromium
def test_drift_section_shows_each_chain_with_its_verdict(drift_pages: dict[str, dict[str, Any]]) -> None:
    found = drift_pages["off"]
    assert found["heading"] and f"Limits: {LIMITS_TEXT}." in found["intro"]
    assert "color_anchor" not in found["intro"]  # the anchor is off: no graded figures
    over, within = found["chains"]
    assert (over["id"], over["title"], within["id"], within["title"]) == ("chain-a", "a → b → c → d", "chain-e",
                                                                          "e → f")
    assert over["head"] == within["head"] == ["link", "shot", "ΔE2000", "sharpness"]
    assert over["rows"] == [["1", "b", "2.31", "0.912"], ["2", "c", "5.46", "0.655"], ["3", "d", "7.90", "0.410"]]
    assert within["rows"] == [["1", "f", "1.20", "0.970"]]
    assert over["classes"] == ["card", "chain", "over"] and within["classes"] == ["card", "chain"]
    assert (over["verdict"], over["badge"]) == ("over: colour, sharpness", "badge check")
    assert (within["verdict"], within["badge"]) == ("within limits", "badge ok")
    assert over["over"] == ["5.46", "7.90", "0.410"] and within["over"] == []  # c's colour, d's colour and sharpness
    assert over["advice"] == [
        "colour from c (link 2) on: assembly.color_anchor: root would grade the chain's clips back toward a's colour "
        "in the films",
        "sharpness from d (link 3) on: a last_frame keyframe on a shot before it, or a new root (a shot without "
        "after), restarts the chain sharp; no grade brings detail back"]
    assert within["advice"] == []


@needs_chromium
def test_drift_section_shows_the_figure_after_the_colour_anchor(drift_pages: dict[str, dict[str, Any]]) -> None:
    found = drift_pages["root"]
    assert "assembly.color_anchor: root" in found["intro"] and f"Limits: {LIMITS_TEXT}." in found["intro"]
    over, within = found["chains"]
    assert over["head"] == within["head"] == ["link", "shot", "ΔE2000", "after the grade", "sharpness"]
    assert over["rows"] == [["1", "b", "2.31", "0.80", "0.912"], ["2", "c", "5.46", "1.10", "0.655"],
                            ["3", "d", "7.90", "6.20", "0.410"]]
    assert within["rows"] == [["1", "f", "1.20", "0.50", "0.970"]]
    assert (over["verdict"], within["verdict"]) == ("over: colour, sharpness", "within limits")
    assert over["over"] == ["6.20", "0.410"]  # the graded figure is the one judged: c is within after the grade
    assert over["advice"][0] == ("colour from d (link 3) on: still ΔE2000 6.20 after the colour anchor's grade; a "
                                 "last_frame keyframe on a shot before it, or a new root, restarts the chain on its "
                                 "look")


@needs_chromium
def test_an_older_report_json_renders_without_drift_verdicts(drift_pages: dict[str, dict[str, Any]]) -> None:
    # (every page was written with exit code 0: drift_pages checks it)
    found = drift_pages["shots only"]  # the chains with their figures, and no verdict
    assert found["heading"] and "Limits" not in found["intro"] and found["verdicts"] == 0
    assert [(c["id"], c["title"], c["classes"], c["verdict"], c["over"]) for c in found["chains"]] == [
        ("chain-a", "a → b → c → d", ["card", "chain"], None, []), ("chain-e", "e → f", ["card", "chain"], None, [])]
    assert found["chains"][0]["rows"] == [["1", "b", "2.31", "0.912"], ["2", "c", "5.46", "0.655"],
                                          ["3", "d", "7.90", "0.410"]]
    assert found["chains"][1]["rows"] == [["1", "f", "1.20", "0.970"]]
    assert drift_pages["no drift"] == {"heading": False, "intro": None, "verdicts": 0, "chains": []}
