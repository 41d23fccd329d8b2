"""Downloads are atomic: the whole file under its name, or nothing (and an older file left alone)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from orchestrator.api import ArkClient, DownloadFailed
from orchestrator.api import retry as policy
from tests.api.conftest import Sleeps

pytestmark = pytest.mark.anyio
MakeClient = Callable[..., ArkClient]
URL = "https://tos.example/out/video.mp4?X-Tos-Signature=s3cr3t&X-Tos-Expires=86400"
BODY = bytes(range(256)) * 40


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in chunks and may break off with a transport error."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error = chunks, error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error


def whole() -> httpx.Response:
    return httpx.Response(200, headers={"content-length": str(len(BODY))}, stream=Chunks([BODY[:4000], BODY[4000:]]))


def truncated() -> httpx.Response:
    return httpx.Response(200, headers={"content-length": str(len(BODY))}, stream=Chunks([BODY[:1000]]))


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_download_writes_the_file_without_sending_the_key(make_client: MakeClient, tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return whole()

    dest = tmp_path / "shots" / "a" / "clip.mp4"
    async with make_client(server) as ark:
        assert await ark.download(URL, dest) == len(BODY)
    assert dest.read_bytes() == BODY and leftovers(dest.parent) == ["clip.mp4"]
    assert "authorization" not in seen[0].headers  # presigned URLs on another host never see the API key
    assert seen[0].headers["accept-encoding"] == "identity"
    assert str(seen[0].url) == URL


async def test_download_without_content_length(make_client: MakeClient, tmp_path: Path) -> None:
    async with make_client(lambda r: httpx.Response(200, stream=Chunks([b"abc", b"def"]))) as ark:
        assert await ark.download(URL, tmp_path / "f") == 6
    assert (tmp_path / "f").read_bytes() == b"abcdef"


async def test_truncated_download_leaves_no_file(make_client: MakeClient, sleeps: Sleeps, tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    calls: list[int] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return truncated()

    async with make_client(server) as ark:
        with pytest.raises(DownloadFailed) as info:
            await ark.download(URL, dest)
    assert leftovers(tmp_path) == []
    assert (info.value.expected, info.value.got) == (len(BODY), 1000)
    assert info.value.url == "https://tos.example/out/video.mp4" and "s3cr3t" not in str(info.value)
    assert len(calls) == policy.MAX_ATTEMPTS and len(sleeps.waits) == policy.MAX_ATTEMPTS - 1


async def test_truncation_is_retried_until_whole(make_client: MakeClient, tmp_path: Path) -> None:
    replies = [truncated(), whole()]
    async with make_client(lambda r: replies.pop(0)) as ark:
        assert await ark.download(URL, tmp_path / "clip.mp4") == len(BODY)
    assert leftovers(tmp_path) == ["clip.mp4"]


async def test_connection_lost_mid_body_leaves_no_file(make_client: MakeClient, tmp_path: Path) -> None:
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks([BODY[:500]], httpx.ReadError("connection reset")))

    async with make_client(server, max_attempts=2) as ark:
        with pytest.raises(DownloadFailed) as info:
            await ark.download(URL, tmp_path / "clip.mp4")
    assert leftovers(tmp_path) == [] and "ReadError" in str(info.value.__cause__) + str(info.value)


async def test_failed_download_keeps_an_older_file(make_client: MakeClient, tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"take one")
    async with make_client(lambda r: truncated(), max_attempts=1) as ark:
        with pytest.raises(DownloadFailed):
            await ark.download(URL, dest)
    assert dest.read_bytes() == b"take one" and leftovers(tmp_path) == ["clip.mp4"]


@pytest.mark.parametrize("status", [403, 404])
async def test_refused_download_is_not_retried(make_client: MakeClient, tmp_path: Path, status: int) -> None:
    calls: list[int] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, text="<Error><Code>AccessDenied</Code></Error>")

    async with make_client(server) as ark:
        with pytest.raises(DownloadFailed) as info:
            await ark.download(URL, tmp_path / "clip.mp4")
    assert len(calls) == 1 and leftovers(tmp_path) == [] and not info.value.retryable
    assert str(status) in str(info.value) and "s3cr3t" not in str(info.value.__cause__)


async def test_server_errors_on_download_are_retried(make_client: MakeClient, tmp_path: Path) -> None:
    replies: list[httpx.Response | Exception] = [httpx.Response(503), httpx.ConnectError("refused"), whole()]

    def server(request: httpx.Request) -> httpx.Response:
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async with make_client(server) as ark:
        assert await ark.download(URL, tmp_path / "clip.mp4") == len(BODY)


async def test_disk_errors_become_download_failed(make_client: MakeClient, tmp_path: Path) -> None:
    (tmp_path / "shots").write_text("a file where a directory should be")
    async with make_client(lambda r: whole()) as ark:
        with pytest.raises(DownloadFailed, match="cannot write") as info:
            await ark.download(URL, tmp_path / "shots" / "clip.mp4")
    assert isinstance(info.value.__cause__, OSError) and not info.value.retryable
    assert leftovers(tmp_path) == ["shots"]
