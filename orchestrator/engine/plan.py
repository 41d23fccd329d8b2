"""The plan: which shots run in what order, what each will produce and cost, and the totals. Pure: no I/O
beyond reading image headers the checker has already read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import pairwise

import networkx as nx

from orchestrator import models as m
from orchestrator.assembly.finish import fade_length
from orchestrator.config import PriceBook, catalog_prices
from orchestrator.models import ModelSpec, Price
from orchestrator.profiles import CURRENCIES, Currency
from orchestrator.storyboard.media import MediaKind, inspect_media, is_remote
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.validate import CheckedStoryboard


@dataclass(frozen=True)
class ShotEstimate:
    """One shot as it will be requested, with its size, length, tokens and price."""

    order: int
    id: str
    parent: str | None
    model: str
    resolution: str
    ratio: str
    width: int
    height: int
    seconds: float
    frames: int
    tokens: int
    amount: float  # for display, in the plan's currency: `cost` rounded to 4 places
    price_confirmed: bool
    chain_seconds: float  # this shot plus its longest line of descendants: the scheduler runs long chains first
    notes: tuple[str, ...]
    cost: Decimal = Decimal(0)  # exact: tokens x the price per 1M tokens, never rounded (budgets compare this)
    endpoint: str | None = None  # the ep-... id the request goes to; `model` is the model it serves


@dataclass(frozen=True)
class OutputEstimate:
    """One film: its shots, its length after joins, and what its shots cost."""

    name: str
    shots: tuple[str, ...]
    seconds: float
    tokens: int
    amount: float


@dataclass(frozen=True)
class Plan:
    """What a run of this storyboard will do and cost, in the currency of its region."""

    name: str
    shots: tuple[ShotEstimate, ...]
    outputs: tuple[OutputEstimate, ...]
    tokens: int
    amount: float
    budget: float | None
    prices_confirmed: bool
    region: str
    currency: str  # USD or CNY

    @property
    def money(self) -> Currency:
        """The plan's currency."""
        return CURRENCIES[self.currency]

    @property
    def cost(self) -> Decimal:
        """The exact estimate (what `amount` shows rounded to cents)."""
        return sum((s.cost for s in self.shots), Decimal(0))

    @property
    def over_budget(self) -> bool:
        """True when the exact estimate exceeds the budget."""
        return self.budget is not None and self.cost > dollars(self.budget)


def make_plan(checked: CheckedStoryboard, prices: PriceBook | None = None, budget: float | None = None,
              exif: bool = True) -> Plan:
    """Estimate every shot and output in the region's currency; `budget` (a flag, in that currency) wins over the
    storyboard's budget. `prices` must be the region's (config.load_prices with the same region). `exif`: the
    provider shows a JPEG as its EXIF orientation says (Settings.exif_orientation) when it sizes an adaptive shot."""
    profile = checked.region.profile
    book = prices if prices is not None else catalog_prices(profile.region)
    sizes: dict[str, tuple[int, int]] = {}
    drafts: dict[str, ShotEstimate] = {}
    for shot_id in nx.topological_sort(checked.graph):
        spec = checked.specs[shot_id]
        draft = _estimate(spec, checked, sizes.get(spec.shot.after or ""), book, exif)
        sizes[shot_id] = (draft.width, draft.height)
        drafts[shot_id] = draft
    chain = _chain_seconds(checked, {k: v.seconds for k, v in drafts.items()})
    order = nx.lexicographical_topological_sort(
        checked.graph, key=lambda n: (-round(chain[n], 3), checked.specs[n].index)
    )
    shots = tuple(
        replace(drafts[shot_id], order=i + 1, chain_seconds=chain[shot_id]) for i, shot_id in enumerate(order)
    )
    by_id = {s.id: s for s in shots}
    outputs = tuple(_output(name, ids, checked, by_id) for name, ids in checked.outputs.items())
    return Plan(
        name=checked.name, shots=shots, outputs=outputs,
        tokens=sum(s.tokens for s in shots), amount=float(round(sum((s.cost for s in shots), Decimal(0)), 2)),
        budget=budget if budget is not None else checked.budget,
        prices_confirmed=all(s.price_confirmed for s in shots),
        region=profile.region.value, currency=profile.currency.code,
    )


