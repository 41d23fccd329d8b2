"""The storyboard format, version 1 (DESIGN.md §4), as pydantic models.

Unknown keys are errors (`extra="forbid"`): the provider silently ignores misspelled fields and applies its
defaults, which costs money. Scalars are strict (no "5" for 5) for the same reason. Rules that depend on the
model, on files or on other shots live in `orchestrator.storyboard.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from orchestrator.models import (
    EXPIRES_MAX_S,
    EXPIRES_MIN_S,
    PRIORITY_MAX,
    SEED_MAX,
    SEED_MIN,
)
from orchestrator.profiles import ENDPOINT_PATTERN
from orchestrator.storyboard.limits import PROMPT_CHARS_MAX, TEXT_CHARS_MAX

SCHEMA_VERSION = 1
SHOT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# A chain of more links than this gets a warning: on the simulator's drift model (measured in BENCHMARKS.md) a
# chain's colour passes the report's limit after this many links.
MAX_CHAIN_LINKS = 4
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"  # a file name on every common filesystem (limits.py)

Resolution = Literal["480p", "720p", "1080p", "4k"]
Ratio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"]
ShotId = Annotated[str, StringConstraints(pattern=SHOT_ID_PATTERN)]
OutputName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
EndpointId = Annotated[str, StringConstraints(pattern=ENDPOINT_PATTERN)]
MediaSource = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_CHARS_MAX)]  # also any non-empty id
Text = Annotated[str, StringConstraints(max_length=TEXT_CHARS_MAX)]
Prompt = Annotated[str, StringConstraints(max_length=PROMPT_CHARS_MAX)]
_REFERENCES_MAX = 100  # per kind; the provider takes at most 9 images (30 on 2.5): a bound on what is checked


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GenerationParams(_Strict):
    """Parameters sent to the provider; in `defaults` or on a shot (the shot wins)."""

    model: Text | None = Field(None, description="Model ID, e.g. dreamina-seedance-2-0-260128, or an ep-... endpoint")
    resolution: Resolution | None = None
    ratio: Ratio | None = Field(None, description="Quote it in YAML: \"16:9\". Chained shots default to adaptive.")
    duration: int | None = Field(None, description="Whole seconds; range depends on the model; -1 = model decides")
    frames: int | None = Field(None, description="1.0 pro models only: 25+4n in 29..289; wins over duration")
    seed: int | None = Field(None, ge=SEED_MIN, le=SEED_MAX)
    generate_audio: bool | None = None
    watermark: bool | None = None
    camera_fixed: bool | None = None
    service_tier: Literal["default", "flex"] | None = None
    execution_expires_after: int | None = Field(None, ge=EXPIRES_MIN_S, le=EXPIRES_MAX_S)
    priority: int | None = Field(None, ge=0, le=PRIORITY_MAX)


GENERATION_KEYS: tuple[str, ...] = tuple(GenerationParams.model_fields)


class Defaults(GenerationParams):
    """Generation parameters every shot starts from."""


class References(_Strict):
    """Multimodal reference media (2.x models): files or https:// / asset:// URLs."""

    images: list[MediaSource] = Field(default_factory=list, max_length=_REFERENCES_MAX)
    videos: list[MediaSource] = Field(default_factory=list, max_length=_REFERENCES_MAX)
    audios: list[MediaSource] = Field(default_factory=list, max_length=_REFERENCES_MAX)

    def count(self) -> int:
        """Number of reference items of every kind."""
        return len(self.images) + len(self.videos) + len(self.audios)


class Shot(GenerationParams):
    """One generation task: a prompt, its settings, and how it starts (image, parent's last frame, or nothing)."""

    id: ShotId
    prompt: Prompt | None = None
    first_frame: MediaSource | None = Field(None, description="Image file or https:// URL; not with `after`")
    last_frame: MediaSource | None = Field(None, description="Keyframe the shot ends on (first+last frame mode)")
    references: References | None = None
    after: Text | None = Field(None, description="Parent shot: this shot starts on its parent's last frame")
    handoff: Literal["first_frame", "reference"] | None = Field(
        None, description="How the parent's last frame is sent: as first_frame (default) or reference image 1"
    )
    takes: int = Field(1, ge=1, le=10, description="Alternates: make this many takes with different seeds, in "
                       "parallel; children start from the first that finishes unless one is picked")
    review: bool = Field(False, description="A review gate: this shot's children wait until its take is approved "
                         "(`orchestrator approve`)")


class Assembly(_Strict):
    """How each output's clips are joined into one film."""

    transition: Literal["cut", "crossfade"] = "cut"
    crossfade_seconds: float = Field(0.5, gt=0, le=5)
    audio: Literal["clips", "soundtrack", "mute"] = "clips"
    soundtrack: MediaSource | None = None
    soundtrack_mix: Literal["duck", "replace"] = Field(
        "duck", description="duck: the soundtrack plays under the clips' own sound, pushed down while it plays; "
        "replace: the soundtrack alone"
    )
    loudness_lufs: float | None = Field(-14.0, ge=-70, le=-5)
    fade_out_seconds: float = Field(1.0, ge=0, le=10, description="Every film's sound fades out over its last "
                                    "this many seconds (0: off), so no film ends on a click")
    color_anchor: Literal["root", "off"] = Field(
        "off", description="root: grade each clip of a chain toward the colour of its chain's first frame, ramped "
        "along the clip so no seam shows a step (what is sent to the provider is never changed); off: films show "
        "the clips as generated")
    max_chain_links: int | None = Field(
        MAX_CHAIN_LINKS, ge=1, le=1000, description="validate and plan warn when a chain runs more than this many "
        "links from its first shot or its last keyframe (colour and detail drift link by link); null: never warn")


