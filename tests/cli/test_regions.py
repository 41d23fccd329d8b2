"""Regions through the real command line: which region a run is on, ids of the other region, endpoints, budgets and
prices in the region's currency (CNY on Volcengine), and the journal that keeps one currency."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrator.config import load_prices
from orchestrator.engine.journal import Journal
from orchestrator.engine.keys import shot_params
from orchestrator.engine.plan import make_plan
from orchestrator.engine.request import build_request
from orchestrator.errors import ConfigError
from orchestrator.profiles import Region, RegionChoice, chosen_region, region_of_url
from orchestrator.simulator.server import SimulatorServer
from orchestrator.storyboard.validate import check_file
from tests.conftest import run_cli

ENDPOINT = "ep-20250611150425-abcde"
VOLC_PRO = "doubao-seedance-1-0-pro-250528"


def storyboard(folder: Path, body: str, name: str = "board.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def worked_example(folder: Path, extra: str = "") -> Path:
    return storyboard(folder, f"""version: 1
name: volc-ad
shots:
  - id: open
    model: {VOLC_PRO}
    resolution: 1080p
    ratio: "16:9"
    duration: 5
    prompt: "A red apple on a table"
{extra}""")


@pytest.fixture(autouse=True)
def no_region_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORCHESTRATOR_REGION", "ARK_BASE_URL", "ARK_API_KEY"):
        monkeypatch.delenv(name, raising=False)


# --- where the region comes from ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "region"), [
    ("https://ark.ap-southeast.bytepluses.com/api/v3", Region.BYTEPLUS),
    ("https://ark.cn-beijing.volces.com/api/v3", Region.VOLCENGINE),
    ("http://127.0.0.1:8123/api/v3", None),
    ("https://evilvolces.com/api/v3", None),
    (None, None),
])
def test_the_host_of_ark_base_url_names_the_region(url: str | None, region: Region | None) -> None:
    assert region_of_url(url) is region


def test_the_setting_comes_first_and_must_agree_with_the_base_url() -> None:
    choice = chosen_region(Region.BYTEPLUS, "http://127.0.0.1:8123/api/v3")  # a simulator or proxy: no region
    assert choice == RegionChoice(Region.BYTEPLUS, "ORCHESTRATOR_REGION")
    assert chosen_region(None, "https://ark.cn-beijing.volces.com/api/v3") == RegionChoice(Region.VOLCENGINE,
                                                                                           "ARK_BASE_URL")
    with pytest.raises(ConfigError, match="ORCHESTRATOR_REGION says BytePlus, but ARK_BASE_URL"):
        chosen_region(Region.BYTEPLUS, "https://ark.cn-beijing.volces.com/api/v3")


# --- the worked example ---------------------------------------------------------------------------------------------
def test_a_volcengine_storyboard_plans_in_cny_with_exact_tokens(tmp_path: Path) -> None:
    """doubao-seedance-1-0-pro-250528, 1080p 16:9, 5 s: 1920x1088, 246,840 tokens, at 15 CNY/1M = 3.7026 CNY."""
    checked = check_file(worked_example(tmp_path))
    assert checked.region.region is Region.VOLCENGINE  # every id is a doubao- id
    plan = make_plan(checked)
    shot = plan.shots[0]
    assert (shot.model, shot.width, shot.height, shot.tokens) == (VOLC_PRO, 1920, 1088, 246_840)
    assert shot.cost == Decimal("3.7026") and shot.price_confirmed
    assert (plan.currency, plan.region, plan.cost) == ("CNY", "volcengine", Decimal("3.7026"))


def test_validate_and_plan_show_cny(tmp_path: Path) -> None:
    path = worked_example(tmp_path, "budget_cny: 3.70\n")
    valid = run_cli("validate", path)
    assert valid.code == 0, valid.stderr
    assert "estimated ¥3.70 on Volcengine" in valid.stdout
    table = run_cli("plan", path, "--out", tmp_path / "runs")
    assert table.code == 3  # 3.7026 is over a budget of 3.70
    assert "246,840 tokens, ¥3.70" in table.stdout and "budget ¥3.70 - OVER BUDGET" in table.stdout
    assert "CNY" in table.stdout
    assert "planned cost ¥3.7026 exceeds the budget of ¥3.70 (budget_cny in" in table.stderr
    plan = json.loads(run_cli("plan", path, "--json", "--budget", "4", "--out", tmp_path / "runs").stdout)
    assert (plan["currency"], plan["region"], plan["cny"], plan["budget_cny"]) == ("CNY", "volcengine", 3.7, 4.0)
    assert plan["shots"][0]["cny"] == 3.7026 and plan["shots"][0]["tokens"] == 246_840
    assert "usd" not in plan and plan["over_budget"] is False


def test_a_byteplus_plan_keeps_its_json_keys(tmp_path: Path) -> None:
    path = storyboard(tmp_path, "version: 1\nshots:\n  - {id: a, model: seedance-1-0-pro-250528, prompt: x}\n")
    plan = json.loads(run_cli("plan", path, "--json", "--out", tmp_path / "runs").stdout)
    assert (plan["currency"], plan["region"], plan["budget_usd"]) == ("USD", "byteplus", None)
    assert plan["usd"] == pytest.approx(246_840 * 2.5 / 1e6, abs=0.01) and "cny" not in plan


# --- ids of the other region ----------------------------------------------------------------------------------------
def test_an_id_of_the_other_region_names_the_right_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = worked_example(tmp_path)
    monkeypatch.setenv("ARK_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3")
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"{path}:5:12: shots[0].model: doubao-seedance-1-0-pro-250528 is the Volcengine id of Seedance 1.0 pro; "
        "this run is on BytePlus (ARK_BASE_URL): use seedance-1-0-pro-250528",
    ]
    flagged = run_cli("plan", path, "--region", "byteplus")
    assert flagged.code == 2 and "this run is on BytePlus (--region): use seedance-1-0-pro-250528" in flagged.stderr
    monkeypatch.setenv("ARK_BASE_URL", "https://ark.cn-beijing.volces.com/api/v3")
    assert run_cli("validate", path).code == 0


def test_a_storyboard_mixing_both_families_is_an_error_on_the_minority(tmp_path: Path) -> None:
    path = storyboard(tmp_path, f"""version: 1
