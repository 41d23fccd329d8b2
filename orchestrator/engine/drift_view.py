"""The review page's drift section: report.json's `drift` as the page shows it, each chain with its shots in link
order, its verdict against the limits report.json states, and what would bring it back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DriftShotView:
    """One chained shot's drift: its clip's last frame against its chain root's first."""

    shot: str
    link: int
    delta_e: str
    anchored: str  # after the colour anchor's grade ("-" when report.json has no figure)
    sharpness: str
    over: list[str]  # which of its figures pass the limits: "colour", "sharpness"


@dataclass(frozen=True)
class ChainView:
    """A chain's shots in link order, its worst figures and its verdict."""

    root: str
    shots: list[DriftShotView]
    links: int  # its deepest link (a root with two children has two shots and one link)
    delta_e: str  # the largest over its shots
    sharpness: str  # the lowest
    verdict: str | None  # "within limits" / "over: colour, sharpness"; None for a report.json from before verdicts
    over: list[str]
    advice: list[str]  # what would bring an over chain back, one line per figure over


@dataclass(frozen=True)
class DriftView:
    """The drift section: the limits in words, whether the films grade chains toward their roots, the chains."""

    limits: str | None  # None for a report.json from before limits
    anchored: bool
    chains: list[ChainView]


def drift_view(report: dict[str, Any]) -> DriftView | None:
    """report.json's drift section as the page shows it, or None when there is none to show.

    Three generations of report.json exist: none has `drift` (made before drift was measured), some have only
    `drift.shots` (figures, no limits: their chains are shown without a verdict), the rest have limits, the anchor
    and `drift.chains` with their verdicts. A section the page cannot read is left off: the films and takes above
    it matter more than a figure."""
    section = report.get("drift")
    if not isinstance(section, dict) or not section.get("shots"):
        return None
    try:
        shots = {str(s["shot"]): s for s in section["shots"]}
        limits = section.get("limits")
        anchored = section.get("anchor") == "root"
        chains = section.get("chains") or _chains_of(list(shots.values()))
        views = [_chain(c, shots, limits, anchored) for c in chains]
        words = None if limits is None else (
            f"colour: ΔE2000 above {float(limits['delta_e']):.1f} from the chain's reference picture; sharpness: below "
            f"{float(limits['sharpness']):.2f} of it")
    except (KeyError, TypeError, ValueError):
        return None
    return DriftView(limits=words, anchored=anchored, chains=views)


def _chains_of(shots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chains from the shots alone (a report.json from before `drift.chains`), roots in the order first met; no
    `over`, so no verdict."""
    roots = dict.fromkeys(str(s["root"]) for s in shots)
    return [{"root": r, "shots": [str(s["shot"]) for s in shots if str(s["root"]) == r]} for r in roots]


def _chain(chain: dict[str, Any], shots: dict[str, dict[str, Any]], limits: dict[str, Any] | None,
           anchored: bool) -> ChainView:
    root = str(chain["root"])
    # Sorted by link, stably: a root with two children has two links 1, kept in report.json's order.
    found = sorted((shots[str(name)] for name in chain["shots"] if str(name) in shots), key=lambda s: int(s["link"]))
    views = [_drift_shot(s) for s in found]
    # The chain's own figures when report.json has them, else worked out as its producer defines them.
    delta_e = float(chain.get("delta_e", max((float(s["delta_e"]) for s in found), default=0.0)))
    sharpness = float(chain.get("sharpness", min((float(s["sharpness"]) for s in found), default=1.0)))
    links = int(chain.get("links", max((v.link for v in views), default=0)))
    over = None if limits is None or chain.get("over") is None else [str(o) for o in chain["over"]]
    advice = [] if not over or limits is None else _advice(root, views, over, anchored, chain.get("anchored_delta_e"))
    return ChainView(root=root, shots=views, links=links, delta_e=f"{delta_e:.2f}", sharpness=f"{sharpness:.3f}",
                     verdict=None if over is None else f"over: {', '.join(over)}" if over else "within limits",
                     over=over or [], advice=advice)


def _drift_shot(shot: dict[str, Any]) -> DriftShotView:
    return DriftShotView(shot=str(shot["shot"]), link=int(shot["link"]), delta_e=f"{float(shot['delta_e']):.2f}",
                         anchored=_figure(shot.get("anchored_delta_e")), sharpness=f"{float(shot['sharpness']):.3f}",
                         over=[str(o) for o in shot.get("over") or []])


def _advice(root: str, shots: list[DriftShotView], over: list[str], anchored: bool, graded: Any) -> list[str]:
    """What would bring the chain back, per figure over: the colour anchor grades colour back in the films; no
    grade restores detail, so for sharpness only a fresh start does (a keyframe, or a new root)."""
    lines = []
    if "colour" in over:
        where = _first_over(shots, "colour")
        # With the anchor on, report.json judges the graded figure: a chain over on colour is over after the grade.
        if not anchored:
            lines.append(f"colour{where}: assembly.color_anchor: root would grade the chain's clips back toward "
                         f"{root}'s colour in the films")
        else:
            lines.append(f"colour{where}: still ΔE2000 {_figure(graded)} after the colour anchor's grade; a "
                         "last_frame keyframe on a shot before it, or a new root, restarts the chain on its look")
    if "sharpness" in over:
        lines.append(f"sharpness{_first_over(shots, 'sharpness')}: a last_frame keyframe on a shot before it, or a "
                     "new root (a shot without after), restarts the chain sharp; no grade brings detail back")
    return lines


def _first_over(shots: list[DriftShotView], kind: str) -> str:
    """ " from SHOT (link N) on", naming the first shot over on `kind`, or nothing when no shot says it is."""
    first = next((s for s in shots if kind in s.over), None)
    return "" if first is None else f" from {first.shot} (link {first.link}) on"


def _figure(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"