def _estimate(spec: ShotSpec, checked: CheckedStoryboard, parent_size: tuple[int, int] | None,
              book: PriceBook, exif: bool) -> ShotEstimate:
    model = spec.model
    assert model is not None and spec.resolution is not None, "checked storyboards have known models"
    notes: list[str] = []
    width, height = _size(spec, model, checked, parent_size, notes, exif)
    if spec.frames is not None:
        frames = spec.frames
    elif spec.duration == -1:
        frames = m.frames_for(model.durations.high)
        notes.append(f"duration -1 (model decides): priced at the {model.durations.high} s maximum")
    else:
        frames = m.frames_for(spec.duration or model.default_duration)
    billed_frames = frames
    if spec.shot.references and spec.shot.references.videos:
        # The provider bills input video seconds too; their length is unknown here, so take the model's maximum.
        longest = model.references.video_seconds_total
        billed_frames += int(longest * m.FPS)
        notes.append(f"reference videos priced at the {longest:g} s maximum input length")
    tokens = m.estimate_tokens(width, height, billed_frames)
    price = _price(spec, model, book)
    cost = tokens * _rate(spec, price) / 1_000_000
    if not price.confirmed:
        notes.append(f"price unconfirmed: {price.source}")
    if spec.sound_unused is not None and model.generate_audio:
        notes.append(_sound_note(spec, price, tokens, checked.region.profile.currency))
    return ShotEstimate(
        order=0, id=spec.id, parent=spec.shot.after, model=model.id, resolution=spec.resolution,
        ratio=spec.ratio, width=width, height=height, seconds=round((frames - 1) / m.FPS, 3), frames=frames,
        tokens=tokens, amount=float(round(cost, 4)), price_confirmed=price.confirmed, chain_seconds=0.0,
        notes=tuple(notes), cost=cost, endpoint=spec.endpoint,
    )


def _size(spec: ShotSpec, model: ModelSpec, checked: CheckedStoryboard, parent_size: tuple[int, int] | None,
          notes: list[str], exif: bool) -> tuple[int, int]:
    assert spec.resolution is not None
    if spec.ratio != m.ADAPTIVE:
        return model.size(spec.resolution, spec.ratio)
    like = parent_size if spec.chained else _first_image_size(spec, checked, exif)
    if like is not None:
        ratio = m.closest_ratio(*like)
        notes.append(f"ratio adaptive: sized as {ratio} from the {'parent' if spec.chained else 'image'}")
        return model.size(spec.resolution, ratio)
    notes.append("ratio adaptive (model decides): priced at the largest size")
    return m.largest_size(model, spec.resolution)


def _first_image_size(spec: ShotSpec, checked: CheckedStoryboard, exif: bool) -> tuple[int, int] | None:
    refs = spec.shot.references
    source = spec.shot.first_frame or (refs.images[0] if refs and refs.images and not refs.videos else None)
    if source is None or is_remote(source):
        return None
    return inspect_media((checked.base_dir / source).resolve(), MediaKind.IMAGE).shown_size(exif)


def _price(spec: ShotSpec, model: ModelSpec, book: PriceBook) -> Price:
    table = book.get(model.id, model.prices)
    assert spec.resolution is not None
    found = table.get(spec.resolution) or table.get("*")
    assert found is not None, f"no price for {model.id} at {spec.resolution}"
    return found


def _rate(spec: ShotSpec, price: Price) -> Decimal:
    refs = spec.shot.references
    if refs and refs.videos and price.video_input_per_mtok is not None:
        rate = price.video_input_per_mtok
    elif not spec.generate_audio and price.silent_per_mtok is not None:
        rate = price.silent_per_mtok
    else:
        rate = price.per_mtok
    return dollars(rate) * (dollars(m.FLEX_PRICE_FACTOR) if spec.service_tier == "flex" else 1)


def _sound_note(spec: ShotSpec, price: Price, tokens: int, currency: Currency) -> str:
    """Why the shot is asked for without sound, or what its discarded sound costs."""
    if not spec.generate_audio:
        return f"no sound asked for: {spec.sound_unused}"
    silent = price.silent_per_mtok
    if silent is None:
        return f"sound paid for and thrown away ({spec.sound_unused}); this model charges the same without it"
    extra = tokens * (dollars(price.per_mtok) - dollars(silent)) / 1_000_000
    return f"sound paid for and thrown away ({spec.sound_unused}): {currency.show(float(extra), 4)} of its price"


def dollars(amount: float | Decimal) -> Decimal:
    """An amount as an exact decimal, as written (0.85 is 0.85, not the nearest binary fraction)."""
    return amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))


def _chain_seconds(checked: CheckedStoryboard, seconds: dict[str, float]) -> dict[str, float]:
    chain: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(checked.graph))):
        below = [chain[child] for child in checked.graph.successors(node)]
        chain[node] = seconds[node] + max(below, default=0.0)
    return chain


def _output(name: str, ids: list[str], checked: CheckedStoryboard, by_id: dict[str, ShotEstimate]) -> OutputEstimate:
    assembly = checked.storyboard.assembly
    frames = sum(by_id[i].frames for i in ids)  # counted in whole frames, as the assembly counts them
    for before, after in pairwise(ids):
        if by_id[after].parent == before:
            frames -= 1  # the child's first frame repeats the parent's last one and is dropped
        elif assembly.transition == "crossfade":
            frames -= fade_length(assembly.crossfade_seconds)
    output = (checked.storyboard.outputs or {}).get(name)
    if output is not None and output.trim is not None:  # a cut-down: the part kept
        end = round(output.trim.end * m.FPS) if output.trim.end is not None else frames
        frames = max(0, min(end, frames) - round(output.trim.start * m.FPS))
    seconds = frames / m.FPS
    unique = list(dict.fromkeys(ids))
    return OutputEstimate(
        name=name, shots=tuple(ids), seconds=round(seconds, 3),
        tokens=sum(by_id[i].tokens for i in unique),
        amount=float(round(sum((by_id[i].cost for i in unique), Decimal(0)), 2)),
    )
