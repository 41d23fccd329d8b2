"""The review report: `report.html` in the run directory, a page a producer opens from disk in any browser (no
server, no internet, no script): each film with a player, each shot's takes with players and first/last-frame
posters, which take is in use, locked or awaiting approval, every seam with its two frames and a verdict, each
chain's drift from its first frame with a verdict against report.json's limits, and the spend per run and across runs.

Everything on the page is read from the run directory (journal, report.json, the seam frames assembly saved); the
storyboard, when at hand, adds prompts, gates and the take in use. Media are linked by paths relative to the page,
so the run directory can be moved or zipped whole. Posters are made once per clip by ffmpeg (assembly.posters).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from orchestrator.assembly.errors import AssemblyError
from orchestrator.assembly.ffmpeg import FPS
from orchestrator.assembly.films import REPORT_NAME, SEAMS_DIR, save_seam_frames, seam_frame_names
from orchestrator.assembly.posters import Poster, make_posters
from orchestrator.assembly.probe import probe
from orchestrator.assembly.qc import Join, seam_frames, thumb_height
from orchestrator.assembly.temp import temporary
from orchestrator.assembly.verdict import THRESHOLDS, verdict
from orchestrator.engine.decide import Decisions
from orchestrator.engine.drift_view import DriftView, drift_view
from orchestrator.engine.inspect import status
from orchestrator.engine.journal import Journal, TakeState
from orchestrator.engine.ledger import Ledger
from orchestrator.engine.review import approved, gated, in_use, shot_takes
from orchestrator.engine.rundir import RunDir
from orchestrator.engine.versions import history
from orchestrator.profiles import CURRENCIES
from orchestrator.storyboard.validate import CheckedStoryboard

PAGE_NAME = "report.html"
POSTER_WIDTH = 480  # enough for a card at 1280 px, small enough for dozens of takes
POSTERS_DIR = "report/posters"


@dataclass(frozen=True)
class TakeView:
    """One take's card."""

    number: int
    state: str
    seed: int
    amount: str
    why: str
    made_at: str
    task_id: str | None
    clip: str | None
    first: str | None
    last: str | None
    in_use: bool
    locked: bool
    approved: bool


@dataclass(frozen=True)
class ShotView:
    """A shot and its takes."""

    id: str
    prompt: str
    model: str
    size: str
    seconds: str
    parent: str | None
    gated: bool
    awaiting: bool  # gated, and its take in use is not approved: its children wait
    takes: list[TakeView]


@dataclass(frozen=True)
class SeamView:
    """One join of a film."""

    left: str
    right: str
    kind: str
    frame: int
    ssim: float
    audio_step_db: float
    verdict: str
    reasons: list[str]
    before: str | None
    after: str | None


@dataclass(frozen=True)
class FilmView:
    """One output's film."""

    name: str
    path: str
    poster: str | None
    frames: int | None
    seconds: str
    lufs: str
    stale: str | None
    seams: list[SeamView]
    versions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """Everything the template shows."""

    title: str
    run_dir: str
    made_at: str
    currency: str
    simulated: bool
    films: list[FilmView]
    shots: list[ShotView]
    runs: list[dict[str, Any]]
    spent: str
    estimate: str | None
    ledger: str | None
    thresholds: str
    waiting: list[str]
    drift: DriftView | None


