"""The simulated provider's own rule table: what each model id accepts and outputs, as the provider documents it.

Transcribed from the provider's documentation (the BytePlus ModelArk video-generation tutorial and API reference, and
Volcengine Ark's, compiled with their sources in the team's API reference, cited as §n) and from the provider's own
create-task page (https://docs.byteplus.com/en/docs/ModelArk/1520757, cited as "create page"), never from the
product's model catalog: the
simulator is what the product is tested against, so a mistake in the product's catalog must not pass on both sides.
`tests/simulator/test_contract.py` compares the two tables cell by cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

# --- output geometry -------------------------------------------------------------------------------------------------
FRAME_RATE = 24  # §2 "FPS / container" row: 24 for every model; create page "frame rate (24)"
ADAPTIVE = "adaptive"
FIXED_RATIOS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")  # §3.1 ratio enum, §3.5 column order
RATIO_CHOICES: tuple[str, ...] = (*FIXED_RATIOS, ADAPTIVE)

# Size tables by the §3.5 column headers; 1.5 pro shares the 2.0 series table (§3.5, create page pixel table).
TABLE_1_0 = "1.0 series"
TABLE_2_0 = "1.5 pro & 2.0 series"
TABLE_2_5 = "2.5"

Size = tuple[int, int]


def _row(cells: str) -> Mapping[str, Size]:
    """One §3.5 row, written as the reference prints it ('864x480 736x544 ...' in FIXED_RATIOS order)."""
    sizes = [tuple(int(n) for n in cell.split("x")) for cell in cells.split()]
    return MappingProxyType({ratio: (w, h) for ratio, (w, h) in zip(FIXED_RATIOS, sizes, strict=True)})


_720P_2_0 = _row("1280x720 1112x834 960x960 834x1112 720x1280 1470x630")
_1080P_2_0 = _row("1920x1080 1664x1248 1440x1440 1248x1664 1080x1920 2206x946")

# W x H per (table, resolution, ratio) [§3.5; the 1.0 and 1.5/2.0 columns also on the create page].
OUTPUT_SIZES: Mapping[str, Mapping[str, Mapping[str, Size]]] = MappingProxyType({
    TABLE_1_0: MappingProxyType({
        "480p": _row("864x480 736x544 640x640 544x736 480x864 960x416"),
        "720p": _row("1248x704 1120x832 960x960 832x1120 704x1248 1504x640"),
        "1080p": _row("1920x1088 1664x1248 1440x1440 1248x1664 1088x1920 2176x928"),
    }),
    TABLE_2_0: MappingProxyType({
        "480p": _row("864x496 752x560 640x640 560x752 496x864 992x432"),
        "720p": _720P_2_0,
        "1080p": _1080P_2_0,
        "4k": _row("3840x2160 3326x2494 2880x2880 2494x3326 2160x3840 4398x1886"),  # "4k (2.0 only)"
    }),
    TABLE_2_5: MappingProxyType({
        "480p": _row("854x480 752x560 640x640 560x752 480x854 992x432"),
        "720p": _720P_2_0,  # "as 2.0"
        "1080p": _1080P_2_0,  # "as 2.0"
    }),
})

# --- global request limits -------------------------------------------------------------------------------------------
# §3.4 images. The side bounds are exclusive: doc revisions print both [ ] and ( ), and BP-OLD says "shorter side
# > 300 px, longer side < 6000 px"; the aspect bounds (0.4-2.5) are inclusive.
IMAGE_SIDE_PX = (300, 6000)
IMAGE_ASPECT = (0.4, 2.5)
IMAGE_BYTES_BELOW = 30_000_000  # "< 30 MB each"; MB read as 10^6 bytes (the docs do not say which)
BASE_IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"})  # §3.4
HEIF_IMAGE_FORMATS = BASE_IMAGE_FORMATS | {"heic", "heif"}  # §3.4 "+heic/heif for 1.5 pro and 2.x"
VIDEO_FORMATS = frozenset({"mp4", "mov"})  # §3.4 video table
VIDEO_BYTES_MAX = 200_000_000  # §3.4 current docs "≤200 MB each" (the 2.0 launch docs said 50 MB)
AUDIO_FORMATS = frozenset({"wav", "mp3"})  # §3.4 audio
AUDIO_BYTES_MAX = 15_000_000  # §3.4 "≤15 MB each"
BODY_BYTES_MAX = 64_000_000  # §3.4 "request body ≤ 64 MB"

SEED_RANGE = (-1, 2**32 - 1)  # create page "Value range: Integer between [-1, 2^32-1]"; §3.1 the same
EXPIRY_RANGE_S = (3600, 259_200)  # §3.1, create page "Required range: 3600 <= x <= 259200"
EXPIRY_DEFAULT_S = 172_800  # §3.1, create page "default:172800"
PRIORITY_RANGE = (0, 9)  # §3.1, create page "Required range: 0 <= x <= 9"
FRAME_COUNT_RANGE = (29, 289)  # §3.1, create page: "[29, 289] that fit the format 25 + 4n"
FRAME_COUNT_BASE, FRAME_COUNT_STEP = 25, 4


def frame_count_allowed(frames: int) -> bool:
    """The `frames` rule: 25+4n within [29, 289] (§3.1, create page)."""
    low, high = FRAME_COUNT_RANGE
    return low <= frames <= high and (frames - FRAME_COUNT_BASE) % FRAME_COUNT_STEP == 0


def frames_in(seconds: int) -> int:
    """Frames rendered for whole seconds: 24 per second plus the first (§10, matches every observed usage)."""
    return FRAME_RATE * seconds + 1


def billed_tokens(width: int, height: int, frames: int) -> int:
    """Completion tokens of one clip: floor(W*H*frames/1024) (§10)."""
    return (width * height * frames) // 1024


def nearest_ratio(width: int, height: int) -> str:
    """The fixed ratio closest to an image's aspect: how `adaptive` resolves for frame input (§3.5, create page)."""
    aspect = width / height

    def distance(ratio: str) -> float:
        across, down = ratio.split(":")
        return abs(int(across) / int(down) - aspect)

    return min(FIXED_RATIOS, key=distance)  # ties go to the earlier ratio of the enum


