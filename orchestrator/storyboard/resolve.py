"""Effective parameters of each shot: the shot's own value, else its chain rule, else `defaults`, else the model's.

Chained shots (`after:`) take their parent's resolution and, unless they set one, ratio `adaptive` (so the
parent's last frame is never cropped); `defaults` do not override either, since a fixed ratio or another
resolution would put a visible jump into the seam.

`generate_audio`, unset, follows the films: the provider makes sound by default, but a shot whose sound no film
keeps (every film that uses it is muted or has its sound replaced by a soundtrack, or no film uses it) is asked for
silently, since its sound would be paid for and thrown away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator.models import ADAPTIVE, MODELS, ModelSpec
from orchestrator.profiles import ENDPOINT_PREFIX
from orchestrator.storyboard.diagnostics import DataPath
from orchestrator.storyboard.schema import GENERATION_KEYS, Shot, Storyboard


@dataclass(frozen=True)
class ShotSpec:
    """A shot with every generation parameter decided, and where each decision came from."""

    index: int
    shot: Shot
    model: ModelSpec | None
    model_id: str | None
    resolution: str | None
    ratio: str
    duration: int | None
    frames: int | None
    generate_audio: bool
    service_tier: str
    sound_unused: str | None  # why no film keeps this shot's sound, or None when one does
    origins: Mapping[str, DataPath]  # parameters set in the file -> where
    defaults: Mapping[str, Any]  # the storyboard's defaults section

    @property
    def id(self) -> str:
        """The shot id."""
        return self.shot.id

    @property
    def path(self) -> DataPath:
        """Data path of this shot in the file."""
        return ("shots", self.index)

    def where(self, key: str) -> DataPath:
        """Where a parameter was set (shot or defaults), else the shot itself."""
        return self.origins.get(key, self.path)

    def explicit(self, key: str) -> Any:
        """The value the file sets for this shot's parameter (on the shot, else in defaults), or None."""
        where = self.origins.get(key)
        if where is None:
            return None
        return getattr(self.shot, key) if where[0] == "shots" else self.defaults[key]

    @property
    def endpoint(self) -> str | None:
        """The endpoint id the shot is sent to (`model: ep-...`), else None."""
        return self.model_id if self.model_id and self.model_id.startswith(ENDPOINT_PREFIX) else None

    @property
    def chained(self) -> bool:
        """True when the shot starts on its parent's last frame."""
        return self.shot.after is not None

    @property
    def handoff(self) -> str:
        """How the parent's frame is sent: first_frame or reference."""
        return self.shot.handoff or "first_frame"

    @property
    def has_first_frame(self) -> bool:
        """True when the request carries a first frame (an image or the parent's frame as first_frame)."""
        return self.shot.first_frame is not None or (self.chained and self.handoff == "first_frame")

    @property
    def uses_references(self) -> bool:
        """True when the request is in the multimodal reference scenario."""
        refs = self.shot.references
        return (refs is not None and refs.count() > 0) or (self.chained and self.handoff == "reference")


def resolve_shots(storyboard: Storyboard, order: Iterable[int]) -> dict[int, ShotSpec]:
    """Resolve shots by index in `order` (parents before children); a parent not yet resolved counts as none.

    Keyed by index, not id: until validation passes, two shots may share an id.
    """
    defaults = {k: getattr(storyboard.defaults, k) for k in storyboard.defaults.model_fields_set}
    first_index: dict[str, int] = {}
    for index, shot in enumerate(storyboard.shots):
        first_index.setdefault(shot.id, index)
    specs: dict[int, ShotSpec] = {}
    for index in order:
        shot = storyboard.shots[index]
        parent = specs.get(first_index.get(shot.after, -1)) if shot.after else None
        specs[index] = _resolve(index, shot, defaults, parent, sound_unused(storyboard, shot.id),
                                storyboard.endpoints or {})
    return specs


def sound_unused(storyboard: Storyboard, shot_id: str) -> str | None:
    """Why no film keeps this shot's own sound, or None when at least one film does."""
    outputs = storyboard.outputs
    if outputs is not None and not any(shot_id in output.shots for output in outputs.values()):
        return "no output uses this shot"
    assembly = storyboard.assembly
    if assembly.audio == "mute":
        return "assembly.audio is mute"
    if assembly.audio == "soundtrack" and assembly.soundtrack_mix == "replace":
        return "the soundtrack replaces the clips' sound (soundtrack_mix: replace)"
    return None


def model_for(model_id: str | None, endpoints: Mapping[str, str]) -> ModelSpec | None:
    """The model an id names, as its region names it; for an endpoint id, the model the storyboard declares."""
    if not model_id:
        return None
    return MODELS.get(endpoints.get(model_id, "") if model_id.startswith(ENDPOINT_PREFIX) else model_id)


def _resolve(index: int, shot: Shot, defaults: Mapping[str, Any], parent: ShotSpec | None,
             unused: str | None, endpoints: Mapping[str, str]) -> ShotSpec:
    chained = shot.after is not None
    origins: dict[str, DataPath] = {}
    for key in GENERATION_KEYS:
        if key in shot.model_fields_set:
            origins[key] = ("shots", index, key)
        elif key in defaults and not (chained and key in {"resolution", "ratio"}):
            origins[key] = ("defaults", key)

    def pick(key: str) -> Any:
        if key in shot.model_fields_set:
            return getattr(shot, key)
        return defaults.get(key) if key in origins else None

    model_id = pick("model")
    model = model_for(model_id, endpoints)
    resolution = pick("resolution") or (parent.resolution if parent else None)
    if resolution is None and model is not None:
        resolution = model.default_resolution
    ratio = pick("ratio") or (ADAPTIVE if chained else _default_ratio(model, shot))
    frames, duration = _length(shot, defaults, origins, index)
    if duration is None and frames is None and model is not None:
        duration = model.default_duration
    audio = pick("generate_audio")
    return ShotSpec(
        index=index, shot=shot, model=model, model_id=model_id, resolution=resolution, ratio=ratio,
        duration=duration, frames=frames,
        generate_audio=bool(model.generate_audio and unused is None if audio is None and model else audio),
        service_tier=pick("service_tier") or "default", sound_unused=unused, origins=MappingProxyType(origins),
        defaults=MappingProxyType(dict(defaults)),
    )


def _length(shot: Shot, defaults: Mapping[str, Any], origins: dict[str, DataPath], index: int
            ) -> tuple[int | None, int | None]:
    """(frames, duration): what the shot sets wins as a whole over what defaults set, so a shot's duration is
    never silently beaten by a frames default."""
    own = {"frames", "duration"} & shot.model_fields_set
    if own:
        for key in {"frames", "duration"} - own:
            origins.pop(key, None)
        frames = shot.frames if "frames" in own else None
        return frames, None if frames is not None else shot.duration
    frames = defaults.get("frames")
    return frames, None if frames is not None else defaults.get("duration")


def _default_ratio(model: ModelSpec | None, shot: Shot) -> str:
    if model is not None and not model.t2v_adaptive and shot.first_frame is None:
        return "16:9"  # 1.0 text-to-video defaults to 16:9 and rejects adaptive
    return ADAPTIVE
