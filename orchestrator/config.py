"""Settings: command-line flags over environment over defaults, resolved once and passed down.

Only what the commands use today lives here; later layers add their fields (API key as a SecretStr, base URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

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


class _PriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    usd_per_mtok: float = Field(gt=0)
    silent_usd_per_mtok: float | None = Field(None, gt=0)
    video_input_usd_per_mtok: float | None = Field(None, gt=0)


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    prices: dict[str, float | dict[str, _PriceOverride]]


def catalog_prices() -> PriceBook:
    """The prices the catalog ships with."""
    return MappingProxyType({model_id: spec.prices for model_id, spec in CATALOG.items()})


def load_prices(path: Path | None) -> PriceBook:
    """Catalog prices with the file's overrides applied; a bad file is a ConfigError naming it."""
    book = dict(catalog_prices())
    if path is None:
        return MappingProxyType(book)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _PriceFile.model_validate({"prices": raw})
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the price file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML/JSON: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    for model_id, entry in parsed.prices.items():
        if model_id not in CATALOG:
            raise ConfigError(f"{path}: {model_id}: not a known model ({', '.join(CATALOG)})")
        source = f"price file {path}"
        if isinstance(entry, float | int):
            book[model_id] = MappingProxyType({"*": Price(float(entry), source=source)})
            continue
        merged = dict(book[model_id])
        for resolution, o in entry.items():
            merged[resolution] = Price(o.usd_per_mtok, o.silent_usd_per_mtok, o.video_input_usd_per_mtok, True, source)
        book[model_id] = MappingProxyType(merged)
    return MappingProxyType(book)
