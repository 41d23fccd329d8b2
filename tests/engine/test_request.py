"""Create bodies (DESIGN.md §§4, 6): local media inline as data URLs of their exact bytes with a lowercase sniffed
format, the parent's frame passed unmodified, handoff by reference, and the summary kept for reconciliation."""

from __future__ import annotations

import base64
import json
import wave
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.request import HANDOFF_PROMPT, build_request, from_summary, image_format, summary
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.validate import check_file
from tests.conftest import make_image

MODEL = "dreamina-seedance-2-0-260128"
PARENT_URL = "https://ark-results.example.com/cgt-1/last_frame.png?X-Tos-Expires=86400&sig=a%2Fb"


def write_board(folder: Path, shots: list[dict[str, Any]], defaults: dict[str, Any] | None = None) -> Path:
    body = {"version": 1, "name": "req", "defaults": {"model": MODEL, "duration": 5, **(defaults or {})},
            "shots": shots}
    path = folder / "board.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def spec(path: Path, shot: str) -> ShotSpec:
    return check_file(path).specs[shot]


def body(path: Path, shot: str, seed: int = 1234, parent_frame: str | None = None) -> dict[str, Any]:
    return build_request(spec(path, shot), path.parent, seed, parent_frame).body()


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_wav(path: Path, seconds: float = 3.0, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * int(seconds * rate))
    return path


@pytest.mark.parametrize(("file_name", "pil_format", "expected"), [
    ("apple.png", "PNG", "png"),
    ("apple.jpg", "JPEG", "jpeg"),
    ("apple.webp", "WEBP", "webp"),
    ("misnamed.png", "JPEG", "jpeg"),  # the bytes decide, not the file name
])
def test_first_frame_file_travels_as_data_url_of_its_exact_bytes(tmp_path: Path, file_name: str, pil_format: str,
                                                                  expected: str) -> None:
    image = make_image(tmp_path / file_name, 640, 360, pil_format)
    board = write_board(tmp_path, [{"id": "a", "prompt": "an apple", "first_frame": file_name, "ratio": "16:9"}])
    sent = body(board, "a")
    assert sent["content"] == [
        {"type": "text", "text": "an apple"},
        {"type": "image_url", "image_url": {"url": f"data:image/{expected};base64,{b64(image)}"},
         "role": "first_frame"},
    ]
    url = sent["content"][1]["image_url"]["url"]
    assert base64.b64decode(url.split(",", 1)[1]) == image.read_bytes()


@pytest.mark.parametrize(("head", "expected"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
    (b"GIF89a\x01\x00", "gif"),
    (b"BM\x00\x00\x00\x00", "bmp"),
    (b"II*\x00\x08\x00", "tiff"),
    (b"MM\x00*\x00\x08", "tiff"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "heic"),
])
def test_image_format_is_sniffed_lowercase(head: bytes, expected: str) -> None:
    assert image_format(head) == expected
    assert image_format(head) == image_format(head).lower()


def test_remote_first_frame_is_sent_as_given(tmp_path: Path) -> None:
    url = "https://example.com/a.png"
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "first_frame": url}])
    assert body(board, "a")["content"][1] == {"type": "image_url", "image_url": {"url": url}, "role": "first_frame"}


def test_chained_shot_sends_the_parent_frame_unmodified_as_first_frame(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "ratio": "16:9"},
                                   {"id": "b", "after": "a", "prompt": "then"}])
    sent = body(board, "b", parent_frame=PARENT_URL)
    assert sent["content"] == [
        {"type": "text", "text": "then"},
        {"type": "image_url", "image_url": {"url": PARENT_URL}, "role": "first_frame"},
    ]
    inline = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nexact").decode()
    assert body(board, "b", parent_frame=inline)["content"][1]["image_url"]["url"] == inline
    assert sent["ratio"] == "adaptive"  # the chain default: the parent's frame is never cropped


