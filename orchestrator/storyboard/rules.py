"""The provider's rules for one resolved shot (seedance-api.md §2, §3.3, §3.4), checked before anything is sent.

Each problem is reported where the user can fix it: at the shot's own key, or at `defaults` when the value
came from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from orchestrator import models as m
from orchestrator.models import RETIRED_MODELS, ModelSpec
from orchestrator.profiles import DEFAULT_REGION, RegionChoice
from orchestrator.storyboard import regions
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, Severity
from orchestrator.storyboard.loader import SourceMap
from orchestrator.storyboard.media import MediaInfo, MediaKind, inspect_media, is_remote, remote_is_complete
from orchestrator.storyboard.resolve import ShotSpec

_PROMPT_WORDS_MAX = 1000  # the provider's recommendation for English prompts


@dataclass
class RuleContext:
    """What every rule needs besides the shot: where things are, where files live, today's date, the region."""

    source: SourceMap
    base_dir: Path
    today: date
    problems: list[Diagnostic] = field(default_factory=list)
    region: RegionChoice = DEFAULT_REGION
    endpoints: Mapping[str, str] = field(default_factory=dict)  # the storyboard's endpoints section

    def error(self, path: DataPath, message: str, *, key: bool = False) -> None:
        """Record an error at `path`."""
        self.problems.append(self.source.diagnostic(path, message, key=key))

    def warn(self, path: DataPath, message: str) -> None:
        """Record a warning at `path`."""
        self.problems.append(self.source.diagnostic(path, message, severity=Severity.WARNING))

    def local_file(self, path: DataPath, raw: str, kind: MediaKind) -> tuple[Path, MediaInfo] | None:
        """Resolve and read a media reference; report why it is unusable, or return None for remote ones."""
        if raw.startswith(("http://", "data:")):
            self.error(path, f"'{raw[:40]}' is not accepted: give a file path, an https:// URL or an asset:// id")
            return None
        if is_remote(raw):
            if not remote_is_complete(raw):
                self.error(path, f"'{raw}' is missing the host or asset id")
            return None
        try:
            file = (self.base_dir / raw).resolve()
            found = file.is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL in the path, symlink loops
            self.error(path, f"'{raw}' is not a usable file path ({exc})")
            return None
        if not found:
            self.error(path, f"file not found: {raw}" + ("" if Path(raw).is_absolute() else f" (looked in {file})"))
            return None
        info = inspect_media(file, kind)
        if info.problem:
            self.error(path, f"{raw}: {info.problem}")
            return None
        return file, info


def check_shot(spec: ShotSpec, parent: ShotSpec | None, ctx: RuleContext) -> None:
    """Check one shot against every rule; problems go to ctx."""
    model = _check_model(spec, ctx)
    if model is not None:
        _check_settings(spec, model, ctx)
        _check_modes(spec, model, ctx)
    _check_chain(spec, parent, ctx)
    _check_prompt(spec, ctx)
    body = _check_media(spec, model, ctx)
    if parent is not None and parent.model is not None and parent.resolution in parent.model.resolutions:
        width, height = m.largest_size(parent.model, str(parent.resolution))
        body += _b64(width * height * 3)  # worst case for the parent's frame sent inline as PNG
    if body > m.REQUEST_MAX_BYTES:
        ctx.error(spec.path, f"the request body would be about {body / 1e6:.0f} MB, over the provider's 64 MB limit")


def _check_model(spec: ShotSpec, ctx: RuleContext) -> ModelSpec | None:
    if spec.model_id is None:
        ctx.error((*spec.path, "model"), "required: set model on the shot or in defaults "
                  "(e.g. dreamina-seedance-2-0-260128)")
        return None
    where = spec.where("model")
    if spec.model_id in RETIRED_MODELS:
        ctx.error(where, f"'{spec.model_id}' has been deactivated; use {RETIRED_MODELS[spec.model_id]}")
    elif spec.endpoint is not None:
        if spec.endpoint not in ctx.endpoints:
            ctx.error(where, regions.undeclared_endpoint(spec.endpoint, ctx.region))
        # The endpoints section reports a declared model that is unknown or of the other region.
        elif spec.model is not None and regions.wrong_region(spec.model.id, spec.model, ctx.region) is None:
            _warn_retired(spec.model, f"{spec.endpoint} serves {spec.model.id}, which", where, ctx)
    elif spec.model is None:
        ctx.error(where, regions.unknown_model(spec.model_id, ctx.region))
    elif (wrong := regions.wrong_region(spec.model_id, spec.model, ctx.region)) is not None:
        ctx.error(where, wrong)
    else:
        _warn_retired(spec.model, spec.model_id, where, ctx)
    return spec.model


