"""The model catalog: what each Seedance model accepts, what it outputs, and what it costs. Data, not if-chains.

Facts come from the provider's documentation, as compiled with sources in the team's API reference (§2
capabilities, §3.5 pixel sizes, §10 prices). Where the reference marks a fact unconfirmed the entry says so
(`Price.confirmed`, comments tagged [UNCONFIRMED]/[INF]) and the value can be overridden (prices:
`ORCHESTRATOR_PRICES`, see `orchestrator.config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from orchestrator.profiles import PROFILES, Region, volcengine_id

FPS = 24
ADAPTIVE = "adaptive"
RATIOS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
RESOLUTIONS: tuple[str, ...] = ("480p", "720p", "1080p", "4k")
ALL_RATIOS: tuple[str, ...] = (*RATIOS, ADAPTIVE)

# Input media limits (§3.4). Pixel bounds are treated as exclusive: doc revisions disagree on open/closed ends.
IMAGE_MIN_SIDE_PX = 300
IMAGE_MAX_SIDE_PX = 6000
IMAGE_MIN_ASPECT = 0.4
IMAGE_MAX_ASPECT = 2.5
# "MB" read as 10^6 bytes: the docs do not say which, and the smaller reading never lets a refused file through.
IMAGE_MAX_BYTES = 30_000_000
VIDEO_MAX_BYTES = 200_000_000  # current docs; the 2.0 launch docs said 50 MB
AUDIO_MAX_BYTES = 15_000_000
REQUEST_MAX_BYTES = 64_000_000
BASE_IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"})
HEIF_IMAGE_FORMATS = BASE_IMAGE_FORMATS | {"heic", "heif"}
VIDEO_FORMATS = frozenset({"mp4", "mov"})
AUDIO_FORMATS = frozenset({"wav", "mp3"})

SEED_MIN = -1
SEED_MAX = 2_147_483_647  # the OpenAPI bound; prose docs say 2^32-1, so we keep to the stricter one
EXPIRES_MIN_S = 3600
EXPIRES_MAX_S = 259_200
PRIORITY_MAX = 9
FRAMES_MIN = 29
FRAMES_MAX = 289


class SizeFamily(StrEnum):
    """Models that share one output pixel-size table."""

    V1_0 = "1.0"
    V2_0 = "1.5/2.0"
    V2_5 = "2.5"


def _table(rows: Mapping[str, tuple[tuple[int, int], ...]]) -> Mapping[str, Mapping[str, tuple[int, int]]]:
    return MappingProxyType(
        {res: MappingProxyType(dict(zip(RATIOS, sizes, strict=True))) for res, sizes in rows.items()}
    )


_SIZES_2_0_HIGH = {
    "720p": ((1280, 720), (1112, 834), (960, 960), (834, 1112), (720, 1280), (1470, 630)),
    "1080p": ((1920, 1080), (1664, 1248), (1440, 1440), (1248, 1664), (1080, 1920), (2206, 946)),
}

# Output W x H per (family, resolution, ratio) in RATIOS order (§3.5).
PIXEL_SIZES: Mapping[SizeFamily, Mapping[str, Mapping[str, tuple[int, int]]]] = MappingProxyType({
    SizeFamily.V1_0: _table({
        "480p": ((864, 480), (736, 544), (640, 640), (544, 736), (480, 864), (960, 416)),
        "720p": ((1248, 704), (1120, 832), (960, 960), (832, 1120), (704, 1248), (1504, 640)),
        "1080p": ((1920, 1088), (1664, 1248), (1440, 1440), (1248, 1664), (1088, 1920), (2176, 928)),
    }),
    SizeFamily.V2_0: _table({
        "480p": ((864, 496), (752, 560), (640, 640), (560, 752), (496, 864), (992, 432)),
        **_SIZES_2_0_HIGH,
        "4k": ((3840, 2160), (3326, 2494), (2880, 2880), (2494, 3326), (2160, 3840), (4398, 1886)),
    }),
    SizeFamily.V2_5: _table({
        "480p": ((854, 480), (752, 560), (640, 640), (560, 752), (480, 854), (992, 432)),
        **_SIZES_2_0_HIGH,
    }),
})


@dataclass(frozen=True)
class Price:
    """Price per million output tokens, online tier, in its table's currency; variants where the provider prices
    differently."""

    per_mtok: float
    silent_per_mtok: float | None = None  # generate_audio=false (1.5 pro halves the price)
    video_input_per_mtok: float | None = None  # 2.x requests with a reference video
    confirmed: bool = True
    source: str = ""


FLEX_PRICE_FACTOR = 0.5  # flex (offline) tier is 50 % of online [DOC]


@dataclass(frozen=True)
class Durations:
    """Allowed whole-second durations; `auto` allows -1 (the model chooses)."""

    low: int
    high: int
    auto: bool

    def allows(self, seconds: int) -> bool:
        """True when the provider accepts this duration."""
        return (self.auto and seconds == -1) or self.low <= seconds <= self.high

    def describe(self) -> str:
        """Human form, e.g. '4..15 or -1'."""
        return f"{self.low}..{self.high}" + (" or -1" if self.auto else "")


@dataclass(frozen=True)
class References:
    """Multimodal reference limits; all zero for models without the reference scenario."""

    images: int = 0
    videos: int = 0
    audios: int = 0
    total: int = 0
    video_seconds_each: tuple[float, float] = (2.0, 15.0)
    video_seconds_total: float = 15.0
    audio_seconds_each: tuple[float, float] = (2.0, 15.0)
    audio_seconds_total: float = 15.0
    audio_alone: bool = False  # 2.0 series need at least one image or video beside audio


@dataclass(frozen=True)
class ModelSpec:
    """Everything the orchestrator needs to know about one model, as one region names and prices it.

    The same model has one id per region (`ids`); `in_region` gives the view whose `id` and `prices` are that
    region's, so code that reads `model.id` sends and shows the id of the run's region.
    """

    id: str  # in `region`'s family
    label: str
    family: SizeFamily
    resolutions: tuple[str, ...]
    default_resolution: str
    durations: Durations
    default_duration: int
    first_last_frame: bool
    references: References
    generate_audio: bool
    draft: bool
    flex: bool
    service_tier: bool  # accepts the service_tier field at all (2.x: "does not support configuring this parameter")
    frames: bool
    camera_fixed: bool
    priority: bool
    image_formats: frozenset[str]
    usd_prices: Mapping[str, Price]  # BytePlus, by resolution; "*" applies to every resolution not listed
    cny_prices: Mapping[str, Price] = field(default_factory=lambda: MappingProxyType({}))  # Volcengine, likewise
    t2v_adaptive: bool = True  # 1.0 text-to-video cannot use ratio adaptive
    frames_need_adaptive: bool = False  # [INF] 2.5 frame-conditioned requests accept only ratio adaptive
    deactivates: date | None = None
    replacement: str | None = None
    text_to_video: bool = True  # every current model; kept as data for the simulator and future models
    first_frame: bool = True
    region: Region = Region.BYTEPLUS
    ids: Mapping[Region, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def prices(self) -> Mapping[str, Price]:
        """This region's price table, in its currency."""
        return self.prices_in(PROFILES[self.region].currency.code)

    def prices_in(self, currency: str) -> Mapping[str, Price]:
        """The price table in USD or CNY."""
        return self.cny_prices if currency == "CNY" else self.usd_prices

    def in_region(self, region: Region) -> ModelSpec:
        """The same model as `region` names and prices it."""
        if region is self.region:
            return self
        replacement = None if self.replacement is None else CATALOG[self.replacement].ids[region]
        return replace(self, id=self.ids[region], region=region, replacement=replacement)

    def price_for(self, resolution: str) -> Price:
        """The price entry that applies at this resolution."""
        return self.prices.get(resolution) or self.prices["*"]

    def size(self, resolution: str, ratio: str) -> tuple[int, int]:
        """Output pixel size for a concrete ratio (not adaptive)."""
        return PIXEL_SIZES[self.family][resolution][ratio]