def test_handoff_reference_sends_the_parent_frame_as_reference_image_one(tmp_path: Path) -> None:
    product = make_image(tmp_path / "bottle.png", 500, 800)
    board = write_board(tmp_path, [
        {"id": "a", "prompt": "p", "ratio": "16:9"},
        {"id": "b", "after": "a", "handoff": "reference", "prompt": "the bottle on the table",
         "references": {"images": ["bottle.png"]}},
    ])
    sent = body(board, "b", parent_frame=PARENT_URL)
    assert sent["content"] == [
        {"type": "text", "text": HANDOFF_PROMPT + "the bottle on the table"},
        {"type": "image_url", "image_url": {"url": PARENT_URL}, "role": "reference_image"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(product)}"},
         "role": "reference_image"},
    ]
    assert not any(c.get("role") in ("first_frame", "last_frame") for c in sent["content"])


def test_handoff_reference_without_a_prompt_is_the_instruction_alone(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "ratio": "16:9"},
                                   {"id": "b", "after": "a", "handoff": "reference"}])
    assert body(board, "b", parent_frame=PARENT_URL)["content"][0] == {"type": "text", "text": HANDOFF_PROMPT}


def test_last_frame_rides_after_the_first(tmp_path: Path) -> None:
    start = make_image(tmp_path / "start.png", 640, 360)
    end = make_image(tmp_path / "end.jpg", 640, 360, "JPEG")
    board = write_board(tmp_path, [
        {"id": "a", "prompt": "p", "first_frame": "start.png", "last_frame": "end.jpg"},
        {"id": "b", "after": "a", "prompt": "q", "last_frame": "end.jpg"},
    ])
    assert body(board, "a")["content"][1:] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(start)}"}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(end)}"}, "role": "last_frame"},
    ]
    assert [c.get("role") for c in body(board, "b", parent_frame=PARENT_URL)["content"]] == [
        None, "first_frame", "last_frame"]


def test_references_of_every_kind(tmp_path: Path) -> None:
    image = make_image(tmp_path / "cup.png", 600, 600)
    voice = write_wav(tmp_path / "voice.wav")
    board = write_board(tmp_path, [{
        "id": "a", "prompt": "hero shot", "ratio": "16:9",
        "references": {"images": ["cup.png", "https://example.com/logo.png"],
                       "videos": ["https://example.com/move.mp4"],
                       "audios": ["voice.wav", "https://example.com/music.mp3"]},
    }])
    assert body(board, "a")["content"] == [
        {"type": "text", "text": "hero shot"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(image)}"},
         "role": "reference_image"},
        {"type": "image_url", "image_url": {"url": "https://example.com/logo.png"}, "role": "reference_image"},
        {"type": "video_url", "video_url": {"url": "https://example.com/move.mp4"}, "role": "reference_video"},
        {"type": "audio_url", "audio_url": {"url": f"data:audio/wav;base64,{b64(voice)}"},
         "role": "reference_audio"},
        {"type": "audio_url", "audio_url": {"url": "https://example.com/music.mp3"}, "role": "reference_audio"},
    ]


def test_reference_audio_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    # The checker reads the container from the bytes (a WAV named .mp3 passes it as wav); the request must
    # label those bytes the same way, as it does for images.
    voice = write_wav(tmp_path / "voice.mp3")
    make_image(tmp_path / "cup.png", 600, 600)
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "ratio": "16:9",
                                    "references": {"images": ["cup.png"], "audios": ["voice.mp3"]}}])
    [audio] = [c for c in body(board, "a")["content"] if c["type"] == "audio_url"]
    assert audio["audio_url"]["url"] == f"data:audio/wav;base64,{b64(voice)}"


def test_parameters_return_last_frame_and_seed(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "ratio": "16:9", "resolution": "480p", "duration": 7,
                                    "watermark": True, "priority": 3}])
    sent = body(board, "a", seed=987654)
    assert {k: v for k, v in sent.items() if k != "content"} == {
        "model": MODEL, "return_last_frame": True, "seed": 987654, "resolution": "480p", "ratio": "16:9",
        "duration": 7, "generate_audio": True, "watermark": True, "priority": 3,
    }  # no service_tier: 2.x refuses the field, and the file did not set it