def _warn_retired(model: ModelSpec, subject: str, where: DataPath, ctx: RuleContext) -> None:
    if model.deactivates is not None and model.deactivates <= ctx.today:
        ctx.warn(where, f"{subject} was scheduled for deactivation on {model.deactivates}; "
                 f"the provider may refuse it (suggested replacement: {model.replacement})")


def _check_settings(spec: ShotSpec, model: ModelSpec, ctx: RuleContext) -> None:
    if spec.resolution not in model.resolutions:
        inherited = "" if "resolution" in spec.origins else f" (from parent '{spec.shot.after}')"
        ctx.error(spec.where("resolution") if inherited == "" else (*spec.path, "resolution"),
                  f"{spec.resolution}{inherited} is not allowed for {model.id} ({', '.join(model.resolutions)})")
    if spec.duration is not None and spec.frames is None and not model.durations.allows(spec.duration):
        ctx.error(spec.where("duration"),
                  f"{spec.duration} is not allowed for {model.id} ({model.durations.describe()})")
    if spec.frames is not None:
        if not model.frames:
            ctx.error(spec.where("frames"), f"frames is not supported by {model.id}: use duration")
        elif not (m.FRAMES_MIN <= spec.frames <= m.FRAMES_MAX and (spec.frames - 25) % 4 == 0):
            ctx.error(spec.where("frames"), f"{spec.frames} is not allowed (25+4n from 29 to 289: 29, 33, ... 289)")
        if {"frames", "duration"} <= spec.shot.model_fields_set:
            ctx.error(spec.where("frames"), "set duration or frames, not both")
    explicit = {key: spec.explicit(key) for key in ("generate_audio", "camera_fixed", "priority")}
    if explicit["generate_audio"] and not model.generate_audio:
        ctx.error(spec.where("generate_audio"), f"{model.id} cannot generate audio (2.x and 1.5 pro can)")
    if explicit["camera_fixed"] and not model.camera_fixed:
        ctx.error(spec.where("camera_fixed"), f"camera_fixed is not supported by {model.id}")
    elif explicit["camera_fixed"] and spec.uses_references:
        ctx.error(spec.where("camera_fixed"), "camera_fixed cannot be used with reference media")
    if spec.explicit("service_tier") is not None and not model.service_tier:
        ctx.error(spec.where("service_tier"), f"{model.id} does not accept service_tier (online only): remove "
                  "the line")
    elif spec.service_tier == "flex" and not model.flex:
        ctx.error(spec.where("service_tier"), f"flex is not offered for {model.id} (default only)")
    if explicit["priority"] is not None and not model.priority:
        ctx.error(spec.where("priority"), f"priority is not supported by {model.id} (2.x models only)")
    elif explicit["priority"] is not None and spec.service_tier == "flex":
        ctx.error(spec.where("priority"), "priority cannot be combined with service_tier flex")


def check_sound(specs: Iterable[ShotSpec], ctx: RuleContext) -> None:
    """One warning per place where an explicit `generate_audio: true` asks for sound no film keeps, naming the
    shots it applies to (a line in `defaults` applies to many)."""
    groups: dict[DataPath, list[ShotSpec]] = {}
    for spec in specs:
        model = spec.model
        if (spec.explicit("generate_audio") and spec.sound_unused is not None and model is not None
                and model.generate_audio and spec.resolution in model.resolutions):
            groups.setdefault(spec.where("generate_audio"), []).append(spec)
    for where, group in groups.items():
        first = group[0]
        assert first.model is not None
        names = ", ".join(f"'{s.id}'" for s in group)
        reasons = "; ".join(dict.fromkeys(str(s.sound_unused) for s in group))
        ctx.warn(where, f"true, but no film keeps the sound of shot{'s' if len(group) > 1 else ''} {names} "
                 f"({reasons}): it is paid for and thrown away ({_sound_cost(first, first.model, ctx)}); remove "
                 "the line and it is not asked for")


def _sound_cost(spec: ShotSpec, model: ModelSpec, ctx: RuleContext) -> str:
    """What asking for sound adds to this shot's price, from the catalog (a price file may differ)."""
    assert spec.resolution is not None
    price = model.price_for(spec.resolution)
    if price.silent_per_mtok is None:
        return f"{model.id} charges the same per token with or without sound"
    symbol = ctx.region.profile.currency.symbol
    return (f"{model.id} charges {symbol}{price.per_mtok:g} per 1M tokens with sound, {symbol}"
            f"{price.silent_per_mtok:g} without; plan shows this shot's difference")


