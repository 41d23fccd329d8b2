"""Region rules of a storyboard: which region it runs on, model ids of the other region, the `endpoints` section,
and a budget in the wrong currency (orchestrator.profiles). Every problem names the id or key that fits the run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from orchestrator.models import CATALOGS, MODELS, RETIRED_MODELS, ModelSpec
from orchestrator.profiles import PROFILES, Region, RegionChoice, family_of, region_of_ids
from orchestrator.storyboard.diagnostics import DataPath, did_you_mean
from orchestrator.storyboard.schema import Storyboard

if TYPE_CHECKING:  # rules.py uses the messages below
    from orchestrator.storyboard.context import RuleContext


def model_ids(storyboard: Storyboard) -> Iterator[str]:
    """Every model id the storyboard names (defaults, shots, the models its endpoints serve); no endpoint ids."""
    named = [storyboard.defaults.model, *(shot.model for shot in storyboard.shots),
             *(storyboard.endpoints or {}).values()]
    return (model_id for model_id in named if model_id and family_of(model_id) is not None)


def storyboard_region(storyboard: Storyboard, chosen: RegionChoice | None) -> RegionChoice:
    """The region of the run: the user's choice, else the family of the storyboard's model ids."""
    if chosen is not None:
        return chosen
    return region_of_ids(family_of(i) or Region.BYTEPLUS for i in model_ids(storyboard) if i in MODELS)


def wrong_region(model_id: str, model: ModelSpec, choice: RegionChoice) -> str | None:
    """Why an id of the other region cannot be used on this run, naming the id that can; None when it fits."""
    if model.region is choice.region:
        return None
    return (f"{model_id} is the {PROFILES[model.region].label} id of {model.label}; this run is on "
            f"{choice.profile.label} ({choice.reason}): use {model.ids[choice.region]}")


def unknown_model(model_id: str, choice: RegionChoice) -> str:
    """The message for an id no region knows: the run's region's id it most likely means, or where the list is."""
    known = CATALOGS[choice.region]
    wanted = _version(model_key(model_id))
    alike = [i for i in known if _version(model_key(i)) == wanted] if wanted else list(known)
    guess = did_you_mean(model_id, alike, key=model_key)
    if guess:
        return f"'{model_id}' is not a known model{guess}"
    return f"'{model_id}' is not a known model of {choice.profile.label}: run orchestrator models for the list"


_BRANDS = ("dreamina", "doubao", "seedance", "bytedance")  # words before the version that name no one model
_BRAND_ALIKE = 0.75  # how alike (difflib ratio) a word must be to count as a brand: seedence, dremina, doubau
_DATE_DIGITS = range(6, 9)  # 260128, or 20260128


def model_key(model_id: str) -> str:
    """What tells the models apart, however an id is written: version and variant, e.g. '2-0-fast' for
    dreamina-seedance-2-0-fast-260128, doubao-seedance-2-0-fast, `Seedance 2.0 Fast` and `seedence_2_0_fast`.

    Lowercase words and numbers (so '.', '_', ' ' and case do not matter); no date suffix; no brand or region
    prefix, misspelt or not; a version written 2 or 20 is 2-0."""
    tokens: list[str] = re.findall(r"[a-z]+|[0-9]+", model_id.lower())
    if tokens and tokens[-1].isdigit() and len(tokens[-1]) in _DATE_DIGITS:
        tokens.pop()
    while tokens and tokens[0].isalpha() and max(
            difflib.SequenceMatcher(None, tokens[0], brand).ratio() for brand in _BRANDS) >= _BRAND_ALIKE:
        tokens.pop(0)
    if tokens and tokens[0].isdigit() and len(tokens[0]) == 2:
        tokens[:1] = list(tokens[0])
    if tokens and tokens[0].isdigit() and not (len(tokens) > 1 and tokens[1].isdigit()):
        tokens.insert(1, "0")
    return "-".join(tokens)


def _version(key: str) -> tuple[str, ...]:
    """The numbers of a model key: ('2', '0') for '2-0-fast'."""
    return tuple(part for part in key.split("-") if part.isdigit())


def undeclared_endpoint(endpoint: str, choice: RegionChoice) -> str:
    """The message for an endpoint id the storyboard does not declare, saying how to declare it."""
    example = next(iter(CATALOGS[choice.region]))
    return (f"'{endpoint}' is an endpoint id: declare the model it serves so that its rules can be checked, in a "
            f"top-level section `endpoints: {{{endpoint}: {example}}}` (any model id of {choice.profile.label})")


def check_endpoints(storyboard: Storyboard, ctx: RuleContext) -> None:
    """Each declared endpoint serves a known model of the run's region; one no shot uses is a warning."""
    endpoints = storyboard.endpoints or {}
    used = {storyboard.defaults.model, *(shot.model for shot in storyboard.shots)}
    for endpoint, model_id in endpoints.items():
        where: DataPath = ("endpoints", endpoint)
        model = MODELS.get(model_id)
        if model_id in RETIRED_MODELS:
            ctx.error(where, f"'{model_id}' has been deactivated; use {RETIRED_MODELS[model_id]}")
        elif model is None:
            ctx.error(where, unknown_model(model_id, ctx.region))
        elif (problem := wrong_region(model_id, model, ctx.region)) is not None:
            ctx.error(where, problem)
        if endpoint not in used:
            ctx.warn((*where,), f"no shot uses endpoint {endpoint}")


def check_budget(storyboard: Storyboard, ctx: RuleContext) -> None:
    """A budget in the other region's currency is an error naming the key that fits."""
    right = ctx.region.profile
    for profile in PROFILES.values():
        for key, fits in ((profile.budget_key, right.budget_key), (profile.total_budget_key, right.total_budget_key)):
            if profile.region is not right.region and getattr(storyboard, key) is not None:
                ctx.error((key,), f"a budget in {profile.currency.code}; this run is on {right.label} "
                          f"({ctx.region.reason}), billed in {right.currency.code}: use {fits}", key=True)


def budget_of(storyboard: Storyboard, choice: RegionChoice, *, total: bool = False) -> float | None:
    """The storyboard's budget in the run's currency: per run, or (`total`) for all runs of its run directory."""
    value = getattr(storyboard, choice.profile.total_budget_key if total else choice.profile.budget_key)
    return None if value is None else float(value)
