"""Provider profiles: the two regions that serve Seedance, their hosts, model-id families and currencies. Data.

BytePlus ModelArk (ap-southeast) names the models `seedance-...` / `dreamina-seedance-...` and bills in USD;
Volcengine Ark (cn-beijing) names the same models `doubao-seedance-...` and bills in CNY (reference §1, §2, §10).
API keys, endpoints and model activation are region-scoped, so a run is on exactly one region.

Which region a run is on: the setting (`ORCHESTRATOR_REGION` or `--region`), else the host of `ARK_BASE_URL`, else
the family of the storyboard's model ids (the larger family when they are mixed), else BytePlus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from orchestrator.errors import ConfigError


class Region(StrEnum):
    """Where the tasks run (and which ids, base URL and currency apply)."""

    BYTEPLUS = "byteplus"
    VOLCENGINE = "volcengine"


@dataclass(frozen=True)
class Currency:
    """A currency money is shown and budgeted in."""

    code: str  # USD, CNY
    symbol: str

    @property
    def key(self) -> str:
        """Lower-case code: the suffix of budget keys and JSON money keys (budget_usd, budget_cny)."""
        return self.code.lower()

    def show(self, amount: float, places: int = 2) -> str:
        """An amount with its symbol, e.g. '$1.25' or '¥3.70'."""
        return f"{self.symbol}{amount:,.{places}f}"


USD = Currency("USD", "$")
CNY = Currency("CNY", "¥")


@dataclass(frozen=True)
class Profile:
    """One region as the orchestrator sees it."""

    region: Region
    label: str
    base_url: str
    host_suffix: str  # ARK_BASE_URL hosts ending in this belong to the region
    currency: Currency

    @property
    def budget_key(self) -> str:
        """The storyboard key that holds a budget in this region's currency."""
        return f"budget_{self.currency.key}"

    @property
    def total_budget_key(self) -> str:
        """The storyboard key that caps all runs of a run directory together, in this region's currency."""
        return f"budget_total_{self.currency.key}"


PROFILES: Mapping[Region, Profile] = MappingProxyType({
    Region.BYTEPLUS: Profile(Region.BYTEPLUS, "BytePlus", "https://ark.ap-southeast.bytepluses.com/api/v3",
                             "bytepluses.com", USD),
    Region.VOLCENGINE: Profile(Region.VOLCENGINE, "Volcengine", "https://ark.cn-beijing.volces.com/api/v3",
                               "volces.com", CNY),
})
CURRENCIES: Mapping[str, Currency] = MappingProxyType({p.currency.code: p.currency for p in PROFILES.values()})

# Volcengine ids: "Volcengine uses the doubao- prefix for all (e.g. doubao-seedance-2-0-260128)" [DOC §2]. The
# `dreamina-` of the BytePlus 2.x ids is BytePlus branding and is dropped, as that example shows. Only the ids below
# are printed in the reference; every other Volcengine id follows the rule [INF].
VOLCENGINE_PREFIX = "doubao-"
DOCUMENTED_VOLCENGINE_IDS = frozenset({"doubao-seedance-2-0-260128"})
ENDPOINT_PREFIX = "ep-"  # `model` may be an endpoint id (ep-...) [DOC §1]
ENDPOINT_PATTERN = r"^ep-[a-z0-9][a-z0-9-]*$"  # observed shape ep-<YYYYMMDDHHMMSS>-<5 alnum>; kept loose


def volcengine_id(byteplus_id: str) -> str:
    """The Volcengine id of a model from its BytePlus id: doubao- + the id without a leading dreamina-."""
    return VOLCENGINE_PREFIX + byteplus_id.removeprefix("dreamina-")


def id_documented(model_id: str) -> bool:
    """Whether the reference prints this exact id (False: derived by the documented prefix rule)."""
    return not model_id.startswith(VOLCENGINE_PREFIX) or model_id in DOCUMENTED_VOLCENGINE_IDS


def family_of(model_id: str) -> Region | None:
    """The region whose id family this id belongs to by its shape; None for endpoint ids."""
    if model_id.startswith(ENDPOINT_PREFIX):
        return None
    return Region.VOLCENGINE if model_id.startswith(VOLCENGINE_PREFIX) else Region.BYTEPLUS


def region_of_url(url: str | None) -> Region | None:
    """The region an ARK_BASE_URL points at, by its host; None for other hosts (a simulator, a proxy)."""
    try:
        host = (urlsplit(url).hostname or "") if url else ""
    except ValueError as exc:
        raise ConfigError(f"ARK_BASE_URL: not a URL ({exc})") from None
    return next((p.region for p in PROFILES.values() if host == p.host_suffix or host.endswith("." + p.host_suffix)),
                None)


@dataclass(frozen=True)
class RegionChoice:
    """The region of a run and what decided it (said in errors: the user must know which knob to turn)."""

    region: Region
    reason: str

    @property
    def profile(self) -> Profile:
        """The region's profile."""
        return PROFILES[self.region]


DEFAULT_REGION = RegionChoice(Region.BYTEPLUS, "the default")  # when nothing names a region


def chosen_region(setting: Region | None, base_url: str | None, source: str = "ORCHESTRATOR_REGION"
                  ) -> RegionChoice | None:
    """The region the user chose (setting first, then ARK_BASE_URL's host); None leaves it to the storyboard.

    A setting that contradicts ARK_BASE_URL's host is refused: the ids and prices of one region would go to the
    other's servers, and a key that works there would hide it until every create came back 404."""
    found = region_of_url(base_url)
    if setting is not None and found is not None and found is not setting:
        raise ConfigError(f"{source} says {PROFILES[setting].label}, but ARK_BASE_URL ({base_url}) is a "
                          f"{PROFILES[found].label} host: change or unset one of them")
    if setting is not None:
        return RegionChoice(setting, source)
    return None if found is None else RegionChoice(found, "ARK_BASE_URL")


def region_of_ids(families: Iterable[Region]) -> RegionChoice:
    """The region a storyboard's model ids point at: their family, the larger one when mixed, BytePlus on a tie."""
    counts = {region: 0 for region in Region}
    for family in families:
        counts[family] += 1
    mixed = all(counts.values())
    ids = "most of the storyboard's model ids" if mixed else "the storyboard's model ids"
    if counts[Region.VOLCENGINE] > counts[Region.BYTEPLUS]:
        return RegionChoice(Region.VOLCENGINE, ids)
    return RegionChoice(Region.BYTEPLUS, ids) if counts[Region.BYTEPLUS] else DEFAULT_REGION


def money_keys(body: Any, currency: str) -> Any:
    """JSON data with its amounts named by their currency: `amount` -> `usd` or `cny`, `budget` -> `budget_usd`,
    `budget_total` -> `budget_total_usd`, `amount_to_generate` -> `usd_to_generate` (so a USD consumer reads the keys
    it always read)."""
    code = currency.lower()
    names = {"amount": code, "budget": f"budget_{code}", "budget_total": f"budget_total_{code}",
             "amount_to_generate": f"{code}_to_generate"}
    if isinstance(body, dict):
        return {names.get(k, k): money_keys(v, currency) for k, v in body.items()}
    if isinstance(body, list | tuple):
        return [money_keys(v, currency) for v in body]
    return body
