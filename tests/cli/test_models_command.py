"""`orchestrator models`: the catalog of both regions, as a table that fits 120 columns and as full JSON."""

from __future__ import annotations

import json

from orchestrator.models import CATALOG
from orchestrator.profiles import Region
from tests.conftest import run_cli


def test_the_table_lists_both_ids_sizes_and_both_prices_with_estimates_marked() -> None:
    result = run_cli("models")
    assert result.code == 0
    out = result.stdout
    for spec in CATALOG.values():
        assert spec.ids[Region.BYTEPLUS] in out and spec.ids[Region.VOLCENGINE] in out, spec.label
    assert "doubao-seedance-2-0-260128 *" not in out  # printed in the reference: not marked as inferred
    assert "doubao-seedance-1-0-pro-250528 *" in out  # derived by the prefix rule: marked
    assert "1080p 1920x1088" in out and "4k 3840x2160" in out  # 16:9 sizes per resolution
    assert "2..12" in out and "4..30 or -1" in out and "retires 2026-11-11" in out
    assert "refs 9 img" in out  # the reference scenario and its counts
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 2}
    assert rows["Seedance 1.0 pro"].rstrip("│ ").endswith("15")  # CNY, published: no mark
    assert "2.5 est" in rows["Seedance 1.0 pro"]  # USD, an estimate
    assert max(len(line) for line in out.splitlines()) <= 120


def test_json_holds_the_whole_catalog() -> None:
    result = run_cli("models", "--json")
    assert result.code == 0
    data = json.loads(result.stdout)
    models = {m["ids"]["byteplus"]: m for m in data["models"]}
    assert list(models) == list(CATALOG)
    pro = models["seedance-1-0-pro-250528"]
    assert pro["ids"]["volcengine"] == "doubao-seedance-1-0-pro-250528"
    assert pro["volcengine_id_documented"] is False
    assert models["dreamina-seedance-2-0-260128"]["volcengine_id_documented"] is True
    assert pro["resolutions"]["1080p"]["16:9"] == [1920, 1088] and pro["resolutions"]["480p"]["21:9"] == [960, 416]
    assert pro["durations"] == {"min": 2, "max": 12, "auto": False, "default": 5}
    assert (pro["frames"], pro["generate_audio"], pro["flex"], pro["references"]["images"]) == (True, False, True, 0)
    cny, usd = pro["prices_per_mtok"]["CNY"]["*"], pro["prices_per_mtok"]["USD"]["*"]
    assert (cny["per_mtok"], cny["confirmed"]) == (15.0, True)
    assert (usd["per_mtok"], usd["confirmed"]) == (2.5, False)
    mini = models["dreamina-seedance-2-0-mini-260615"]["prices_per_mtok"]["CNY"]["*"]
    assert mini["confirmed"] is False and "UNCONFIRMED" in mini["source"]
    two = models["dreamina-seedance-2-0-260128"]["prices_per_mtok"]["CNY"]
    hd = two["720p"]
    assert (hd["per_mtok"], hd["video_input_per_mtok"], hd["confirmed"]) == (46.0, 28.0, True)
    assert two["4k"]["confirmed"] is False  # one published CNY price; BytePlus prices 4k apart
    assert models["seedance-1-5-pro-251215"]["deactivates"] == "2026-11-11"
    assert data["regions"]["volcengine"] == {"label": "Volcengine", "base_url": "https://ark.cn-beijing.volces.com/api/v3",
                                             "currency": "CNY"}