# --- per-model rows --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DurationRule:
    """Whole seconds a model accepts in `duration`; `minus_one` allows -1 ("the model chooses", §3.1)."""

    shortest: int
    longest: int
    minus_one: bool

    def accepts(self, seconds: int) -> bool:
        """True when the provider takes this `duration` value."""
        return self.shortest <= seconds <= self.longest or (self.minus_one and seconds == -1)

    def describe(self) -> str:
        """Human form for error messages, e.g. '4..15 or -1'."""
        return f"{self.shortest}..{self.longest}" + (" or -1" if self.minus_one else "")


@dataclass(frozen=True)
class ReferenceRule:
    """The multimodal-reference scenario (§2, §3.3, §3.4): counts per kind and in total, and clip lengths."""

    images: int
    videos: int
    audios: int
    items: int
    video_clip_s: tuple[float, float]
    video_sum_s: float
    audio_clip_s: tuple[float, float]
    audio_sum_s: float
    audio_without_visual: bool  # 2.0 series: audio "needs ≥1 image or video"; 2.5: "may be alone"

    @property
    def offered(self) -> bool:
        """False for models without the reference scenario."""
        return self.items > 0


NO_REFERENCES = ReferenceRule(0, 0, 0, 0, (0.0, 0.0), 0.0, (0.0, 0.0), 0.0, audio_without_visual=False)
# §2 "1-9 / ≤3, Σ≤15 s / ≤3", totals "2.0 series ≤15 (9+3+3)"; §3.4 "2.0: 2-15 s each, ≤3, Σ≤15 s" (video and audio).
REFERENCES_2_0 = ReferenceRule(9, 3, 3, 15, (2.0, 15.0), 15.0, (2.0, 15.0), 15.0, audio_without_visual=False)
# §2 "1-30 / ≤10, Σ≤30 s / ≤10, may be alone", totals "2.5 ≤50 (30+10+10)"; §3.4 "2.5: 2-30 s, ≤10, Σ≤30 s".
REFERENCES_2_5 = ReferenceRule(30, 10, 10, 50, (2.0, 30.0), 30.0, (2.0, 30.0), 30.0, audio_without_visual=True)


