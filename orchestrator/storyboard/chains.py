"""The depth guard: each link of a chain starts on its parent's last frame, so colour and detail drift link by link
(BENCHMARKS.md). A chain that runs past `assembly.max_chain_links` gets one warning where it passes the limit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.storyboard.context import RuleContext
from orchestrator.storyboard.resolve import ShotSpec


@dataclass(frozen=True)
class Link:
    """Where a shot stands in its chain."""

    number: int  # links from `start`: 0 for a chain's first shot and for a shot that ends on a keyframe
    start: str  # the shot the count starts from
    keyframe: bool  # `start` ends on a last_frame keyframe (else it is the chain's first shot, without after)


def chain_links(specs: Iterable[ShotSpec]) -> dict[int, Link]:
    """Each shot's link, by index, counted as drift is (`assembly.chains.Chains.lineage`;
    the storyboard layer cannot import assembly, so the rule is written twice): a shot with after is one link
    further than its parent, and a shot with a last_frame keyframe ends on a known image, so the count restarts there.
    `specs` come parents first; a shot whose parent is not among them (broken, in a cycle, unknown) is left out, and
    so are its descendants: their errors are reported elsewhere."""
    by_id: dict[str, Link] = {}
    found: dict[int, Link] = {}
    for spec in specs:
        shot = spec.shot
        if shot.after is None or shot.last_frame is not None:
            link = Link(0, shot.id, shot.last_frame is not None)
        elif (parent := by_id.get(shot.after)) is not None:
            link = Link(parent.number + 1, parent.start, parent.keyframe)
        else:
            continue
        by_id.setdefault(shot.id, link)  # two shots with one id are an error already: keep the first
        found[spec.index] = link
    return found


def check_chain_depth(specs: Iterable[ShotSpec], limit: int | None, ctx: RuleContext) -> None:
    """A warning at each shot that is the first of its branch past `limit` links (None: never), at its `after`.
    Only the first: deeper shots of the same branch are past it because of that one, and one fix serves them all.
    `specs` as for chain_links."""
    if limit is None:
        return
    for index, link in chain_links(specs).items():
        if link.number == limit + 1:
            ctx.warn(("shots", index, "after"), _message(link, limit))


def _message(link: Link, limit: int) -> str:
    start = f"'{link.start}' (which ends on a last_frame keyframe)" if link.keyframe else f"'{link.start}'"
    return (f"this shot is link {link.number} of a chain from {start} (assembly.max_chain_links: {limit}): colour "
            "and detail drift link by link; give one of its shots a last_frame keyframe (the count restarts there), "
            "or start a new chain (a shot without after)")
