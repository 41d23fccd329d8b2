"""Property tests: generated valid storyboards survive a trip through YAML and JSON, and plans respect the graph."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import models as m
from orchestrator.engine.plan import make_plan
from orchestrator.models import CATALOG, ModelSpec
from orchestrator.storyboard.dump import to_yaml
from orchestrator.storyboard.schema import SHOT_ID_PATTERN, Storyboard
from orchestrator.storyboard.validate import check_file
from tests.conftest import make_image

ASSETS = Path(tempfile.mkdtemp(prefix="orchestrator-props-"))
IMAGES = [make_image(ASSETS / "wide.png", 1280, 720).name, make_image(ASSETS / "tall.png", 720, 1280).name]
PROMPT = st.text(st.characters(whitelist_categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)


@st.composite
def storyboards(draw: st.DrawFn) -> dict[str, Any]:
    """A storyboard that obeys every rule for one randomly chosen model."""
    model: ModelSpec = draw(st.sampled_from(list(CATALOG.values())))
    ids = draw(st.lists(st.from_regex(SHOT_ID_PATTERN, fullmatch=True), min_size=1, max_size=10, unique=True))
    durations = st.integers(model.durations.low, model.durations.high)
    shots: list[dict[str, Any]] = []
    for i, shot_id in enumerate(ids):
        shot: dict[str, Any] = {"id": shot_id, "prompt": draw(PROMPT), "duration": draw(durations)}
        parent = draw(st.none() | st.sampled_from(ids[:i])) if i else None
        if parent is not None:
            shot["after"] = parent
        else:
            shot["resolution"] = draw(st.sampled_from(model.resolutions))
            shot.update(_start(draw, model))
        starts_on_a_frame = "first_frame" in shot or parent is not None
        if starts_on_a_frame and model.first_last_frame and draw(st.booleans()):
            shot["last_frame"] = draw(st.sampled_from(IMAGES))
        if model.generate_audio:
            shot["generate_audio"] = draw(st.booleans())
        if draw(st.booleans()):
            shot["seed"] = draw(st.integers(0, m.SEED_MAX))
        shots.append(shot)
    outputs = draw(st.none() | st.just({"main": [s["id"] for s in shots], "rev": [s["id"] for s in shots][::-1]}))
    board: dict[str, Any] = {"version": 1, "defaults": {"model": model.id}, "shots": shots}
    if outputs:
        board["outputs"] = outputs
    if draw(st.booleans()):
        board["assembly"] = {"transition": draw(st.sampled_from(["cut", "crossfade"])), "loudness_lufs": None}
    return board


def _start(draw: st.DrawFn, model: ModelSpec) -> dict[str, Any]:
    """How a root shot starts: text only, a first frame, or references (2.x)."""
    kinds = ["text", "image"] + (["references"] if model.references.images else [])
    kind = draw(st.sampled_from(kinds))
    ratios = [r for r in m.ALL_RATIOS if model.t2v_adaptive or r != m.ADAPTIVE]
    if kind == "text":
        return {"ratio": draw(st.sampled_from(ratios))}
    if kind == "image":
        ratio = m.ADAPTIVE if model.frames_need_adaptive else draw(st.sampled_from(m.ALL_RATIOS))
        return {"first_frame": draw(st.sampled_from(IMAGES)), "ratio": ratio}
    images = draw(st.lists(st.sampled_from(IMAGES), min_size=1, max_size=model.references.images))
    return {"references": {"images": images}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(board=storyboards(), as_json=st.booleans())
def test_valid_storyboards_round_trip_and_validate(board: dict[str, Any], as_json: bool) -> None:
    original = Storyboard.model_validate(board)
    path = ASSETS / ("board.json" if as_json else "board.yaml")
    path.write_text(json.dumps(board, ensure_ascii=False) if as_json else to_yaml(original), encoding="utf-8")
    checked = check_file(path)
    assert checked.storyboard == original
    assert set(checked.specs) == {s["id"] for s in board["shots"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(board=storyboards())
def test_plan_order_is_a_topological_order(board: dict[str, Any]) -> None:
    path = ASSETS / "plan.yaml"
    path.write_text(to_yaml(Storyboard.model_validate(board)), encoding="utf-8")
    checked = check_file(path)
    plan = make_plan(checked)
    order = [s.id for s in plan.shots]
    assert sorted(order) == sorted(checked.specs)
    position = {shot_id: i for i, shot_id in enumerate(order)}
    assert all(position[a] < position[b] for a, b in checked.graph.edges)
    assert nx.is_directed_acyclic_graph(checked.graph)
    assert all(s.tokens > 0 and s.amount > 0 for s in plan.shots)
    assert plan.tokens == sum(s.tokens for s in plan.shots)
