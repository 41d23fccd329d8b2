"""Planning is pure: order, sizes, lengths and prices follow from the checked storyboard alone."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from orchestrator.config import load_prices
from orchestrator.engine.plan import make_plan
from orchestrator.errors import ConfigError
from orchestrator.storyboard.validate import check_file
from tests.conftest import STORYBOARDS, make_image


def storyboard(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text("version: 1\n" + body, encoding="utf-8")
    return path


def test_long_form_plan_runs_every_shot_once_parents_first() -> None:
    checked = check_file(STORYBOARDS / "long-form-ad.yaml")
    plan = make_plan(checked)
    order = [s.id for s in plan.shots]
    assert sorted(order) == sorted(checked.specs)
    assert [s.order for s in plan.shots] == list(range(1, len(order) + 1))
    for parent, child in checked.graph.edges:
        assert order.index(parent) < order.index(child)
    assert plan.amount == pytest.approx(sum(s.amount for s in plan.shots), abs=0.01)
    main = next(o for o in plan.outputs if o.name == "main")
    assert main.seconds >= 60


def test_longest_chain_goes_first(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
defaults: {model: dreamina-seedance-2-0-260128, duration: 5}
shots:
  - {id: solo, prompt: a, duration: 15}
  - {id: head, prompt: b}
  - {id: mid, after: head, prompt: c}
  - {id: tail, after: mid, prompt: d, duration: 10}
""")
    plan = make_plan(check_file(path))
    assert [s.id for s in plan.shots] == ["head", "solo", "mid", "tail"]
    assert plan.shots[0].chain_seconds == 20


def test_chained_output_drops_one_frame_per_chain_join_and_crossfades_overlap(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
defaults: {model: dreamina-seedance-2-0-260128, duration: 5, ratio: "16:9"}
shots:
  - {id: a, prompt: a}
  - {id: b, after: a, prompt: b}
  - {id: c, prompt: c}
assembly: {transition: crossfade, crossfade_seconds: 0.5}
""")
    [main] = make_plan(check_file(path)).outputs
    assert main.seconds == pytest.approx(3 * 121 / 24 - 1 / 24 - 0.5, abs=1e-3)


def test_adaptive_ratio_is_sized_from_the_first_frame_and_handed_down(tmp_path: Path) -> None:
    make_image(tmp_path / "tall.png", 720, 1280)
    path = storyboard(tmp_path, """
defaults: {model: dreamina-seedance-2-0-260128}
shots:
  - {id: a, first_frame: tall.png, prompt: a}
  - {id: b, after: a, prompt: b}
""")
    plan = make_plan(check_file(path))
    assert [(s.width, s.height) for s in plan.shots] == [(720, 1280), (720, 1280)]
    assert plan.shots[0].ratio == "adaptive"


def test_unknown_adaptive_ratio_and_auto_duration_are_priced_as_upper_bounds(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
shots:
  - {id: a, model: dreamina-seedance-2-5-260628, prompt: a}
""")
    [shot] = make_plan(check_file(path)).shots
    assert (shot.width, shot.height, shot.seconds) == (1112, 834, 30)
    assert any("largest size" in n for n in shot.notes)
    assert any("30 s maximum" in n for n in shot.notes)
    assert not shot.price_confirmed


def test_prices_follow_tier_audio_and_resolution(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
shots:
  - {id: online, model: seedance-1-5-pro-251215, ratio: "16:9", prompt: a}
  - {id: silent, model: seedance-1-5-pro-251215, ratio: "16:9", generate_audio: false, prompt: a}
  - {id: flex, model: seedance-1-5-pro-251215, ratio: "16:9", service_tier: flex, prompt: a}
  - {id: hd, model: dreamina-seedance-2-0-260128, ratio: "16:9", resolution: 1080p, prompt: a}
  - {id: pro, model: seedance-1-0-pro-250528, ratio: "16:9", prompt: a}
""")
    usd = {s.id: s.amount for s in make_plan(check_file(path)).shots}
    assert usd["online"] == pytest.approx(108_900 * 2.4 / 1e6, abs=1e-4)
    assert usd["silent"] == pytest.approx(usd["online"] / 2, abs=1e-4)
    assert usd["flex"] == pytest.approx(usd["online"] / 2, abs=1e-4)
    assert usd["hd"] == pytest.approx(1920 * 1080 * 121 // 1024 * 7.7 / 1e6, abs=1e-4)
    assert usd["pro"] == pytest.approx(246_840 * 2.5 / 1e6, abs=1e-4)  # 1.0 pro defaults to 1080p


def test_frames_set_the_length_on_1_0_models(tmp_path: Path) -> None:
    path = storyboard(tmp_path, "shots:\n  - {id: a, model: seedance-1-0-pro-250528, frames: 57, prompt: a}\n")
    [shot] = make_plan(check_file(path)).shots
    assert (shot.frames, shot.tokens) == (57, 1920 * 1088 * 57 // 1024)


def test_price_file_overrides_the_catalog(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("dreamina-seedance-2-0-260128: 1.0\n", encoding="utf-8")
    plan = make_plan(check_file(STORYBOARDS / "minimal.yaml"), load_prices(prices))
    assert plan.amount == pytest.approx(0.11, abs=0.001)
    assert plan.prices_confirmed


def test_budget_flag_wins_over_storyboard_budget() -> None:
    checked = check_file(STORYBOARDS / "tea-ad.yaml")
    assert not make_plan(checked).over_budget
    assert make_plan(checked, budget=1.0).over_budget


def test_graph_is_a_forest_of_chains() -> None:
    checked = check_file(STORYBOARDS / "long-form-ad.yaml")
    assert nx.is_forest(checked.graph.to_undirected())
    roots = [n for n in checked.graph if checked.graph.in_degree(n) == 0]
    assert len(roots) == 4  # three scenes and the packshot


def test_reference_videos_are_priced_at_the_longest_allowed_input(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
shots:
  - id: a
    model: dreamina-seedance-2-0-260128
    ratio: "16:9"
    prompt: move like video 1
    references: {videos: ["https://example.com/ref.mp4"]}
""")
    [shot] = make_plan(check_file(path)).shots
    assert shot.tokens == 1280 * 720 * (121 + 15 * 24) // 1024
    assert shot.amount == pytest.approx(shot.tokens * 4.3 / 1e6, abs=1e-4)  # the with-video-input rate


def test_a_shot_duration_beats_a_frames_default(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """
defaults: {model: seedance-1-0-pro-250528, frames: 121}
shots:
  - {id: own, prompt: a, duration: 10}
  - {id: inherits, prompt: b}
""")
    by_id = {s.id: s for s in make_plan(check_file(path)).shots}
    assert (by_id["own"].frames, by_id["inherits"].frames) == (241, 121)


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        ('dreamina-seedance-2-0-260128: {"*": {usd_per_mtok: 1.0}}\n', 0.11),  # "*" replaces per-resolution prices
        ('dreamina-seedance-2-0-260128: {720p: 2.0, "*": 1.0}\n', 0.22),
        ("dreamina-seedance-2-0-260128: {1080p: 2.0}\n", 0.76),  # other resolutions keep the catalog price
    ],
)
def test_price_file_star_and_resolution_entries(tmp_path: Path, text: str, usd: float) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(text, encoding="utf-8")
    plan = make_plan(check_file(STORYBOARDS / "minimal.yaml"), load_prices(prices))
    assert plan.amount == pytest.approx(usd, abs=0.01)


def test_price_file_rejects_resolutions_the_model_lacks(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("dreamina-seedance-2-0-fast-260128: {1080p: 1.0}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="1080p is not a resolution of this model"):
        load_prices(prices)
