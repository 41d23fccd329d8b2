"""The product's model catalog and the simulator's rule table agree, cell by cell.

The two are written independently from the provider reference (`orchestrator/models.py` for the product,
`orchestrator/simulator/catalog.py` for the simulator), so a transcription mistake on one side shows up here instead
of passing on both. Each cell is its own case. A disagreement that is deliberate is listed in KNOWN_DIFFERENCES with
both values, its reason and its source; an entry that stops matching (fixed on one side, or changed) fails too, so
the list never goes stale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from orchestrator import models as product
from orchestrator.simulator import catalog as sim

Cells = dict[str, Any]
ABSENT = "<absent>"  # a cell one side has and the other lacks


@dataclass(frozen=True)
class Known:
    """A deliberate disagreement: the value each side holds, why, and where the reference says so."""

    product: Any
    simulator: Any
    reason: str
    source: str


KNOWN_DIFFERENCES: Mapping[str, Known] = {
    "global/seed_max": Known(
        product=2**31 - 1, simulator=2**32 - 1,
        reason="the product keeps to the stricter OpenAPI bound so that no seed it sends can be refused; the "
               "simulator accepts what the create page allows",
        source="create page 'Value range: Integer between [-1, 2^32-1]'; reference §3.1 seed row "
               "'(OAS says max 2147483647)'",
    ),
}

# --- the product's side ----------------------------------------------------------------------------------------------
_FLAGS_PRODUCT = {  # cell name -> how the product's ModelSpec holds it
    "frames": lambda s: s.frames,
    "text_to_video": lambda s: s.text_to_video,
    "first_frame": lambda s: s.first_frame,
    "first_last_frame": lambda s: s.first_last_frame,
    "generate_audio": lambda s: s.generate_audio,
    "draft": lambda s: s.draft,
    "flex": lambda s: s.flex,
    "service_tier_field": lambda s: s.service_tier,
    "camera_fixed": lambda s: s.camera_fixed,
    "priority": lambda s: s.priority,
    "t2v_refuses_adaptive": lambda s: not s.t2v_adaptive,
    "framed_needs_adaptive": lambda s: s.frames_need_adaptive,
}


def product_model_cells(spec: product.ModelSpec) -> Cells:
    """Every per-model cell of one product catalog row."""
    refs = spec.references
    cells: Cells = {
        "resolutions": tuple(spec.resolutions),
        "default_resolution": spec.default_resolution,
        "duration_min": spec.durations.low,
        "duration_max": spec.durations.high,
        "duration_minus_one": spec.durations.auto,
        "default_duration": spec.default_duration,
        "image_formats": tuple(sorted(spec.image_formats)),
        **{name: get(spec) for name, get in _FLAGS_PRODUCT.items()},
        **_reference_cells(refs.images, refs.videos, refs.audios, refs.total, refs.video_seconds_each,
                           refs.video_seconds_total, refs.audio_seconds_each, refs.audio_seconds_total,
                           refs.audio_alone),
    }
    for resolution in spec.resolutions:
        table = product.PIXEL_SIZES[spec.family].get(resolution, {})
        for ratio in product.RATIOS:
            cells[f"size/{resolution}/{ratio}"] = table.get(ratio, ABSENT)
    return cells


def product_global_cells() -> Cells:
    """The product's module-level limits and formulas, as cells."""
    return {
        "fps": product.FPS,
        "adaptive": product.ADAPTIVE,
        "ratios": tuple(product.RATIOS),
        "ratio_choices": tuple(product.ALL_RATIOS),
        "resolutions": tuple(product.RESOLUTIONS),
        "image_side_min_exclusive": product.IMAGE_MIN_SIDE_PX,
        "image_side_max_exclusive": product.IMAGE_MAX_SIDE_PX,
        "image_aspect_min": product.IMAGE_MIN_ASPECT,
        "image_aspect_max": product.IMAGE_MAX_ASPECT,
        "image_bytes_below": product.IMAGE_MAX_BYTES,
        "video_bytes_max": product.VIDEO_MAX_BYTES,
        "audio_bytes_max": product.AUDIO_MAX_BYTES,
        "request_bytes_max": product.REQUEST_MAX_BYTES,
        "base_image_formats": tuple(sorted(product.BASE_IMAGE_FORMATS)),
        "heif_image_formats": tuple(sorted(product.HEIF_IMAGE_FORMATS)),
        "video_formats": tuple(sorted(product.VIDEO_FORMATS)),
        "audio_formats": tuple(sorted(product.AUDIO_FORMATS)),
        "seed_min": product.SEED_MIN,
        "seed_max": product.SEED_MAX,
        "expiry_min_s": product.EXPIRES_MIN_S,
        "expiry_max_s": product.EXPIRES_MAX_S,
        "priority_max": product.PRIORITY_MAX,
        "frames_min": product.FRAMES_MIN,
        "frames_max": product.FRAMES_MAX,
        # The product spells the 25+4n rule out where it checks frames (storyboard/rules.py), beside these bounds.
        "frame_counts": tuple(f for f in range(product.FRAMES_MIN, product.FRAMES_MAX + 1) if (f - 25) % 4 == 0),
        "frames_for_seconds": tuple(product.frames_for(s) for s in range(1, 31)),
        "tokens": tuple(product.estimate_tokens(w, h, f) for w, h, f in _TOKEN_SAMPLES),
        "adaptive_resolution": tuple(product.closest_ratio(w, h) for w, h in _IMAGE_SAMPLES),
    }


