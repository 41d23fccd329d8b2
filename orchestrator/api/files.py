"""Writing a streamed download to disk durably, and checking that it arrived whole."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from orchestrator.api.errors import DownloadFailed


async def write_body(response: httpx.Response, part: Path) -> int:
    """Stream the response body into `part`, fsync it, and return the bytes written."""
    size = 0
    with part.open("wb") as f:
        async for chunk in response.aiter_bytes():
            f.write(chunk)
            size += len(chunk)
        f.flush()
        await asyncio.to_thread(os.fsync, f.fileno())  # fsync of a large clip would stall the event loop
    return size


def check_length(response: httpx.Response, size: int, url: str) -> None:
    """Raise when the body is shorter or longer than Content-Length promised."""
    header = response.headers.get("content-length")
    if header is None or not header.isdigit():
        return
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    # A server that compresses anyway counts Content-Length before decoding, so compare bytes on the wire then.
    expected, got = int(header), response.num_bytes_downloaded if encoded else size
    if got != expected:
        raise DownloadFailed(url, "body length differs from Content-Length", expected=expected, got=got,
                             retryable=True)


def fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory, and that is not worth failing over."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
