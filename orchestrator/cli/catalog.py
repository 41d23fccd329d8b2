"""`orchestrator models`: the model catalog of both regions, as a table or as JSON. Presentation only."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.models import CATALOG, PIXEL_SIZES, ModelSpec, Price
from orchestrator.profiles import PROFILES, Region, id_documented

from . import render

ESTIMATE = "est"  # marks a price the provider has not published (Price.confirmed False)
WIDTH = 120  # the table's width when not on a terminal (a terminal's own width wins: rich wraps the cells)
_ACCEPTS: tuple[tuple[str, Callable[[ModelSpec], bool]], ...] = (  # (label, has it), in the table's order
    ("first frame", lambda s: s.first_frame),
    ("first+last", lambda s: s.first_last_frame),
    ("audio", lambda s: s.generate_audio),
    ("draft", lambda s: s.draft),
    ("flex", lambda s: s.flex),
    ("service_tier", lambda s: s.service_tier),
    ("camera_fixed", lambda s: s.camera_fixed),
    ("priority", lambda s: s.priority),
)


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole catalog as JSON")] = False,
) -> None:
    """The model catalog: each model's ids on BytePlus and Volcengine, sizes, durations, what it accepts, and its
    price per 1M tokens in USD and CNY (estimates marked)."""
    if as_json:
        typer.echo(json.dumps({"models": [model_data(spec) for spec in CATALOG.values()],
                               "regions": _regions()}, indent=2))
        return
    out = render.console()
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=False, width=WIDTH)
    table = Table(title="Seedance models: price per 1M output tokens (v: with reference video; est: not published, "
                  "an estimate)", title_justify="left")
    for column in ("model / BytePlus id / Volcengine id", "16:9 size", "seconds", "accepts", "USD", "CNY"):
        table.add_column(column, justify="right" if column in {"USD", "CNY"} else "left",
                         no_wrap=column.startswith(("model", "16:9")))
    for spec in CATALOG.values():
        table.add_row(*(Text(cell) for cell in _row(spec)))
    out.print(table)
    out.print(Text("Volcengine ids marked * follow the documented doubao- prefix rule (the reference prints "
                   "doubao-seedance-2-0-260128). Everything, per resolution: --json."))


def _row(spec: ModelSpec) -> tuple[str, ...]:
    volc = spec.ids[Region.VOLCENGINE]
    retires = f" (retires {spec.deactivates})" if spec.deactivates else ""
    ids = f"{spec.label}{retires}\n{spec.ids[Region.BYTEPLUS]}\n{volc}{'' if id_documented(volc) else ' *'}"
    sizes = "\n".join(f"{res} {'x'.join(map(str, spec.size(res, '16:9')))}" for res in spec.resolutions)
    seconds = spec.durations.describe() + ("\nframes" if spec.frames else "")
    refs = spec.references
    accepts = [name for name, has in _ACCEPTS if has(spec)]
    if refs.total:
        accepts.append(f"refs {refs.images} img {refs.videos} vid {refs.audios} aud")
    return (ids, sizes, seconds, ", ".join(accepts), _prices(spec.usd_prices), _prices(spec.cny_prices))


def _prices(table: Mapping[str, Price]) -> str:
    """One line per distinct price: '7.7/4.7v 1080p', '16/8 silent', '37/22v est'."""
    lines: dict[str, list[str]] = {}
    for resolution, price in table.items():
        text = f"{price.per_mtok:g}"
        if price.silent_per_mtok is not None:
            text += f"/{price.silent_per_mtok:g} silent"
        if price.video_input_per_mtok is not None:
            text += f"/{price.video_input_per_mtok:g}v"
        text += "" if price.confirmed else f" {ESTIMATE}"
        lines.setdefault(text, []).append("" if resolution == "*" else resolution)
    return "\n".join(f"{text} {'/'.join(r for r in res if r)}".rstrip() for text, res in lines.items())


def model_data(spec: ModelSpec) -> dict[str, Any]:
    """Everything the catalog holds about one model, as JSON data."""
    refs = dataclasses.asdict(spec.references)
    return {
        "label": spec.label,
        "ids": {region.value: spec.ids[region] for region in Region},
        "volcengine_id_documented": id_documented(spec.ids[Region.VOLCENGINE]),
        "size_family": spec.family.value,
        "resolutions": {res: {ratio: list(size) for ratio, size in PIXEL_SIZES[spec.family][res].items()}
                        for res in spec.resolutions},
        "default_resolution": spec.default_resolution,
        "durations": {"min": spec.durations.low, "max": spec.durations.high, "auto": spec.durations.auto,
                      "default": spec.default_duration},
        "frames": spec.frames,
        "text_to_video": spec.text_to_video,
        "first_frame": spec.first_frame,
        "first_last_frame": spec.first_last_frame,
        "references": refs,
        "generate_audio": spec.generate_audio,
        "draft": spec.draft,
        "flex": spec.flex,
        "service_tier": spec.service_tier,
        "camera_fixed": spec.camera_fixed,
        "priority": spec.priority,
        "text_to_video_adaptive": spec.t2v_adaptive,
        "frames_need_adaptive": spec.frames_need_adaptive,
        "image_formats": sorted(spec.image_formats),
        "prices_per_mtok": {"USD": _price_data(spec.usd_prices), "CNY": _price_data(spec.cny_prices)},
        "deactivates": spec.deactivates.isoformat() if spec.deactivates else None,
        "replacement": spec.replacement,
    }


def _price_data(table: Mapping[str, Price]) -> dict[str, Any]:
    return {res: dataclasses.asdict(price) for res, price in table.items()}


def _regions() -> dict[str, Any]:
    return {p.region.value: {"label": p.label, "base_url": p.base_url, "currency": p.currency.code}
            for p in PROFILES.values()}