# --- the simulator's side --------------------------------------------------------------------------------------------
_FLAGS_SIMULATOR = {
    "frames": lambda r: r.frames,
    "text_to_video": lambda r: r.text_to_video,
    "first_frame": lambda r: r.first_frame,
    "first_last_frame": lambda r: r.first_last_frame,
    "generate_audio": lambda r: r.generate_audio,
    "draft": lambda r: r.draft,
    "flex": lambda r: r.flex_tier,
    "service_tier_field": lambda r: r.accepts_service_tier,
    "camera_fixed": lambda r: r.camera_fixed,
    "priority": lambda r: r.priority,
    "t2v_refuses_adaptive": lambda r: r.t2v_refuses_adaptive,
    "framed_needs_adaptive": lambda r: r.framed_needs_adaptive,
}


def simulator_model_cells(row: sim.ModelRules) -> Cells:
    """Every per-model cell of one simulator rule row."""
    refs = row.references
    cells: Cells = {
        "resolutions": tuple(row.resolutions),
        "default_resolution": row.default_resolution,
        "duration_min": row.durations.shortest,
        "duration_max": row.durations.longest,
        "duration_minus_one": row.durations.minus_one,
        "default_duration": row.default_duration,
        "image_formats": tuple(sorted(row.image_formats)),
        **{name: get(row) for name, get in _FLAGS_SIMULATOR.items()},
        **_reference_cells(refs.images, refs.videos, refs.audios, refs.items, refs.video_clip_s, refs.video_sum_s,
                           refs.audio_clip_s, refs.audio_sum_s, refs.audio_without_visual),
    }
    for resolution in row.resolutions:
        table = sim.OUTPUT_SIZES[row.size_table].get(resolution, {})
        for ratio in sim.FIXED_RATIOS:
            cells[f"size/{resolution}/{ratio}"] = table.get(ratio, ABSENT)
    return cells


def simulator_global_cells() -> Cells:
    """The simulator's global limits and formulas, as cells."""
    resolutions = {r for row in sim.MODEL_RULES.values() for r in row.resolutions}
    return {
        "fps": sim.FRAME_RATE,
        "adaptive": sim.ADAPTIVE,
        "ratios": tuple(sim.FIXED_RATIOS),
        "ratio_choices": tuple(sim.RATIO_CHOICES),
        "resolutions": tuple(sorted(resolutions, key=lambda r: (r == "4k", int(r.rstrip("pk"))))),
        "image_side_min_exclusive": sim.IMAGE_SIDE_PX[0],
        "image_side_max_exclusive": sim.IMAGE_SIDE_PX[1],
        "image_aspect_min": sim.IMAGE_ASPECT[0],
        "image_aspect_max": sim.IMAGE_ASPECT[1],
        "image_bytes_below": sim.IMAGE_BYTES_BELOW,
        "video_bytes_max": sim.VIDEO_BYTES_MAX,
        "audio_bytes_max": sim.AUDIO_BYTES_MAX,
        "request_bytes_max": sim.BODY_BYTES_MAX,
        "base_image_formats": tuple(sorted(sim.BASE_IMAGE_FORMATS)),
        "heif_image_formats": tuple(sorted(sim.HEIF_IMAGE_FORMATS)),
        "video_formats": tuple(sorted(sim.VIDEO_FORMATS)),
        "audio_formats": tuple(sorted(sim.AUDIO_FORMATS)),
        "seed_min": sim.SEED_RANGE[0],
        "seed_max": sim.SEED_RANGE[1],
        "expiry_min_s": sim.EXPIRY_RANGE_S[0],
        "expiry_max_s": sim.EXPIRY_RANGE_S[1],
        "priority_max": sim.PRIORITY_RANGE[1],
        "frames_min": sim.FRAME_COUNT_RANGE[0],
        "frames_max": sim.FRAME_COUNT_RANGE[1],
        "frame_counts": tuple(f for f in range(-400, 400) if sim.frame_count_allowed(f)),
        "frames_for_seconds": tuple(sim.frames_in(s) for s in range(1, 31)),
        "tokens": tuple(sim.billed_tokens(w, h, f) for w, h, f in _TOKEN_SAMPLES),
        "adaptive_resolution": tuple(sim.nearest_ratio(w, h) for w, h in _IMAGE_SAMPLES),
    }