def _check_modes(spec: ShotSpec, model: ModelSpec, ctx: RuleContext) -> None:
    shot, refs = spec.shot, spec.shot.references
    text_only = not spec.has_first_frame and not spec.uses_references
    if text_only and spec.ratio == m.ADAPTIVE and not model.t2v_adaptive:
        ctx.error(spec.where("ratio"), f"adaptive is not allowed for text-to-video on {model.id} "
                  f"({', '.join(m.RATIOS)})")
    if spec.has_first_frame and model.frames_need_adaptive and spec.ratio != m.ADAPTIVE:
        ctx.error(spec.where("ratio"),
                  f"'{spec.ratio}' is not allowed with a first frame on {model.id} (adaptive only)")
    if shot.last_frame is not None and spec.has_first_frame and not model.first_last_frame:
        ctx.error((*spec.path, "last_frame"), f"{model.id} has no first+last frame mode")
    if not spec.uses_references:
        return
    limits, images = model.references, len(refs.images) if refs else 0
    if limits.images == 0:
        what = "reference media" if refs and refs.count() else "handoff: reference"
        ctx.error((*spec.path, "references" if refs and refs.count() else "handoff"),
                  f"{what} is not supported by {model.id} (2.x models only)")
        return
    handoff_image = 1 if spec.chained and spec.handoff == "reference" else 0
    counts = {"images": images + handoff_image, "videos": len(refs.videos) if refs else 0,
              "audios": len(refs.audios) if refs else 0}
    for kind, limit in (("images", limits.images), ("videos", limits.videos), ("audios", limits.audios)):
        if counts[kind] > limit:
            extra = " (counting the parent's last frame)" if kind == "images" and handoff_image else ""
            ctx.error((*spec.path, "references", kind),
                      f"{counts[kind]} reference {kind}{extra}; {model.id} takes at most {limit}")
    if sum(counts.values()) > limits.total:
        ctx.error((*spec.path, "references"), f"{sum(counts.values())} references; at most {limits.total} in all")
    if counts["audios"] and not (counts["images"] or counts["videos"]) and not limits.audio_alone:
        ctx.error((*spec.path, "references", "audios"),
                  f"reference audio needs at least one reference image or video on {model.id}")


def _check_chain(spec: ShotSpec, parent: ShotSpec | None, ctx: RuleContext) -> None:
    shot = spec.shot
    if shot.handoff is not None and not spec.chained:
        ctx.error((*spec.path, "handoff"), "handoff only applies to a shot with after")
    if spec.chained and shot.first_frame is not None:
        ctx.error((*spec.path, "first_frame"), "cannot be combined with after: a chained shot starts on its "
                  "parent's last frame")
    if shot.references is not None and shot.references.count():
        if shot.first_frame is not None or shot.last_frame is not None:
            ctx.error((*spec.path, "references"), "reference media cannot be mixed with first_frame/last_frame "
                      "in one request")
        elif spec.chained and spec.handoff == "first_frame":
            ctx.error((*spec.path, "references"), "reference media cannot ride with the parent's last frame as "
                      "first frame; set handoff: reference to send it as reference image 1")
    if shot.last_frame is not None and spec.chained and spec.handoff == "reference":
        ctx.error((*spec.path, "last_frame"), "last_frame cannot be combined with handoff: reference")
    if shot.last_frame is not None and not spec.has_first_frame and not spec.uses_references:
        ctx.error((*spec.path, "last_frame"), "needs a first frame: set first_frame, or after to start on a "
                  "parent's last frame")
    if parent is None:
        return
    if "resolution" in spec.origins and spec.resolution != parent.resolution:
        ctx.error(spec.where("resolution"), f"{spec.resolution} differs from parent '{parent.id}' "
                  f"({parent.resolution}): a chained shot keeps its parent's resolution")
    if "ratio" in spec.origins and spec.ratio not in {m.ADAPTIVE, parent.ratio}:
        allowed = "only adaptive: the parent's ratio is decided by the provider" if parent.ratio == m.ADAPTIVE \
            else f"its ratio '{parent.ratio}', or adaptive"
        ctx.error(spec.where("ratio"), f"'{spec.ratio}' is not allowed after '{parent.id}' ({allowed})")