def test_service_tier_is_sent_only_when_the_storyboard_sets_it(tmp_path: Path) -> None:
    board = write_board(tmp_path, [
        {"id": "unset", "prompt": "p", "model": "seedance-1-0-pro-250528", "ratio": "16:9"},
        {"id": "flex", "prompt": "p", "model": "seedance-1-0-pro-250528", "ratio": "16:9", "service_tier": "flex"},
    ])
    assert "service_tier" not in body(board, "unset")
    assert body(board, "flex")["service_tier"] == "flex"


@pytest.mark.parametrize("seed", [0, -1, 2_147_483_647])
def test_seed_is_always_sent(tmp_path: Path, seed: int) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p"}])
    assert body(board, "a", seed=seed)["seed"] == seed


def test_return_last_frame_is_true_for_a_leaf_too(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p"}, {"id": "b", "after": "a", "prompt": "q"}])
    assert body(board, "a")["return_last_frame"] is True
    assert body(board, "b", parent_frame=PARENT_URL)["return_last_frame"] is True


def test_generate_audio_only_for_models_that_can(tmp_path: Path) -> None:
    board = write_board(tmp_path, [
        {"id": "loud", "prompt": "p"},
        {"id": "quiet", "prompt": "p", "generate_audio": False},
        {"id": "old", "prompt": "p", "model": "seedance-1-0-pro-250528", "ratio": "16:9"},
        {"id": "mid", "prompt": "p", "model": "seedance-1-5-pro-251215", "ratio": "16:9"},
    ])
    assert body(board, "loud")["generate_audio"] is True
    assert body(board, "quiet")["generate_audio"] is False
    assert "generate_audio" not in body(board, "old")
    assert body(board, "mid")["generate_audio"] is True


def test_frames_replace_duration(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "model": "seedance-1-0-pro-250528", "ratio": "16:9",
                                    "frames": 29}])
    sent = body(board, "a")
    assert sent["frames"] == 29
    assert "duration" not in sent


def test_summary_drops_media_and_round_trips_the_parameters(tmp_path: Path) -> None:
    make_image(tmp_path / "apple.png", 640, 360)
    board = write_board(tmp_path, [{"id": "a", "prompt": "an apple", "first_frame": "apple.png", "ratio": "16:9",
                                    "resolution": "480p", "duration": 6}])
    request = build_request(spec(board, "a"), tmp_path, 4242, None)
    kept = summary(request)
    assert kept["content"] == [{"type": "text", "text": "an apple"}]
    assert "base64" not in json.dumps(kept)
    back = from_summary(json.loads(json.dumps(kept)))  # as the journal stores it
    assert (back.model, back.seed, back.duration, back.ratio, back.resolution) == (MODEL, 4242, 6, "16:9", "480p")
    assert back.return_last_frame is True
    assert back.generate_audio is True
    assert summary(back) == kept


def test_summary_of_an_image_only_request_still_makes_a_valid_request(tmp_path: Path) -> None:
    make_image(tmp_path / "apple.png", 640, 360)
    board = write_board(tmp_path, [{"id": "a", "first_frame": "apple.png", "ratio": "16:9"}])
    request = build_request(spec(board, "a"), tmp_path, 7, None)
    kept = summary(request)
    assert kept["content"] == []
    back = from_summary(kept)
    assert (back.model, back.seed, back.duration, back.ratio, back.resolution) == (MODEL, 7, 5, "16:9", "720p")
    assert [c.type for c in back.content] == ["text"]


def test_summary_keeps_a_1_0_frames_request(tmp_path: Path) -> None:
    board = write_board(tmp_path, [{"id": "a", "prompt": "p", "model": "seedance-1-0-pro-250528", "ratio": "4:3",
                                    "frames": 33, "resolution": "1080p"}])
    back = from_summary(summary(build_request(spec(board, "a"), tmp_path, 1, None)))
    assert (back.model, back.seed, back.frames, back.duration, back.ratio, back.resolution) == (
        "seedance-1-0-pro-250528", 1, 33, None, "4:3", "1080p")