# --- shared helpers --------------------------------------------------------------------------------------------------
# Observed usages (§10) plus odd sizes and frame counts, so that rounding differences show.
_TOKEN_SAMPLES = ((1280, 720, 121), (960, 960, 121), (1920, 1088, 121), (1280, 720, 97), (854, 480, 57),
                  (4398, 1886, 361), (301, 5999, 29), (1, 1, 1023), (1, 1, 1024))
# Image sizes across the accepted aspects (0.4..2.5) for how `adaptive` resolves, including near-ties.
_IMAGE_SAMPLES = (*((w, 1000) for w in range(400, 2501, 25)), (1777, 1000), (1400, 1000), (1166, 1000))


def _reference_cells(images: int, videos: int, audios: int, total: int, video_each: tuple[float, float],
                     video_total: float, audio_each: tuple[float, float], audio_total: float,
                     audio_alone: bool) -> Cells:
    """Reference-scenario cells; lengths and the audio rule only mean something where the scenario is offered."""
    cells: Cells = {"ref_images": images, "ref_videos": videos, "ref_audios": audios, "ref_total": total}
    if total > 0:
        cells.update({"ref_video_seconds_each": tuple(video_each), "ref_video_seconds_total": video_total,
                      "ref_audio_seconds_each": tuple(audio_each), "ref_audio_seconds_total": audio_total,
                      "ref_audio_alone": audio_alone})
    return cells


def all_cells(catalog: Mapping[str, product.ModelSpec], rules: Mapping[str, sim.ModelRules],
              product_globals: Cells, simulator_globals: Cells) -> dict[str, tuple[Any, Any]]:
    """Every cell name -> (product value, simulator value); ABSENT where one side lacks the cell."""
    left: Cells = {"global/model_ids": tuple(sorted(catalog)), **{f"global/{k}": v for k, v in product_globals.items()}}
    right: Cells = {"global/model_ids": tuple(sorted(rules)),
                    **{f"global/{k}": v for k, v in simulator_globals.items()}}
    for model_id, spec in catalog.items():
        left.update({f"{model_id}/{k}": v for k, v in product_model_cells(spec).items()})
    for model_id, row in rules.items():
        right.update({f"{model_id}/{k}": v for k, v in simulator_model_cells(row).items()})
    return {name: (left.get(name, ABSENT), right.get(name, ABSENT)) for name in sorted(left.keys() | right.keys())}


def disagreements(cells: Mapping[str, tuple[Any, Any]], known: Mapping[str, Known]) -> list[str]:
    """Cells where the sides differ and no known difference says so, or a known difference no longer holds."""
    found = []
    for name, (left, right) in cells.items():
        entry = known.get(name)
        if entry is None and left != right:
            found.append(f"{name}: product {left!r} != simulator {right!r}")
        elif entry is not None and (left, right) != (entry.product, entry.simulator):
            found.append(f"{name}: known difference {entry.product!r}/{entry.simulator!r} is now {left!r}/{right!r}")
    return found


# Both id families: the product's MODELS and the simulator's MODEL_RULES hold every id of both regions, each row as its
# region names the model, so a Volcengine id missing or misspelt on one side shows in global/model_ids.
CELLS = all_cells(product.MODELS, sim.MODEL_RULES, product_global_cells(), simulator_global_cells())


# --- the tests -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_agrees(name: str) -> None:
    """One cell: equal on both sides, or exactly the deliberate difference recorded for it."""
    assert disagreements({name: CELLS[name]}, KNOWN_DIFFERENCES) == []


