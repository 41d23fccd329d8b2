"""The whole check of a storyboard file: read, structure, graph, per-shot rules, assembly. All errors at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestrator.errors import StoryboardInvalid
from orchestrator.profiles import DEFAULT_REGION, RegionChoice
from orchestrator.storyboard import regions
from orchestrator.storyboard.chains import check_chain_depth
from orchestrator.storyboard.context import RuleContext
from orchestrator.storyboard.delivery import check_delivery, check_soundtrack
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, Severity, errors_in, unique_sorted
from orchestrator.storyboard.graph import (
    ShotGraph,
    in_cycles,
    parents_first,
    shot_graph,
    structure_problems,
    with_ancestors,
)
from orchestrator.storyboard.limits import NAME_CHARS_MAX, SHOTS_MAX, reserved_name
from orchestrator.storyboard.loader import Document, load_document
from orchestrator.storyboard.parse import parse_storyboard
from orchestrator.storyboard.resolve import ShotSpec, resolve_shots
from orchestrator.storyboard.rules import check_shot, check_sound
from orchestrator.storyboard.schema import Storyboard, output_shots


@dataclass(frozen=True)
class CheckedStoryboard:
    """A storyboard that passed every rule, with each shot's parameters resolved."""

    path: Path
    storyboard: Storyboard
    name: str
    graph: ShotGraph
    specs: dict[str, ShotSpec]  # in file order
    outputs: dict[str, list[str]]
    warnings: list[Diagnostic]
    region: RegionChoice = DEFAULT_REGION

    @property
    def budget(self) -> float | None:
        """The storyboard's budget, in the run's currency."""
        return regions.budget_of(self.storyboard, self.region)

    @property
    def budget_total(self) -> float | None:
        """The storyboard's cap on all runs of its run directory together, in the run's currency."""
        return regions.budget_of(self.storyboard, self.region, total=True)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the storyboard are resolved against."""
        return self.path.parent


def check_file(path: Path, display: str | None = None, today: date | None = None,
               region: RegionChoice | None = None) -> CheckedStoryboard:
    """Load and check a storyboard; raise StoryboardInvalid listing every error (and warning) found. `region` is the
    user's choice (orchestrator.profiles.chosen_region); None leaves it to the storyboard's model ids."""
    doc = load_document(path, display)
    _check_shot_count(doc)
    parsed = parse_storyboard(doc)
    storyboard = parsed.storyboard
    graph = shot_graph(storyboard)
    cyclic = in_cycles(graph)
    problems = [*parsed.problems, *structure_problems(storyboard, graph, doc.source, cyclic)]
    specs = resolve_shots(storyboard, parents_first(storyboard, graph, cyclic))
    choice = regions.storyboard_region(storyboard, region)
    ctx = RuleContext(doc.source, path.parent, today or date.today(), region=choice,
                      endpoints=storyboard.endpoints or {})
    regions.check_endpoints(storyboard, ctx)
    regions.check_budget(storyboard, ctx)
    unchecked = set(parsed.stub_shots) | {i for i, s in enumerate(storyboard.shots) if s.id in cyclic}
    if parsed.shots_checkable:
        _check_defaults(storyboard, ctx)
        for index, spec in specs.items():
            if index not in parsed.stub_shots:
                parent = _parent(spec, specs, graph, unchecked)
                check_shot(spec, parent, ctx)
        check_sound((s for i, s in specs.items() if i not in parsed.stub_shots), ctx)
    if parsed.assembly_checkable:
        _check_assembly(storyboard, ctx)
        # specs run parents first; a broken or cyclic shot's after and last_frame are unknown, so it counts no links
        check_chain_depth((s for i, s in specs.items() if i not in unchecked), storyboard.assembly.max_chain_links, ctx)
    if parsed.outputs_complete:
        _check_unused(storyboard, graph, ctx, parsed.stub_shots)
        if parsed.shots_checkable and parsed.assembly_checkable:
            by_id = {s.id: s for i, s in specs.items() if i not in unchecked}
            check_delivery(storyboard, by_id, ctx)
    _check_file_names(storyboard, ctx)
    problems = unique_sorted([*problems, *ctx.problems])
    if errors_in(problems):
        raise StoryboardInvalid(problems)
    ordered = {shot.id: specs[i] for i, shot in enumerate(storyboard.shots)}
    outputs = output_shots(storyboard) or {"main": [shot.id for shot in storyboard.shots]}
    return CheckedStoryboard(
        path=path, storyboard=storyboard, name=storyboard.name or run_name(path), graph=graph,
        specs=ordered, outputs=outputs, warnings=[p for p in problems if p.severity is Severity.WARNING],
        region=choice,
    )


def _parent(spec: ShotSpec, specs: dict[int, ShotSpec], graph: ShotGraph, unchecked: set[int]) -> ShotSpec | None:
    """The parent to check chain rules against: none for roots, cycles, and parents whose values are unknown."""
    if spec.shot.after is None or spec.index in unchecked or spec.shot.after not in graph:
        return None
    index: int = graph.nodes[spec.shot.after]["index"]
    return None if index in unchecked else specs.get(index)


def _check_defaults(storyboard: Storyboard, ctx: RuleContext) -> None:
    if {"frames", "duration"} <= storyboard.defaults.model_fields_set:
        ctx.error(("defaults", "frames"), "set duration or frames, not both")


def run_name(path: Path) -> str:
    """Default run name from the file name: lowercase, other characters folded to '-', a usable folder name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower())[:NAME_CHARS_MAX - 4].strip("-._")
    return f"{name}-run" if reserved_name(name) else name or "storyboard"