defaults: {{model: {VOLC_PRO}}}
shots:
  - {{id: a, prompt: x}}
  - {{id: b, prompt: x, model: doubao-seedance-1-0-pro-fast-251015}}
  - {{id: c, prompt: x, model: seedance-1-0-pro-fast-251015}}
""")
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stderr.splitlines() == [
        f"{path}:6:31: shots[2].model: seedance-1-0-pro-fast-251015 is the BytePlus id of Seedance 1.0 pro-fast; "
        "this run is on Volcengine (most of the storyboard's model ids): use doubao-seedance-1-0-pro-fast-251015",
    ]


def test_a_budget_in_the_other_currency_names_the_right_key(tmp_path: Path) -> None:
    path = worked_example(tmp_path, "budget_usd: 5\n")
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stderr.strip() == (f"{path}:10:1: budget_usd: a budget in USD; this run is on Volcengine (the "
                                     "storyboard's model ids), billed in CNY: use budget_cny")


# --- endpoints ------------------------------------------------------------------------------------------------------
def endpoint_board(folder: Path, shot_extra: str = "") -> Path:
    return storyboard(folder, f"""version: 1
name: via-endpoint
endpoints:
  {ENDPOINT}: {VOLC_PRO}
shots:
  - id: open
    model: {ENDPOINT}
    resolution: 480p
    ratio: "16:9"
    duration: 2
    prompt: "A red apple"
{shot_extra}""")


def test_an_endpoint_with_its_declared_model_validates_and_its_request_carries_the_endpoint(tmp_path: Path) -> None:
    checked = check_file(endpoint_board(tmp_path))
    spec = checked.specs["open"]
    assert checked.region.region is Region.VOLCENGINE  # the family of the model it serves
    assert spec.endpoint == ENDPOINT and spec.model is not None and spec.model.id == VOLC_PRO
    assert build_request(spec, tmp_path, seed=5, parent_frame=None).model == ENDPOINT
    params = shot_params(spec, tmp_path, None)
    assert (params["model"], params["serves"]) == (ENDPOINT, VOLC_PRO)  # the key holds what is sent and served
    plan = make_plan(checked)
    assert (plan.shots[0].endpoint, plan.shots[0].model, plan.currency) == (ENDPOINT, VOLC_PRO, "CNY")
    assert plan.shots[0].cost == Decimal(864 * 480 * 49 // 1024) * 15 / 1_000_000
    assert run_cli("validate", checked.path).code == 0


@pytest.mark.parametrize(("extra", "where", "message"), [
    ("    generate_audio: true\n", "shots[0].generate_audio", f"{VOLC_PRO} cannot generate audio"),
    ("    first_frame: null\n    references: {images: [https://example.com/a.png]}\n", "shots[0].references",
     f"reference media is not supported by {VOLC_PRO}"),
    ("    frames: 30\n", "shots[0].frames", "30 is not allowed (25+4n"),
])
def test_what_the_declared_model_lacks_is_caught_before_any_request(
        tmp_path: Path, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch, extra: str, where: str,
        message: str) -> None:
    monkeypatch.setenv("ARK_API_KEY", "k")
    monkeypatch.setenv("ARK_BASE_URL", sim.base_url)
    path = endpoint_board(tmp_path, extra)
    result = run_cli("run", path, "--out", tmp_path / "runs", "--yes")
    assert result.code == 2
    assert f": {where}: {message}" in result.stderr
    assert not {k: v for k, v in sim.stats()["counters"].items() if k.startswith("requests.")}


def test_an_undeclared_endpoint_says_how_to_declare_it(tmp_path: Path) -> None:
    path = storyboard(tmp_path, f"version: 1\nshots:\n  - {{id: a, prompt: x, model: {ENDPOINT}}}\n")
    result = run_cli("validate", path)
    assert result.code == 2
    assert result.stderr.strip() == (
        f"{path}:3:31: shots[0].model: '{ENDPOINT}' is an endpoint id: declare the model it serves so that its rules "
        f"can be checked, in a top-level section `endpoints: {{{ENDPOINT}: seedance-1-0-pro-250528}}` (any model id "
        "of BytePlus)")


def test_the_endpoints_section_is_checked(tmp_path: Path) -> None:
    path = storyboard(tmp_path, f"""version: 1
