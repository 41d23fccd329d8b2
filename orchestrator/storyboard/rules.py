"""The provider's rules for one resolved shot (seedance-api.md §2, §3.3, §3.4), checked before anything is sent.

Each problem is reported where the user can fix it: at the shot's own key, or at `defaults` when the value
came from there, once per problem, naming the shots that inherit the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from orchestrator import models as m
from orchestrator.models import RETIRED_MODELS, ModelSpec
from orchestrator.storyboard import regions
from orchestrator.storyboard.assets import check_media, inline_size
from orchestrator.storyboard.context import RuleContext, shot_names
from orchestrator.storyboard.diagnostics import DataPath
from orchestrator.storyboard.limits import PROMPT_CJK_CHARS_RECOMMENDED, PROMPT_WORDS_RECOMMENDED
from orchestrator.storyboard.resolve import ShotSpec


def check_shot(spec: ShotSpec, parent: ShotSpec | None, ctx: RuleContext) -> None:
    """Check one shot against every rule; problems go to ctx."""
    with ctx.checking(spec):
        _check_shot(spec, parent, ctx)


def _check_shot(spec: ShotSpec, parent: ShotSpec | None, ctx: RuleContext) -> None:
    model = _check_model(spec, ctx)
    if model is not None:
        _check_settings(spec, model, ctx)
        _check_modes(spec, model, ctx)
    _check_chain(spec, parent, ctx)
    _check_prompt(spec, ctx)
    body = check_media(spec, model, ctx)
    if parent is not None and parent.model is not None and parent.resolution in parent.model.resolutions:
        width, height = m.largest_size(parent.model, str(parent.resolution))
        body += inline_size(width * height * 3)  # worst case for the parent's frame sent inline as PNG
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
        names = shot_names({s.index: s.id for s in group})
        reasons = "; ".join(dict.fromkeys(str(s.sound_unused) for s in group))
        ctx.warn(where, f"true, but no film keeps the sound of {names} "
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
    # Defaults never set a chained shot's resolution or ratio (resolve.py): the line to remove is the shot's own.
    if "resolution" in spec.origins and spec.resolution != parent.resolution:
        ctx.error(spec.where("resolution"), f"{spec.resolution} differs from parent '{parent.id}' "
                  f"({parent.resolution}): remove the line; a chained shot keeps its parent's resolution")
    if "ratio" in spec.origins and spec.ratio not in {m.ADAPTIVE, parent.ratio}:
        parents = "adaptive" if parent.ratio == m.ADAPTIVE else f"'{parent.ratio}'"
        ctx.error(spec.where("ratio"), f"'{spec.ratio}' is not allowed after '{parent.id}' (its ratio is "
                  f"{parents}): remove the line; a chained shot takes its parent's ratio")


def _check_prompt(spec: ShotSpec, ctx: RuleContext) -> None:
    prompt = (spec.shot.prompt or "").strip()
    if not prompt and not spec.has_first_frame and not spec.uses_references:
        ctx.error((*spec.path, "prompt"), "required for a text-to-video shot (no first frame or references)")
        return
    cjk, words = prompt_length(prompt)
    if cjk / PROMPT_CJK_CHARS_RECOMMENDED + words / PROMPT_WORDS_RECOMMENDED > 1:
        counted = f"{cjk:,} CJK characters and {words:,} words" if cjk else f"{words:,} words"
        ctx.warn((*spec.path, "prompt"), f"{counted}; the provider recommends at most "
                 f"{PROMPT_CJK_CHARS_RECOMMENDED} Chinese characters or {PROMPT_WORDS_RECOMMENDED} English words "
                 "(each CJK character counts as one, like a word): shorten it, or the model may ignore the end")


_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")


def prompt_length(prompt: str) -> tuple[int, int]:
    """(CJK characters, other words): the provider counts Chinese, Japanese and Korean text by the character,
    where a space-separated count would see one 'word' in a whole sentence."""
    cjk = len(_CJK.findall(prompt))
    return cjk, len(_CJK.sub(" ", prompt).split())