class Trim(_Strict):
    """The part of an output's film that is kept: a cut-down's in and out points, in seconds of the assembled film
    (at 24 fps, to the nearest frame)."""

    start: float = Field(0.0, ge=0, description="In point: seconds cut from the film's start")
    end: float | None = Field(None, gt=0, description="Out point: where the kept part ends, in seconds from the "
                              "film's start; default: the film's end")


class Output(_Strict):
    """One film: its shots in order, and how it is delivered. Written as a plain list of shot ids when the
    delivery is the default."""

    shots: list[Text] = Field(min_length=1, description="Shot ids in order")
    size: Literal["source", "720p", "1080p"] = Field(
        "source", description="source: the provider's size (e.g. 864x496 at 480p); 720p / 1080p: the standard "
        "frame of the storyboard's ratio with that short side (1280x720, 1920x1080 for 16:9)")
    fit: Literal["crop", "pad"] | None = Field(
        None, description="When the clips' shape differs from the film's: crop fills the frame and cuts the excess "
        "at the edges, pad letterboxes; default: crop for a preset, pad for the source size")
    fps: Literal[24, 25, 30] = Field(24, description="Frame rate; 25 and 30 repeat frames (no interpolation)")
    trim: Trim | None = None
    soundtrack: MediaSource | None = Field(None, description="This film's own soundtrack (instead of "
                                           "assembly.soundtrack); its sound then comes from it as with audio: "
                                           "soundtrack")
    loudness_lufs: float | None = Field(None, ge=-70, le=-5, description="This film's loudness target; default: "
                                        "assembly.loudness_lufs (null here turns it off for this film)")
    fade_out_seconds: float | None = Field(None, ge=0, le=10, description="This film's audio fade-out; default: "
                                           "assembly.fade_out_seconds")
    _listed: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _from_list(cls, data: Any, handler: ModelWrapValidatorHandler[Output]) -> Output:
        if not isinstance(data, list):
            return handler(data)
        made = handler({"shots": data})
        made._listed = True
        return made

    @property
    def listed(self) -> bool:
        """Written as a plain list of shot ids (errors in it are located at `outputs.NAME[i]`)."""
        return self._listed

    def entry_path(self, name: str, pos: int) -> tuple[str | int, ...]:
        """The data path of entry `pos`, as the file writes it."""
        return ("outputs", name, pos) if self._listed else ("outputs", name, "shots", pos)


class Storyboard(_Strict):
    """A whole storyboard file."""

    version: Literal[1]
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] | None = Field(
        None, description="Run name; default: the file name without extension"
    )
    defaults: Defaults = Field(default_factory=Defaults)
    shots: list[Shot] = Field(min_length=1)
    outputs: dict[OutputName, Output] | None = Field(
        None, description="Films to assemble: name -> shot ids in order, or {shots: [...], and delivery settings}; "
        "default {main: every shot in file order}"
    )
    assembly: Assembly = Field(default_factory=Assembly)
    endpoints: dict[EndpointId, MediaSource] | None = Field(
        None, description="Endpoint ids (ep-...) shots may use as `model`, each with the model id it serves"
    )
    budget_usd: float | None = Field(None, gt=0, description="Hard cap on what a run may commit, in USD (BytePlus)")
    budget_cny: float | None = Field(None, gt=0, description="Hard cap on what a run may commit, in CNY "
                                     "(Volcengine)")
    budget_total_usd: float | None = Field(None, gt=0, description="Hard cap on what all runs of the run directory "
                                           "may spend together (the ledger: rerolls, alternates, edits), in USD")
    budget_total_cny: float | None = Field(None, gt=0, description="Hard cap on what all runs of the run directory "
                                           "may spend together, in CNY")


def output_shots(storyboard: Storyboard) -> dict[str, list[str]] | None:
    """Each output's shot ids in order, as written (None: no `outputs:`)."""
    if storyboard.outputs is None:
        return None
    return {name: list(output.shots) for name, output in storyboard.outputs.items()}


_NAMED_SECTIONS = ("outputs",)  # mappings whose keys are names the user chose, then models


def allowed_keys(loc: tuple[str | int, ...]) -> tuple[str, ...]:
    """The keys a mapping at this data path may hold, for 'did you mean' hints."""
    model: type[BaseModel] = Storyboard
    for i, part in enumerate(loc):
        if isinstance(part, int) or (i == 1 and loc[0] in _NAMED_SECTIONS):  # a list index, an output's name
            continue
        annotation: Any = model.model_fields[part].annotation if part in model.model_fields else None
        nested = _model_in(annotation)
        if nested is None:
            return ()
        model = nested
    return tuple(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def json_schema() -> dict[str, Any]:
    """JSON Schema of the storyboard format, for editors."""
    schema = Storyboard.model_json_schema()
    # An output may also be written as a plain list of shot ids (the validator above accepts both).
    listed = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    outputs = schema["properties"]["outputs"]["anyOf"][0]
    for pattern, one in outputs["patternProperties"].items():
        outputs["patternProperties"][pattern] = {"anyOf": [listed, one]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Storyboard (version 1)",
        **{k: v for k, v in schema.items() if k != "title"},
    }
