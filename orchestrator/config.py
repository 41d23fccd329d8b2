"""Settings: command-line flags over environment over defaults, resolved once and passed down.

The API key and base URL are not here: `ArkClient` reads ARK_API_KEY / ARK_BASE_URL itself, so the key lives
in exactly one object (a SecretStr) and never in settings that might be printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.errors import ConfigError
from orchestrator.models import CATALOG, Price

PriceBook = Mapping[str, Mapping[str, Price]]  # model id -> resolution or "*" -> price


class Settings(BaseSettings):
    """Process-wide settings; environment variables are prefixed ORCHESTRATOR_."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore", frozen=True)

    prices: Path | None = Field(None, description="YAML/JSON file overriding the catalog's USD prices")
    out: Path = Field(Path("runs"), description="Folder that holds the run directories (<out>/<name>/)")
    max_attempts: int = Field(3, ge=1, le=10, description="Tasks created per shot at most, retries included")
    poll_scale: float = Field(
        1.0, gt=0, description="Multiplies the status-poll intervals (e.g. 1/60 against `simulate --speed 60`)")
    sim_speed: float = Field(
        60.0, gt=0, description="Time compression of the built-in simulator (60: a 5 s 720p clip takes ~2 s)")


class _PriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    usd_per_mtok: float = Field(gt=0)
    silent_usd_per_mtok: float | None = Field(None, gt=0)
    video_input_usd_per_mtok: float | None = Field(None, gt=0)


_Entry = Annotated[float, Field(gt=0)] | _PriceOverride


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    prices: dict[str, _Entry | dict[str, _Entry]]


def catalog_prices() -> PriceBook:
    """The prices the catalog ships with."""
    return MappingProxyType({model_id: spec.prices for model_id, spec in CATALOG.items()})


def load_prices(path: Path | None) -> PriceBook:
    """Catalog prices with the file's overrides applied; a bad file is a ConfigError naming it.

    Per model, the file's "*" replaces every catalog price of that model, then its per-resolution entries apply.
    """
    book = dict(catalog_prices())
    if path is None:
        return MappingProxyType(book)
    for model_id, entry in _read_price_file(path).prices.items():
        model = CATALOG.get(model_id)
        if model is None:
            raise ConfigError(f"{path}: {model_id}: not a known model ({', '.join(CATALOG)})")
        by_resolution = entry if isinstance(entry, dict) else {"*": entry}
        unknown = set(by_resolution) - {"*", *model.resolutions}
        if unknown:
            raise ConfigError(f"{path}: {model_id}: {', '.join(sorted(unknown))} is not a resolution of this model "
                              f"(*, {', '.join(model.resolutions)})")
        prices = {k: _price(v, f"price file {path}") for k, v in by_resolution.items()}
        merged = {"*": prices["*"]} if "*" in prices else dict(book[model_id])
        merged.update(prices)
        book[model_id] = MappingProxyType(merged)
    return MappingProxyType(book)


def _read_price_file(path: Path) -> _PriceFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        return _PriceFile.model_validate({"prices": raw})
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the price file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML/JSON: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][1]) if len(first["loc"]) > 1 else "the file"  # the rest names union branches
        raise ConfigError(f"{path}: {where}: expected a price in USD per 1M tokens or "
                          "{usd_per_mtok, silent_usd_per_mtok, video_input_usd_per_mtok}") from None


def _price(entry: float | _PriceOverride, source: str) -> Price:
    if isinstance(entry, _PriceOverride):
        return Price(entry.usd_per_mtok, entry.silent_usd_per_mtok, entry.video_input_usd_per_mtok, True, source)
    return Price(float(entry), source=source)