async def write_report(run_dir: RunDir, journal: Journal, checked: CheckedStoryboard | None,
                       decisions: Decisions | None, book: Ledger | None, gate_links: bool = False) -> Path:
    """Make the posters it lacks, then write `report.html` atomically; returns its path."""
    posters = _posters(run_dir, journal)
    await make_posters(posters)
    await _seam_images(run_dir, _qc(run_dir))
    page = _page(run_dir, journal, checked, decisions, book, gate_links, {p.dest for p in posters if p.dest.is_file()})
    html = _environment().get_template("report.html.j2").render(page=page)
    path = run_dir.root / PAGE_NAME
    with temporary(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    return path


def _environment() -> Environment:
    return Environment(loader=PackageLoader("orchestrator", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def _posters(run_dir: RunDir, journal: Journal) -> list[Poster]:
    clips = [run_dir.clip(t.shot, t.key) for t in journal.takes() if t.state is TakeState.DOWNLOADED]
    films = sorted((run_dir.root / "outputs").glob("*.mp4"))
    wanted = [Poster(c, c.with_name("first_frame.jpg"), POSTER_WIDTH) for c in dict.fromkeys(clips) if c.is_file()]
    return wanted + [Poster(f, run_dir.root / POSTERS_DIR / f"{f.stem}.jpg", POSTER_WIDTH) for f in films]


def _page(run_dir: RunDir, journal: Journal, checked: CheckedStoryboard | None, decisions: Decisions | None,
          book: Ledger | None, gate_links: bool, posters: set[Path]) -> Page:
    info = status(run_dir)
    money = CURRENCIES[info.currency]
    shots = _shots(run_dir, journal, checked, decisions, gate_links, posters, money.show)
    qc = _qc(run_dir)
    films = [_film(run_dir, name, path, qc.get(name), info.stale.get(name), posters)
             for name, path in info.films.items()]
    runs = [{"id": r["id"], "started": _when(r["started_at"]), "exit": r["exit_code"],
             "spent": money.show(float(json.loads(r["summary"] or "{}").get(money.key, 0) or 0))}
            for r in journal.runs()]
    estimate = None
    if decisions is not None:
        estimate = f"{money.show(sum(float(d.cost) for d in decisions.shots))} still to generate as the storyboard " \
            "stands"
    ledger = None
    if book is not None and book.cap is not None:
        ledger = f"{money.show(float(book.committed))} of {money.show(float(book.cap))} (cap on all runs); " \
            f"{money.show(float(book.left or 0))} left"
    waiting = [s.id for s in shots if s.awaiting]
    return Page(title=checked.name if checked else run_dir.root.name, run_dir=str(run_dir.root),
                made_at=_when(time.time()), currency=info.currency, simulated=info.simulated, films=films,
                shots=shots, runs=runs, spent=money.show(info.amount), estimate=estimate, ledger=ledger,
                thresholds=THRESHOLDS, waiting=waiting, drift=drift_view(_report_body(run_dir)))


def _shots(run_dir: RunDir, journal: Journal, checked: CheckedStoryboard | None, decisions: Decisions | None,
           gate_links: bool, posters: set[Path], show: Any) -> list[ShotView]:
    order = list(checked.specs) if checked else list(dict.fromkeys(t.shot for t in journal.takes()))
    locks = journal.locks()
    views: list[ShotView] = []
    for shot in order:
        takes = shot_takes(journal, shot)
        used = in_use(decisions, shot)
        approval = journal.approved(shot)
        cards = [_take(run_dir, shot, t, used, locks.get(shot), approval, posters, show) for t in takes]
        spec = checked.specs.get(shot) if checked else None
        is_gate = spec is not None and checked is not None and gated(checked, shot, gate_links)
        awaiting = is_gate and not approved(journal, shot, used)
        first = takes[-1].params if takes else {}
        views.append(ShotView(
            id=shot, prompt=(spec.shot.prompt if spec else first.get("prompt")) or "",
            model=(spec.model_id or "") if spec else str(first.get("model", "")),
            size=f"{spec.resolution} {spec.ratio}" if spec else f"{first.get('resolution')} {first.get('ratio')}",
            seconds=f"{spec.duration} s" if spec else f"{first.get('duration')} s",
            parent=spec.shot.after if spec else None, gated=is_gate, awaiting=awaiting, takes=cards))
    return views


def _take(run_dir: RunDir, shot: str, take: Any, used: str | None, locked: str | None,
          approval: tuple[str, float] | None, posters: set[Path], show: Any) -> TakeView:
    clip = run_dir.clip(shot, take.key)
    first = clip.with_name("first_frame.jpg")
    last = run_dir.last_frame(shot, take.key)
    done = take.state is TakeState.DOWNLOADED and clip.is_file()
    return TakeView(
        number=take.number, state=take.state.value, seed=take.seed, amount=show(take.amount), why=take.why,
        made_at=_when(take.made_at), task_id=take.task_id, clip=_link(run_dir, clip) if done else None,
        first=_link(run_dir, first) if first in posters else None,
        last=_link(run_dir, last) if done and last.is_file() else None, in_use=take.key == used,
        locked=take.key == locked, approved=approval is not None and approval[0] == take.key)


def _report_body(run_dir: RunDir) -> dict[str, Any]:
    """report.json, or nothing when no film was assembled yet (or the file is unreadable)."""
    try:
        body = json.loads((run_dir.root / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _qc(run_dir: RunDir) -> dict[str, dict[str, Any]]:
    return {str(o["name"]): o for o in _report_body(run_dir).get("outputs", []) if isinstance(o, dict)}



async def _seam_images(run_dir: RunDir, films: dict[str, dict[str, Any]]) -> None:
    """The seam frames of a film assembled before they were saved (or deleted since), read again from the film."""
    folder = run_dir.root / SEAMS_DIR
    for name, film in films.items():
        path = run_dir.film(name)
        joins = [Join(int(j["frame"]), str(j["left"]), str(j["right"]), bool(j["chained"]),
                      j.get("transition") == "crossfade") for j in film["joins"]]
        if not joins or not path.is_file() or all((folder / f).is_file() for j in joins
                                                  for f in seam_frame_names(name, j.index)):
            continue
        try:
            info = await probe(path, decode=False)
            if info.frames != film.get("frames"):
                continue  # report.json speaks of another film than the one on disk
            height = thumb_height(info.width, info.height)
            save_seam_frames(folder, name, joins, await seam_frames(path, joins, height, int(film.get("fps", FPS))))
        except AssemblyError:
            continue  # the page shows the figures without the frames


def _kind(join: dict[str, Any]) -> str:
    """chained, crossfade or cut (a report.json from before crossfades were named says only chained or not)."""
    named = join.get("transition")
    return str(named) if named else "chained" if join["chained"] else "cut"


def _film(run_dir: RunDir, name: str, path: str, qc: dict[str, Any] | None, stale: str | None,
          posters: set[Path]) -> FilmView:
    poster = run_dir.root / POSTERS_DIR / f"{name}.jpg"
    seams = []
    for join in (qc or {}).get("joins", []):
        before, after = (run_dir.root / SEAMS_DIR / f for f in seam_frame_names(name, int(join["frame"])))
        found = verdict(bool(join["chained"]), float(join["ssim"]), bool(join["duplicate"]),
                        float(join["audio_step_db"]))  # a report.json from before verdicts has none
        seams.append(SeamView(
            left=join["left"], right=join["right"], kind=_kind(join),
            frame=int(join["frame"]), ssim=float(join["ssim"]), audio_step_db=float(join["audio_step_db"]),
            verdict=found.word, reasons=list(found.reasons),
            before=_link(run_dir, before) if before.is_file() else None,
            after=_link(run_dir, after) if after.is_file() else None))
    lufs = (qc or {}).get("integrated_lufs")
    return FilmView(name=name, path=_link(run_dir, Path(path)), poster=_link(run_dir, poster) if poster in posters
                    else None, frames=(qc or {}).get("frames"), seconds=f"{float((qc or {}).get('seconds', 0)):.2f}",
                    lufs="-" if lufs is None else f"{lufs:.1f} LUFS", stale=stale, seams=seams,
                    versions=history(run_dir, name))


def _link(run_dir: RunDir, path: Path) -> str:
    """A path relative to the page, as a URL."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    root = run_dir.root if run_dir.root.is_absolute() else Path.cwd() / run_dir.root
    return quote(str(absolute.relative_to(root)))


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))