endpoints:
  EP-BAD: {VOLC_PRO}
  ep-2: seedance-9
  ep-3: seedance-1-0-pro-250528
shots:
  - {{id: a, prompt: x, model: ep-3}}
""")
    result = run_cli("validate", path, "--region", "volcengine")
    assert result.code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}:3:3: endpoints.EP-BAD: 'EP-BAD' is not an endpoint id: ep- then lowercase letters, " \
                       "digits and '-'"
    assert lines[1].startswith(f"{path}:4:9: endpoints.ep-2: 'seedance-9' is not a known model")
    assert lines[3] == (f"{path}:5:9: endpoints.ep-3: seedance-1-0-pro-250528 is the BytePlus id of Seedance 1.0 "
                        f"pro; this run is on Volcengine (--region): use {VOLC_PRO}")
    assert lines[2] == f"{path}:4:9: warning: endpoints.ep-2: no shot uses endpoint ep-2"


def test_a_region_setting_that_contradicts_the_base_url_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("ARK_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3")
    result = run_cli("plan", worked_example(tmp_path), "--region", "volcengine")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr == ("orchestrator: --region says Volcengine, but ARK_BASE_URL (https://ark.ap-southeast."
                             "bytepluses.com/api/v3) is a BytePlus host: change or unset one of them\n")
    monkeypatch.setenv("ORCHESTRATOR_REGION", "volcengine")
    result = run_cli("validate", worked_example(tmp_path))
    assert result.code == 2 and result.stderr.startswith("orchestrator: ORCHESTRATOR_REGION says Volcengine, but")
    doctor = run_cli("doctor", "--out", tmp_path / "runs")
    assert doctor.code == 1
    assert doctor.stdout.splitlines()[0].startswith("FAIL  region: ORCHESTRATOR_REGION says Volcengine, but")


def test_the_flag_beats_the_setting_and_a_malformed_base_url_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_REGION", "byteplus")
    plan = json.loads(run_cli("plan", "--json", worked_example(tmp_path), "--region", "volcengine").stdout)
    assert (plan["region"], plan["currency"]) == ("volcengine", "CNY")
    monkeypatch.delenv("ORCHESTRATOR_REGION")
    monkeypatch.setenv("ARK_BASE_URL", "http://[bad")
    result = run_cli("validate", worked_example(tmp_path))
    assert result.code == 2
    assert result.stderr.startswith("orchestrator: ARK_BASE_URL: not a URL (") and result.stderr.count("\n") == 1


def test_an_endpoint_serving_a_retired_model_warns_like_the_model_itself(tmp_path: Path) -> None:
    path = storyboard(tmp_path, """version: 1