_REFS_2_0 = References(images=9, videos=3, audios=3, total=15)
_REFS_2_5 = References(
    images=30, videos=10, audios=10, total=50,
    video_seconds_each=(2.0, 30.0), video_seconds_total=30.0,
    audio_seconds_each=(2.0, 30.0), audio_seconds_total=30.0, audio_alone=True,
)
_D_1_0 = Durations(2, 12, auto=False)
_D_2_0 = Durations(4, 15, auto=True)
_UNCONFIRMED = "[UNCONFIRMED] no published BytePlus USD price"

_PRICE_2_0: Mapping[str, Price] = MappingProxyType({
    "480p": Price(7.0, video_input_per_mtok=4.3, source="BytePlus pricing digest (JPG)"),
    "720p": Price(7.0, video_input_per_mtok=4.3, source="BytePlus pricing digest (JPG)"),
    "1080p": Price(7.7, video_input_per_mtok=4.7, source="BytePlus pricing digest (JPG)"),
    "4k": Price(4.0, video_input_per_mtok=2.4, source="BytePlus pricing digest (JPG)"),
})
# 2.0 fast scaled from 2.0 by the Volcengine CNY ratio (37/46 online, 22/28 with video input).
_PRICE_2_0_FAST: Mapping[str, Price] = MappingProxyType({
    "*": Price(5.63, video_input_per_mtok=3.38, confirmed=False,
               source=f"{_UNCONFIRMED}; 2.0 price x Volcengine fast/2.0 ratio"),
})