def _check_shot_count(doc: Document) -> None:
    shots = doc.data.get("shots")
    if isinstance(shots, list) and len(shots) > SHOTS_MAX:
        raise StoryboardInvalid([doc.source.diagnostic(("shots",), f"{len(shots):,} shots; a storyboard holds at "
                                                       f"most {SHOTS_MAX:,}: split it into several files")])


def _check_file_names(storyboard: Storyboard, ctx: RuleContext) -> None:
    """Names that become files and folders must be usable on every common filesystem, Windows' too."""
    named: list[tuple[DataPath, str, bool]] = [(("name",), storyboard.name, False)] if storyboard.name else []
    named += [(("outputs", name), name, True) for name in storyboard.outputs or {}]
    named += [(("shots", i, "id"), shot.id, False) for i, shot in enumerate(storyboard.shots)]
    for where, name, key in named:
        if reserved_name(name):
            why = "ends with '.', which Windows drops" if name.endswith(".") else \
                f"'{name.split('.')[0]}' is a device name on Windows"
            ctx.error(where, f"'{name}' cannot be a file or folder name ({why}): choose another name", key=key)


def _check_unused(storyboard: Storyboard, graph: ShotGraph, ctx: RuleContext, stubs: frozenset[int]) -> None:
    if storyboard.outputs is None:
        return
    used = {shot for output in storyboard.outputs.values() for shot in output.shots if shot in graph}
    needed = with_ancestors(graph, used)
    for index, shot in enumerate(storyboard.shots):
        if shot.id not in needed and index not in stubs:  # a broken shot has its own error, and maybe no id
            ctx.warn(("shots", index, "id"), f"'{shot.id}' is in no output and no output needs it: it would be "
                     "paid for and never used")


def _check_assembly(storyboard: Storyboard, ctx: RuleContext) -> None:
    assembly = storyboard.assembly
    if assembly.audio == "soundtrack" and assembly.soundtrack is None:
        ctx.error(("assembly", "audio"), "soundtrack needs assembly.soundtrack: an audio file")
    if assembly.soundtrack is not None:
        if assembly.audio != "soundtrack":
            ctx.warn(("assembly", "soundtrack"),
                     f"ignored unless assembly.audio is soundtrack (it is {assembly.audio})")
        check_soundtrack(("assembly", "soundtrack"), assembly.soundtrack, ctx)