@dataclass(frozen=True)
class ModelRules:
    """What one model id accepts and outputs. Flags named after a body field gate that field (§3.1)."""

    id: str
    size_table: str  # key of OUTPUT_SIZES
    resolutions: tuple[str, ...]
    default_resolution: str
    durations: DurationRule
    default_duration: int
    frames: bool
    text_to_video: bool
    first_frame: bool
    first_last_frame: bool
    references: ReferenceRule
    generate_audio: bool
    draft: bool
    flex_tier: bool  # service_tier "flex" (offline) is offered
    accepts_service_tier: bool  # the field at all: the 2.x series "does not support configuring this parameter"
    camera_fixed: bool
    priority: bool
    t2v_refuses_adaptive: bool  # 1.0 series: text-to-video cannot use ratio adaptive
    framed_needs_adaptive: bool  # 2.5: first(/last)-frame requests take ratio adaptive only
    image_formats: frozenset[str]

    def output_size(self, resolution: str, ratio: str) -> Size:
        """Output W x H for a fixed ratio at one of this model's resolutions (§3.5)."""
        return OUTPUT_SIZES[self.size_table][resolution][ratio]


_RES_1X = ("480p", "720p", "1080p")  # §2 Resolutions: 1.5 pro "480p,720p,1080p", 1.0 pro and pro fast "same"
_RES_SMALL = ("480p", "720p")  # §2: 2.0 fast and 2.0 mini; create page "1080p: Not supported by Seedance 2.0 Fast"
_SECONDS_1_0 = DurationRule(2, 12, minus_one=False)  # §2 "2-12"; create page "[2, 12] s"
_SECONDS_2_0 = DurationRule(4, 15, minus_one=True)  # §2 "4-15 or -1"; create page "[4,15] or set to -1"

