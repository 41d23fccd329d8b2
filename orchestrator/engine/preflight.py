"""`doctor`'s checks: will this machine and account run a storyboard? Each check is one line, spends nothing and
takes seconds: the key and region are tried with one list call of one task, ffmpeg is asked what it can do, the
run folder is written to and its free space compared with what the films need, the price file is read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.api.client import ArkClient
from orchestrator.api.errors import ApiError
from orchestrator.config import load_prices
from orchestrator.errors import ConfigError
from orchestrator.profiles import PROFILES, Region

# Clip, its normalised intermediate and its share of every film, at the bit rate the provider's H.264 and our
# CRF 18 intermediates come to on generated footage (about 0.15 bit per pixel each): an estimate, said as one.
BITS_PER_PIXEL = 0.45
PROVIDER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Check:
    """One line of `doctor`: what was checked, whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The printed form, e.g. 'ok    ffmpeg: bundled n9.0.2 ...'."""
        return f"{'ok' if self.ok else 'FAIL':<5} {self.name}: {self.detail}"


async def check_provider(client: ArkClient, name: str, where: str) -> Check:
    """One list call of one task: the key, the base URL and the account's access, without creating anything."""
    try:
        page = await client.list(page_size=1)
    except ApiError as exc:
        return Check(name, False, f"{where}: {exc.describe()}")
    return Check(name, True, f"{where}: key accepted ({page.total} task(s) in the last 7 days)")


def check_prices(path: Path | None, region: Region) -> Check:
    """The price file parses and names known models (or there is none: the catalog's prices apply)."""
    currency = PROFILES[region].currency.code
    if path is None:
        return Check("prices", True, f"the catalog's {currency} prices (no ORCHESTRATOR_PRICES file)")
    try:
        load_prices(path, region)
    except ConfigError as exc:
        return Check("prices", False, str(exc))
    return Check("prices", True, f"{path}: valid, in {currency}")


def film_bytes(pixel_frames: int) -> int:
    """Disk a run needs for clips of this many pixels x frames in all: clip, intermediate and films."""
    return int(pixel_frames * BITS_PER_PIXEL / 8)


def check_folder(folder: Path, need: int | None) -> Check:
    """The run folder (or the nearest folder that exists, where `run` will create it) takes a file, and has room
    for `need` bytes when a storyboard says how many."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check("run folder", False, f"{folder}: {existing} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".doctor-", dir=existing)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        return Check("run folder", False, f"{folder}: cannot write in {existing}: {exc.strerror or exc}")
    free = shutil.disk_usage(existing).free
    where = folder if existing == folder else f"{folder} (created on first run, in {existing})"
    if need is not None and free < need:
        return Check("run folder", False, f"{where}: writable, but {_size(free)} free and the films need about "
                     f"{_size(need)}")
    needs = "" if need is None else f", the films need about {_size(need)}"
    return Check("run folder", True, f"{where}: writable, {_size(free)} free{needs}")


def _size(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"