# Volcengine CNY per 1M tokens (§10: "[3P consistent + VOLC model cards]"): 1.0 pro 15, 1.0 pro fast 4.2, 1.5 pro 16
# with audio / 8 silent, 2.0 46 / 28 with video input, 2.0 fast 37 / 22. One number per model: Volcengine publishes no
# per-resolution split, while BytePlus prices 2.0 at 1080p and 4k apart from 480p/720p, so 2.0's 1080p and 4k stay
# estimates. 2.0 mini and 2.5 have no published CNY price.
_VOLC = "Volcengine price (reference §10: model cards, consistent third-party lists)"
_UNCONFIRMED_CNY = "[UNCONFIRMED] no published Volcengine CNY price"
_CNY_2_0 = Price(46.0, video_input_per_mtok=28.0, source=_VOLC)
_CNY_2_0_SPLIT = Price(46.0, video_input_per_mtok=28.0, confirmed=False,
                       source=f"{_VOLC}; one price published, BytePlus prices this resolution apart [UNCONFIRMED]")
_CNY_2_0_FAST = Price(37.0, video_input_per_mtok=22.0, source=_VOLC)


def _cny(price: Price) -> Mapping[str, Price]:
    return MappingProxyType({"*": price})


CNY_PRICES: Mapping[str, Mapping[str, Price]] = MappingProxyType({  # by BytePlus id
    "seedance-1-0-pro-250528": _cny(Price(15.0, source=_VOLC)),
    "seedance-1-0-pro-fast-251015": _cny(Price(4.2, source=_VOLC)),
    "seedance-1-5-pro-251215": _cny(Price(16.0, silent_per_mtok=8.0, source=_VOLC)),
    "dreamina-seedance-2-0-260128": MappingProxyType({
        "480p": _CNY_2_0, "720p": _CNY_2_0, "1080p": _CNY_2_0_SPLIT, "4k": _CNY_2_0_SPLIT}),
    "dreamina-seedance-2-0-fast-260128": _cny(_CNY_2_0_FAST),
    # Upper bound, as for its USD estimate: 2.0 mini is the smaller sibling of 2.0 fast.
    "dreamina-seedance-2-0-mini-260615": _cny(Price(37.0, video_input_per_mtok=22.0, confirmed=False,
                                                    source=f"{_UNCONFIRMED_CNY}; 2.0 fast price as upper bound")),
    "dreamina-seedance-2-5-260628": _cny(Price(46.0, video_input_per_mtok=28.0, confirmed=False,
                                               source=f"{_UNCONFIRMED_CNY}; 2.0 price assumed")),
})


