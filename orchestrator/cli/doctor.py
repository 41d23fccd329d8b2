"""`orchestrator doctor`: a preflight in seconds that spends nothing. One line per check; exit 0 when all pass."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import httpx
import typer

from orchestrator.api.client import ArkClient
from orchestrator.assembly.capability import ffmpeg_report
from orchestrator.engine import preflight
from orchestrator.engine.backend import SIM_KEY, BackendKind, default_kind, provider_url
from orchestrator.engine.plan import make_plan
from orchestrator.engine.preflight import Check
from orchestrator.errors import ConfigError, StoryboardInvalid
from orchestrator.profiles import DEFAULT_REGION, PROFILES, RegionChoice
from orchestrator.storyboard.validate import CheckedStoryboard, check_file

from .runs import BackendOpt, OutOpt, RegionOpt, region_of, settings_of

# A preflight must answer in seconds: one attempt, and a short wait for a host that does not answer.
TIMEOUT = httpx.Timeout(preflight.PROVIDER_TIMEOUT_S, connect=5.0)


def doctor(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A storyboard: also check it, its region and the disk its "
                                                "films need", show_default=False)] = None,
    out: OutOpt = None,
    backend: BackendOpt = None,
    region: RegionOpt = None,
) -> None:
    """Check, without spending anything, that runs will work here: the key and region, ffmpeg, the run folder, the
    price file (and the simulator when it is the backend). Exit 0 when every check passes, 1 if not."""
    settings = settings_of(ctx)
    kind = backend or default_kind()
    checks: list[Check] = []
    try:
        choice = region_of(ctx, region)
    except ConfigError as exc:  # the region setting and ARK_BASE_URL disagree
        checks.append(Check("region", False, str(exc)))
        choice = None
    checked = _storyboard(file, choice, checks)
    if checked is not None:
        choice = checked.region
    choice = choice or DEFAULT_REGION
    checks.append(asyncio.run(_provider(kind, choice)))
    report = ffmpeg_report()
    checks.append(Check("ffmpeg", report.ok, report.line().removeprefix("ffmpeg ")))
    need = None if checked is None else preflight.film_bytes(_pixel_frames(checked))
    checks.append(preflight.check_folder(out or settings.out, need))
    checks.append(preflight.check_prices(settings.prices, choice.region))
    for check in checks:
        typer.echo(check.line())
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


def _storyboard(file: Path | None, choice: RegionChoice | None, checks: list[Check]) -> CheckedStoryboard | None:
    if file is None:
        return None
    try:
        checked = check_file(file, str(file), region=choice)
    except StoryboardInvalid as exc:
        more = len(exc.diagnostics) - 1
        tail = f" (and {more} more: orchestrator validate)" if more else ""
        checks.append(Check("storyboard", False, exc.diagnostics[0].render() + tail))
        return None
    except ConfigError as exc:
        checks.append(Check("storyboard", False, str(exc)))
        return None
    checks.append(Check("storyboard", True, f"{file}: valid, {len(checked.specs)} shot(s), region "
                        f"{checked.region.profile.label} ({checked.region.reason})"))
    return checked


def _pixel_frames(checked: CheckedStoryboard) -> int:
    """Pixels x frames of every clip the storyboard makes (films re-use the clips, so they scale with this)."""
    plan = make_plan(checked)
    return sum(shot.width * shot.height * shot.frames for shot in plan.shots)


async def _provider(kind: BackendKind, choice: RegionChoice) -> Check:
    profile = choice.profile
    if kind is BackendKind.SIM:
        return await _simulator(choice)
    base_url = provider_url(choice.region)
    where = f"{profile.label} ({choice.reason}) at {base_url}"
    try:
        client = ArkClient(base_url=base_url, max_attempts=1, timeout=TIMEOUT)
    except ConfigError as exc:
        return Check("provider", False, f"{where}: {exc}")
    async with client:
        return await preflight.check_provider(client, "provider", where)


async def _simulator(choice: RegionChoice) -> Check:
    """The built-in simulator, started as a run would start it (in memory: doctor writes nothing), asked once."""
    from orchestrator.simulator.config import SimConfig  # the simulator stack loads only when used
    from orchestrator.simulator.server import SimulatorServer

    server = SimulatorServer(SimConfig(region=choice.region.value)).start()
    try:
        where = (f"built-in, as {PROFILES[choice.region].label}, at {server.base_url} (no ARK_API_KEY set, or "
                 "--backend sim: money is simulated)")
        async with ArkClient(SIM_KEY, base_url=server.base_url, max_attempts=1, timeout=TIMEOUT) as client:
            return await preflight.check_provider(client, "simulator", where)
    finally:
        server.stop()
