"""Settings: command-line flags over environment over defaults, resolved once and passed down.

The API key and base URL are not here: `ArkClient` reads ARK_API_KEY / ARK_BASE_URL itself, so the key lives
in exactly one object (a SecretStr) and never in settings that might be printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.api.pacer import LIST_INTERVAL_S
from orchestrator.errors import ConfigError, StoryboardUnreadable
from orchestrator.models import CATALOGS, MODELS, Price
from orchestrator.profiles import PROFILES, Region

PriceBook = Mapping[str, Mapping[str, Price]]  # model id (of the book's region) -> resolution or "*" -> price


class Settings(BaseSettings):
    """Process-wide settings; environment variables are prefixed ORCHESTRATOR_."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRATOR_", extra="ignore", frozen=True)

    prices: Path | None = Field(None, description="YAML/JSON file overriding the catalog's prices (in the region's "
                                "currency)")
    region: Region | None = Field(None, description="byteplus (USD) or volcengine (CNY); default: the host of "
                                  "ARK_BASE_URL, else the storyboard's model ids, else byteplus")
    out: Path = Field(Path("runs"), description="Folder that holds the run directories (<out>/<name>/)")
    max_attempts: int = Field(3, ge=1, le=10, description="Tasks created per shot at most, retries included")
    rejections_max: int = Field(10, ge=1, description="Takes of a gated shot made without an approval, after which "
                                "a reroll is refused until a person approves one (or raises this)")
    poll_scale: float = Field(
        1.0, gt=0, description="Multiplies the status-poll intervals (e.g. 1/60 against `simulate --speed 60`)")
    list_interval: float = Field(
        LIST_INTERVAL_S, gt=0, description="Seconds between list calls against ARK_BASE_URL (the provider allows one "
        "a second per account); lower it only for a simulator run faster than real time whose list_qps is raised "
        "to match")
    exif_orientation: Literal["apply", "ignore"] = Field(
        "apply", description="How the provider reads a JPEG first frame's EXIF orientation when an adaptive ratio "
        "follows the image: apply (the picture as shown, as image services commonly do) or ignore (the stored "
        "pixels). Its docs do not say; set ignore if a portrait photo's shots come back landscape")
    sim_speed: float = Field(
        60.0, gt=0, description="Time compression of the built-in simulator (60: a 5 s 720p clip takes ~2 s)")


_PRICE_FIELDS = ("per_mtok", "silent_per_mtok", "video_input_per_mtok")  # Price fields; the file adds a currency


class _PriceOverride(BaseModel):
    # Keys name their currency (usd_per_mtok, cny_per_mtok, ...): a number is never read in the wrong one.
    model_config = ConfigDict(extra="forbid", strict=True)

    usd_per_mtok: float | None = Field(None, gt=0)
    silent_usd_per_mtok: float | None = Field(None, gt=0)
    video_input_usd_per_mtok: float | None = Field(None, gt=0)
    cny_per_mtok: float | None = Field(None, gt=0)
    silent_cny_per_mtok: float | None = Field(None, gt=0)
    video_input_cny_per_mtok: float | None = Field(None, gt=0)

    def values(self, currency: str) -> dict[str, float | None]:
        """The Price fields in `currency`; a value in the other currency is an error naming the right key."""
        mine, other = currency.lower(), "cny" if currency == "USD" else "usd"
        wrong = [k for k, v in self.model_dump().items() if v is not None and other in k.split("_")]
        if wrong:
            raise ValueError(f"{wrong[0]} is in {other.upper()}; this run is priced in {currency}: use "
                             f"{wrong[0].replace(other, mine)}")
        found = {f: getattr(self, _keyed(f, mine)) for f in _PRICE_FIELDS}
        if found["per_mtok"] is None:
            raise ValueError(f"{_keyed('per_mtok', mine)} is required")
        return found


def _keyed(field: str, currency: str) -> str:
    """'silent_per_mtok' in 'usd' -> 'silent_usd_per_mtok'."""
    return field.replace("per_mtok", f"{currency}_per_mtok")