def _with_regions(spec: ModelSpec) -> ModelSpec:
    """A BytePlus row completed with its Volcengine id and CNY prices."""
    ids = MappingProxyType({Region.BYTEPLUS: spec.id, Region.VOLCENGINE: volcengine_id(spec.id)})
    return replace(spec, ids=ids, cny_prices=CNY_PRICES[spec.id])


# Keyed by BytePlus id (the BytePlus view); VOLCENGINE_CATALOG is the same models as Volcengine names and prices them.
CATALOG: Mapping[str, ModelSpec] = MappingProxyType({m.id: _with_regions(m) for m in (
    ModelSpec(
        id="seedance-1-0-pro-250528", label="Seedance 1.0 pro", family=SizeFamily.V1_0,
        resolutions=("480p", "720p", "1080p"), default_resolution="1080p",
        durations=_D_1_0, default_duration=5, first_last_frame=True, references=References(),
        generate_audio=False, draft=False, flex=True, service_tier=True, frames=True, camera_fixed=True,
        priority=False,
        image_formats=BASE_IMAGE_FORMATS, t2v_adaptive=False,
        usd_prices=MappingProxyType({"*": Price(2.5, confirmed=False, source="third-party price lists")}),
    ),
    ModelSpec(
        id="seedance-1-0-pro-fast-251015", label="Seedance 1.0 pro-fast", family=SizeFamily.V1_0,
        resolutions=("480p", "720p", "1080p"), default_resolution="1080p",
        durations=_D_1_0, default_duration=5, first_last_frame=False, references=References(),
        generate_audio=False, draft=False, flex=True, service_tier=True, frames=True, camera_fixed=True,
        priority=False,
        image_formats=BASE_IMAGE_FORMATS, t2v_adaptive=False,
        usd_prices=MappingProxyType({"*": Price(
            0.70, confirmed=False, source=f"{_UNCONFIRMED}; 1.0 pro price x Volcengine fast/pro ratio 0.28"
        )}),
    ),
    ModelSpec(
        id="seedance-1-5-pro-251215", label="Seedance 1.5 pro", family=SizeFamily.V2_0,
        resolutions=("480p", "720p", "1080p"), default_resolution="720p",
        durations=Durations(4, 12, auto=True), default_duration=5, first_last_frame=True,
        references=References(), generate_audio=True, draft=True, flex=True, service_tier=True, frames=False,
        camera_fixed=True, priority=False, image_formats=HEIF_IMAGE_FORMATS,
        usd_prices=MappingProxyType({"*": Price(
            2.4, silent_per_mtok=1.2, confirmed=False, source="third-party price lists (consistent)"
        )}),
        deactivates=date(2026, 11, 11), replacement="dreamina-seedance-2-0-mini-260615",
    ),
    ModelSpec(
        id="dreamina-seedance-2-0-260128", label="Seedance 2.0", family=SizeFamily.V2_0,
        resolutions=("480p", "720p", "1080p", "4k"), default_resolution="720p",
        durations=_D_2_0, default_duration=5, first_last_frame=True, references=_REFS_2_0,
        generate_audio=True, draft=False, flex=False, service_tier=False,
        frames=False, camera_fixed=False, priority=True,
        image_formats=HEIF_IMAGE_FORMATS, usd_prices=_PRICE_2_0,
    ),
    ModelSpec(
        id="dreamina-seedance-2-0-fast-260128", label="Seedance 2.0 fast", family=SizeFamily.V2_0,
        resolutions=("480p", "720p"), default_resolution="720p",
        durations=_D_2_0, default_duration=5, first_last_frame=True, references=_REFS_2_0,
        generate_audio=True, draft=False, flex=False, service_tier=False,
        frames=False, camera_fixed=False, priority=True,
        image_formats=HEIF_IMAGE_FORMATS, usd_prices=_PRICE_2_0_FAST,
    ),
    ModelSpec(
        id="dreamina-seedance-2-0-mini-260615", label="Seedance 2.0 mini", family=SizeFamily.V2_0,
        resolutions=("480p", "720p"), default_resolution="720p",
        durations=_D_2_0, default_duration=5, first_last_frame=True, references=_REFS_2_0,
        generate_audio=True, draft=False, flex=False, service_tier=False,
        frames=False, camera_fixed=False, priority=True,
        image_formats=HEIF_IMAGE_FORMATS,
        # No published price at all: the 2.0 fast estimate is used as an upper bound.
        usd_prices=MappingProxyType({"*": Price(
            5.63, video_input_per_mtok=3.38, confirmed=False, source=f"{_UNCONFIRMED}; 2.0 fast estimate"
        )}),
    ),
    ModelSpec(
        id="dreamina-seedance-2-5-260628", label="Seedance 2.5", family=SizeFamily.V2_5,
        resolutions=("480p", "720p", "1080p"), default_resolution="720p",
        durations=Durations(4, 30, auto=True), default_duration=-1, first_last_frame=True,
        references=_REFS_2_5, generate_audio=True, draft=True, flex=False, service_tier=False, frames=False,
        camera_fixed=False, priority=True, image_formats=HEIF_IMAGE_FORMATS, frames_need_adaptive=True,
        usd_prices=MappingProxyType({
            res: Price(p.per_mtok, video_input_per_mtok=p.video_input_per_mtok, confirmed=False,
                       source=f"{_UNCONFIRMED}; 2.0 price assumed")
            for res, p in _PRICE_2_0.items() if res != "4k"
        }),
    ),
)})