endpoints: {ep-20250611150425-abcde: doubao-seedance-1-5-pro-251215}
shots:
  - {id: a, model: ep-20250611150425-abcde, prompt: "a cat", duration: 5}
""")
    (warning,) = check_file(path).warnings
    assert warning.render().startswith(f"{path}:4:20: warning: shots[0].model: ep-20250611150425-abcde serves "
                                       "doubao-seedance-1-5-pro-251215, which was scheduled for deactivation on "
                                       "2026-11-11")


# --- prices and the journal -----------------------------------------------------------------------------------------
def test_the_price_file_is_in_the_region_s_currency_and_takes_either_id(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text('seedance-1-0-pro-250528: {"*": {cny_per_mtok: 10}}\n', encoding="utf-8")
    book = load_prices(prices, Region.VOLCENGINE)
    assert book[VOLC_PRO]["*"].per_mtok == 10.0
    assert make_plan(check_file(worked_example(tmp_path)), book).cost == Decimal("2.46840")
    prices.write_text(f'{VOLC_PRO}: {{"*": {{usd_per_mtok: 1.5}}}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="usd_per_mtok is in USD; this run is priced in CNY: use cny_per_mtok"):
        load_prices(prices, Region.VOLCENGINE)
    assert load_prices(prices, Region.BYTEPLUS)["seedance-1-0-pro-250528"]["*"].per_mtok == 1.5


def test_a_bare_number_is_in_the_file_s_currency_and_never_read_in_another(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(f"{VOLC_PRO}: 0.7\n", encoding="utf-8")  # no currency line: USD, as every older file
    assert load_prices(prices, Region.BYTEPLUS)["seedance-1-0-pro-250528"]["*"].per_mtok == 0.7
    with pytest.raises(ConfigError) as refused:
        load_prices(prices, Region.VOLCENGINE)
    assert str(refused.value) == (f"{prices}: {VOLC_PRO}: a bare number is read in the file's currency, USD, and this "
                                  "run is priced in CNY: put `currency: CNY` at the top of the file")
    prices.write_text(f"currency: CNY\n{VOLC_PRO}: 12\n", encoding="utf-8")
    assert load_prices(prices, Region.VOLCENGINE)[VOLC_PRO]["*"].per_mtok == 12.0
    with pytest.raises(ConfigError, match="the file's currency, CNY, and this run is priced in USD"):
        load_prices(prices, Region.BYTEPLUS)
    prices.write_text(f"currency: EUR\n{VOLC_PRO}: 12\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="currency: USD or CNY, not 'EUR'"):
        load_prices(prices, Region.VOLCENGINE)


def test_a_run_directory_keeps_its_currency(tmp_path: Path) -> None:
    """A run directory made on BytePlus (USD) is not resumed on Volcengine (CNY), and the other way round."""
    out = tmp_path / "runs"
    journal = Journal(out / "volc-ad" / "journal.sqlite")
    journal.set_meta("currency", "USD")
    journal.set_meta("region", "byteplus")
    journal.close()
    result = run_cli("plan", worked_example(tmp_path), "--out", out)
    assert result.code == 2
    assert result.stderr.strip() == (
        f"orchestrator: {out / 'volc-ad'} holds a run on BytePlus, priced in USD; this one is on Volcengine (CNY): "
        "run it on BytePlus (ORCHESTRATOR_REGION=byteplus) or give another --out")


def test_a_bad_region_setting_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_REGION", "mars")
    result = run_cli("validate", worked_example(tmp_path))
    assert result.code == 2
    assert result.stderr.startswith("orchestrator: ORCHESTRATOR_REGION: Input should be 'byteplus' or 'volcengine'")