_Entry = Annotated[float, Field(gt=0)] | _PriceOverride


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # A bare number carries no currency of its own: the file's `currency:` line gives it (USD when absent, as every
    # price file was before prices came in CNY too), and a run in the other currency refuses it.
    currency: Literal["USD", "CNY"] = "USD"
    prices: dict[str, _Entry | dict[str, _Entry]]


def catalog_prices(region: Region = Region.BYTEPLUS) -> PriceBook:
    """The prices the catalog ships with, for the models as `region` names them, in its currency."""
    return MappingProxyType({model_id: spec.prices for model_id, spec in CATALOGS[region].items()})


def load_prices(path: Path | None, region: Region = Region.BYTEPLUS) -> PriceBook:
    """Catalog prices of `region` with the file's overrides applied; a bad file is a ConfigError naming it.

    The file's numbers are in the region's currency and it may name a model by either region's id. Per model, the
    file's "*" replaces every catalog price of that model, then its per-resolution entries apply.
    """
    book = dict(catalog_prices(region))
    if path is None:
        return MappingProxyType(book)
    currency = PROFILES[region].currency.code
    file = _read_price_file(path)
    for model_id, entry in file.prices.items():
        found = MODELS.get(model_id)
        if found is None:
            raise ConfigError(f"{path}: {model_id}: not a known model ({', '.join(MODELS)})")
        model = found.in_region(region)
        by_resolution = entry if isinstance(entry, dict) else {"*": entry}
        unknown = set(by_resolution) - {"*", *model.resolutions}
        if unknown:
            raise ConfigError(f"{path}: {model_id}: {', '.join(sorted(unknown))} is not a resolution of this model "
                              f"(*, {', '.join(model.resolutions)})")
        where = f"{path}: {model_id}"
        if file.currency != currency and any(not isinstance(v, _PriceOverride) for v in by_resolution.values()):
            raise ConfigError(f"{where}: a bare number is read in the file's currency, {file.currency}, and this run "
                              f"is priced in {currency}: put `currency: {currency}` at the top of the file")
        prices = {k: _price(v, currency, f"price file {path}", where) for k, v in by_resolution.items()}
        merged = {"*": prices["*"]} if "*" in prices else dict(book[model.id])
        merged.update(prices)
        book[model.id] = MappingProxyType(merged)
    return MappingProxyType(book)


def _read_price_file(path: Path) -> _PriceFile:
    # Read as safely as a storyboard: a regular file, bounded in size, depth and alias expansion.
    from orchestrator.storyboard.compose import TooLarge, check_bounds
    from orchestrator.storyboard.reading import read_text

    try:
        text = read_text(path, str(path), "price file")
        check_bounds(text)
        raw = yaml.safe_load(text)
        fields = {"currency": raw.pop("currency")} if isinstance(raw, dict) and "currency" in raw else {}
        return _PriceFile.model_validate({**fields, "prices": raw})
    except StoryboardUnreadable as exc:
        raise ConfigError(exc.diagnostics[0].render()) from None
    except TooLarge as exc:
        raise ConfigError(f"{path}:{exc.line}:{exc.col}: {exc.message}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML/JSON: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["loc"][0] == "currency":
            raise ConfigError(f"{path}: currency: USD or CNY, not {first['input']!r}") from None
        where = str(first["loc"][1]) if len(first["loc"]) > 1 else "the file"  # the rest names union branches
        raise ConfigError(f"{path}: {where}: expected a price per 1M tokens in the region's currency or "
                          "{usd_per_mtok, silent_usd_per_mtok, video_input_usd_per_mtok} (cny_... on Volcengine)"
                          ) from None


def _price(entry: float | _PriceOverride, currency: str, source: str, where: str) -> Price:
    if not isinstance(entry, _PriceOverride):
        return Price(float(entry), source=source)
    try:
        values = entry.values(currency)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    per_mtok = values["per_mtok"]
    assert per_mtok is not None, "values() requires it"
    return Price(per_mtok, values["silent_per_mtok"], values["video_input_per_mtok"], True, source)