VOLCENGINE_CATALOG: Mapping[str, ModelSpec] = MappingProxyType({
    spec.ids[Region.VOLCENGINE]: spec.in_region(Region.VOLCENGINE) for spec in CATALOG.values()
})
CATALOGS: Mapping[Region, Mapping[str, ModelSpec]] = MappingProxyType({
    Region.BYTEPLUS: CATALOG, Region.VOLCENGINE: VOLCENGINE_CATALOG,
})
# Every id of every region -> the model as that id's region names it.
MODELS: Mapping[str, ModelSpec] = MappingProxyType({**CATALOG, **VOLCENGINE_CATALOG})

# Deactivated on BytePlus 2026-05-13; kept so that old storyboards get a clear message instead of "unknown".
RETIRED_MODELS: Mapping[str, str] = MappingProxyType({
    "seedance-1-0-lite-t2v-250428": "dreamina-seedance-2-0-mini-260615",
    "seedance-1-0-lite-i2v-250428": "dreamina-seedance-2-0-mini-260615",
})


def frames_for(seconds: int) -> int:
    """Frames the provider renders for a whole-second duration (24 fps plus the first frame)."""
    return FPS * seconds + 1


def estimate_tokens(width: int, height: int, frames: int) -> int:
    """Completion tokens the provider bills for one clip: floor(W*H*frames/1024)."""
    return width * height * frames // 1024


def closest_ratio(width: int, height: int) -> str:
    """The concrete ratio whose aspect is nearest to width/height (how `adaptive` resolves for an image)."""
    aspect = width / height
    return min(RATIOS, key=lambda r: abs(_aspect(r) - aspect))


def _aspect(ratio: str) -> float:
    w, h = ratio.split(":")
    return int(w) / int(h)


def largest_size(model: ModelSpec, resolution: str) -> tuple[int, int]:
    """The output size with the most pixels at a resolution: an upper bound when the ratio is unknown."""
    return max(PIXEL_SIZES[model.family][resolution].values(), key=lambda s: s[0] * s[1])