def _check_prompt(spec: ShotSpec, ctx: RuleContext) -> None:
    prompt = (spec.shot.prompt or "").strip()
    if not prompt and not spec.has_first_frame and not spec.uses_references:
        ctx.error((*spec.path, "prompt"), "required for a text-to-video shot (no first frame or references)")
    elif len(prompt.split()) > _PROMPT_WORDS_MAX:
        ctx.warn((*spec.path, "prompt"), f"{len(prompt.split())} words; the provider recommends at most "
                 f"{_PROMPT_WORDS_MAX}")


def _check_media(spec: ShotSpec, model: ModelSpec | None, ctx: RuleContext) -> int:
    body = len((spec.shot.prompt or "").encode()) + 4096
    audio_seconds = 0.0
    for path, raw, kind in _media_of(spec):
        found = ctx.local_file(path, raw, kind)
        if found is None:
            continue
        _, info = found
        if kind is MediaKind.IMAGE:
            _check_image(path, raw, info, model, ctx)
        elif kind is MediaKind.VIDEO:
            ctx.error(path, f"{raw}: the provider fetches reference videos only from https:// or asset:// URLs; "
                      "upload the file and give its URL")
            continue
        else:
            audio_seconds += _check_audio(path, raw, info, model, ctx)
        body += _b64(info.size_bytes)
    if model is not None and audio_seconds > model.references.audio_seconds_total:
        ctx.error((*spec.path, "references", "audios"), f"{audio_seconds:.1f} s of reference audio; at most "
                  f"{model.references.audio_seconds_total:g} s in all")
    return body


def _media_of(spec: ShotSpec) -> list[tuple[DataPath, str, MediaKind]]:
    shot, base = spec.shot, spec.path
    found: list[tuple[DataPath, str, MediaKind]] = []
    if shot.first_frame is not None:
        found.append(((*base, "first_frame"), shot.first_frame, MediaKind.IMAGE))
    if shot.last_frame is not None:
        found.append(((*base, "last_frame"), shot.last_frame, MediaKind.IMAGE))
    if shot.references is not None:
        for kind, items in ((MediaKind.IMAGE, shot.references.images), (MediaKind.VIDEO, shot.references.videos),
                            (MediaKind.AUDIO, shot.references.audios)):
            found += [((*base, "references", f"{kind.value}s", i), raw, kind) for i, raw in enumerate(items)]
    return found


def _check_image(path: DataPath, raw: str, info: MediaInfo, model: ModelSpec | None, ctx: RuleContext) -> None:
    formats = model.image_formats if model else m.HEIF_IMAGE_FORMATS
    if info.format not in formats:
        ctx.error(path, f"{raw}: {info.format} images are not accepted ({', '.join(sorted(formats))})")
    if info.size_bytes >= m.IMAGE_MAX_BYTES:
        ctx.error(path, f"{raw}: {info.size_bytes / 1e6:.1f} MB is too large (under 30 MB)")
    if info.width is None or info.height is None:
        return
    size = f"{info.width}x{info.height} px"
    if min(info.width, info.height) <= m.IMAGE_MIN_SIDE_PX:
        ctx.error(path, f"{raw}: {size} is too small (each side more than {m.IMAGE_MIN_SIDE_PX} px)")
    if max(info.width, info.height) >= m.IMAGE_MAX_SIDE_PX:
        ctx.error(path, f"{raw}: {size} is too large (each side less than {m.IMAGE_MAX_SIDE_PX} px)")
    aspect = info.width / info.height
    if not m.IMAGE_MIN_ASPECT <= aspect <= m.IMAGE_MAX_ASPECT:
        ctx.error(path, f"{raw}: aspect ratio {aspect:.2f} ({size}) is outside "
                  f"{m.IMAGE_MIN_ASPECT}..{m.IMAGE_MAX_ASPECT}")


def _check_audio(path: DataPath, raw: str, info: MediaInfo, model: ModelSpec | None, ctx: RuleContext) -> float:
    if info.format not in m.AUDIO_FORMATS:
        ctx.error(path, f"{raw}: {info.format} audio is not accepted (mp3, wav)")
    if info.size_bytes > m.AUDIO_MAX_BYTES:
        ctx.error(path, f"{raw}: {info.size_bytes / 1e6:.1f} MB is too large (at most 15 MB)")
    seconds = info.seconds or 0.0
    if model is not None:
        low, high = model.references.audio_seconds_each
        if not low <= seconds <= high:
            ctx.error(path, f"{raw}: {seconds:.1f} s is not allowed ({low:g}..{high:g} s)")
    return seconds


def _b64(size: int) -> int:
    return (size + 2) // 3 * 4 + 32