@pytest.mark.parametrize("name", list(KNOWN_DIFFERENCES))
def test_known_differences_are_real_cells_with_reasons(name: str) -> None:
    entry = KNOWN_DIFFERENCES[name]
    assert name in CELLS
    assert entry.product != entry.simulator
    assert entry.reason and entry.source


def test_every_listed_capability_is_compared_for_every_model() -> None:
    """The cells cover each model's whole row, so a new field cannot quietly escape the comparison."""
    expected = {"resolutions", "default_resolution", "duration_min", "duration_max", "duration_minus_one",
                "default_duration", "image_formats", "ref_images", "ref_videos", "ref_audios", "ref_total",
                *_FLAGS_PRODUCT}
    assert set(_FLAGS_PRODUCT) == set(_FLAGS_SIMULATOR)
    for model_id, spec in product.MODELS.items():
        names = {n.split("/", 1)[1] for n in CELLS if n.startswith(f"{model_id}/")}
        assert expected <= names, model_id
        sizes = {n for n in names if n.startswith("size/")}
        assert len(sizes) == len(spec.resolutions) * len(product.RATIOS), model_id


def test_the_comparison_reports_an_altered_row() -> None:
    """Proof the contract can fail: an altered copy of a row, on either side, is reported cell by cell."""
    m20 = "dreamina-seedance-2-0-260128"
    catalog = dict(product.MODELS)
    catalog[m20] = dataclasses.replace(catalog[m20], service_tier=True, resolutions=("720p", "1080p", "4k"))
    rules = dict(sim.MODEL_RULES)
    rules[m20] = dataclasses.replace(rules[m20], durations=sim.DurationRule(4, 16, minus_one=True),
                                     size_table=sim.TABLE_2_5)
    found = disagreements(all_cells(catalog, rules, product_global_cells(), simulator_global_cells()),
                          KNOWN_DIFFERENCES)
    assert set(found) == {
        f"{m20}/service_tier_field: product True != simulator False",
        f"{m20}/duration_max: product 15 != simulator 16",
        f"{m20}/resolutions: product ('720p', '1080p', '4k') != simulator ('480p', '720p', '1080p', '4k')",
        # the wrong size table shows in every ratio of the resolutions where the tables differ
        *(f"{m20}/size/480p/{ratio}: product '<absent>' != simulator {sim.OUTPUT_SIZES[sim.TABLE_2_5]['480p'][ratio]}"
          for ratio in sim.FIXED_RATIOS),
        *(f"{m20}/size/4k/{ratio}: product {product.PIXEL_SIZES[product.SizeFamily.V2_0]['4k'][ratio]} "
          "!= simulator '<absent>'" for ratio in sim.FIXED_RATIOS),
    }


def test_the_comparison_reports_a_missing_model_and_a_stale_known_difference() -> None:
    catalog = {k: v for k, v in product.MODELS.items() if k != "dreamina-seedance-2-5-260628"}
    globals_fixed = {**product_global_cells(), "seed_max": 2**32 - 1}  # as if the product adopted the wider bound
    found = disagreements(all_cells(catalog, sim.MODEL_RULES, globals_fixed, simulator_global_cells()),
                          KNOWN_DIFFERENCES)
    assert any(f.startswith("global/model_ids:") for f in found)
    assert any(f.startswith("dreamina-seedance-2-5-260628/draft: product '<absent>'") for f in found)
    assert any(f.startswith("global/seed_max: known difference") for f in found)


@pytest.mark.parametrize("region", list(product.Region), ids=str)
def test_each_region_knows_the_same_ids_on_both_sides(region: product.Region) -> None:
    """Per region, not only in all: a simulator serves only its own region's ids."""
    assert sorted(product.CATALOGS[region]) == sorted(sim.RULES_BY_REGION[region.value])


def test_the_volcengine_ids_are_the_documented_family() -> None:
    """Reference §2: Volcengine prefixes doubao- to all (doubao-seedance-2-0-260128 printed verbatim)."""
    volcengine = product.CATALOGS[product.Region.VOLCENGINE]
    assert "doubao-seedance-2-0-260128" in volcengine
    assert all(i.startswith("doubao-seedance-") and "dreamina" not in i for i in volcengine)
    assert {spec.ids[product.Region.BYTEPLUS] for spec in volcengine.values()} == set(product.CATALOG)