# One row per BytePlus model id of §2. Sources per column: resolutions, durations, text/first/first+last frame,
# references, generate_audio, draft, flex: §2 matrix. Default resolution: §3.1 (1080p for 1.0 pro/pro fast, else
# 720p). Default duration: §3.1 "5 (2.5: -1)". frames: §3.1 "1.0 pro/pro-fast only". service_tier field: create page
# (2.0 series online only; 2.5 is of that line, §2 groups it with the 2.x). camera_fixed: §3.1 "not currently
# supported by 2.0 series" (2.5 alike [INF]). priority: §3.1 "2.x only". Adaptive rules: §3.1 ratio notes. Image
# formats: §3.4.
_ROWS = (
    ModelRules(
        id="seedance-1-0-pro-250528", size_table=TABLE_1_0, resolutions=_RES_1X, default_resolution="1080p",
        durations=_SECONDS_1_0, default_duration=5, frames=True,
        text_to_video=True, first_frame=True, first_last_frame=True, references=NO_REFERENCES,
        generate_audio=False, draft=False, flex_tier=True, accepts_service_tier=True, camera_fixed=True,
        priority=False, t2v_refuses_adaptive=True, framed_needs_adaptive=False, image_formats=BASE_IMAGE_FORMATS,
    ),
    ModelRules(
        id="seedance-1-0-pro-fast-251015", size_table=TABLE_1_0, resolutions=_RES_1X, default_resolution="1080p",
        durations=_SECONDS_1_0, default_duration=5, frames=True,
        text_to_video=True, first_frame=True, first_last_frame=False, references=NO_REFERENCES,  # §2 "First+last ✗"
        generate_audio=False, draft=False, flex_tier=True, accepts_service_tier=True, camera_fixed=True,
        priority=False, t2v_refuses_adaptive=True, framed_needs_adaptive=False, image_formats=BASE_IMAGE_FORMATS,
    ),
    ModelRules(
        id="seedance-1-5-pro-251215", size_table=TABLE_2_0, resolutions=_RES_1X, default_resolution="720p",
        durations=DurationRule(4, 12, minus_one=True), default_duration=5, frames=False,  # §2 "4-12 or -1"
        text_to_video=True, first_frame=True, first_last_frame=True, references=NO_REFERENCES,
        generate_audio=True, draft=True, flex_tier=True, accepts_service_tier=True, camera_fixed=True,
        priority=False, t2v_refuses_adaptive=False, framed_needs_adaptive=False, image_formats=HEIF_IMAGE_FORMATS,
    ),
    ModelRules(
        id="dreamina-seedance-2-0-260128", size_table=TABLE_2_0, resolutions=(*_RES_1X, "4k"),
        default_resolution="720p", durations=_SECONDS_2_0, default_duration=5, frames=False,
        text_to_video=True, first_frame=True, first_last_frame=True, references=REFERENCES_2_0,
        generate_audio=True, draft=False, flex_tier=False, accepts_service_tier=False, camera_fixed=False,
        priority=True, t2v_refuses_adaptive=False, framed_needs_adaptive=False, image_formats=HEIF_IMAGE_FORMATS,
    ),
    ModelRules(
        id="dreamina-seedance-2-0-fast-260128", size_table=TABLE_2_0, resolutions=_RES_SMALL,
        default_resolution="720p", durations=_SECONDS_2_0, default_duration=5, frames=False,
        text_to_video=True, first_frame=True, first_last_frame=True, references=REFERENCES_2_0,
        generate_audio=True, draft=False, flex_tier=False, accepts_service_tier=False, camera_fixed=False,
        priority=True, t2v_refuses_adaptive=False, framed_needs_adaptive=False, image_formats=HEIF_IMAGE_FORMATS,
    ),
    ModelRules(
        id="dreamina-seedance-2-0-mini-260615", size_table=TABLE_2_0, resolutions=_RES_SMALL,
        default_resolution="720p", durations=_SECONDS_2_0, default_duration=5, frames=False,
        text_to_video=True, first_frame=True, first_last_frame=True, references=REFERENCES_2_0,
        generate_audio=True, draft=False, flex_tier=False, accepts_service_tier=False, camera_fixed=False,
        priority=True, t2v_refuses_adaptive=False, framed_needs_adaptive=False, image_formats=HEIF_IMAGE_FORMATS,
    ),
    ModelRules(
        id="dreamina-seedance-2-5-260628", size_table=TABLE_2_5, resolutions=_RES_1X, default_resolution="720p",
        durations=DurationRule(4, 30, minus_one=True), default_duration=-1, frames=False,  # §2 "4-30 or -1, default -1"
        text_to_video=True, first_frame=True, first_last_frame=True, references=REFERENCES_2_5,
        generate_audio=True, draft=True, flex_tier=False, accepts_service_tier=False, camera_fixed=False,
        priority=True, t2v_refuses_adaptive=False, framed_needs_adaptive=True, image_formats=HEIF_IMAGE_FORMATS,
    ),
)

# --- regions ---------------------------------------------------------------------------------------------------------
# §1: API keys, endpoints and model activation are region-scoped. §2: "Volcengine uses the doubao- prefix for all
# (e.g. doubao-seedance-2-0-260128)": the example drops BytePlus's `dreamina-` brand, so the rest are read the same way
# ([INF] beyond that one example).
BYTEPLUS = "byteplus"
VOLCENGINE = "volcengine"
REGIONS: tuple[str, ...] = (BYTEPLUS, VOLCENGINE)


def _volcengine_row(row: ModelRules) -> ModelRules:
    return replace(row, id="doubao-" + row.id.removeprefix("dreamina-"))


RULES_BY_REGION: Mapping[str, Mapping[str, ModelRules]] = MappingProxyType({
    BYTEPLUS: MappingProxyType({row.id: row for row in _ROWS}),
    VOLCENGINE: MappingProxyType({r.id: r for r in map(_volcengine_row, _ROWS)}),
})
# Every id of both regions (what the contract test compares); a simulator serves only its own region's.
MODEL_RULES: Mapping[str, ModelRules] = MappingProxyType({
    model_id: row for rules in RULES_BY_REGION.values() for model_id, row in rules.items()
})
