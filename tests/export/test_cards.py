"""The animatic's cards: pictures drawn with Pillow, and card clips of exact frames made by the real ffmpeg."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.assembly.cards import Hold, card_args, make_card
from orchestrator.assembly.probe import probe
from orchestrator.export.animatic import holds
from orchestrator.export.cards import BACKGROUND, font, image_card, printable, prompt_card, wrap

WIDTH, HEIGHT = 864, 496


def _near(pixel: object, wanted: tuple[int, int, int], tolerance: int = 3) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, wanted, strict=True))  # type: ignore[call-overload]


def test_the_argv_holds_each_still_for_its_frames_at_24_fps_without_sound() -> None:
    argv = card_args([Hold(Path("a.raw"), 49), Hold(Path("b.raw"), 48)], WIDTH, HEIGHT, Path("card.mp4"))

    graph = argv[argv.index("-filter_complex") + 1]
    assert "tpad=stop=48:stop_mode=clone" in graph and "tpad=stop=47:stop_mode=clone" in graph
    assert "concat=a=0:n=2:v=1" in graph and graph.endswith("format=yuv420p[s4]")
    assert argv[argv.index("-frames:v") + 1] == "97"
    assert argv.count("-i") == 2 and argv.count("-map") == 1  # the video alone: no audio stream
    assert argv[argv.index("-c:v") + 1] == "libx264" and argv[argv.index("-f", argv.index("-map")) + 1] == "mp4"
    for option, value in (("-f", "rawvideo"), ("-pix_fmt", "rgb24"), ("-s", f"{WIDTH}x{HEIGHT}"), ("-framerate", "24")):
        assert argv[argv.index(option) + 1] == value  # the first input's, before its -i
    assert argv[-1] == "card.mp4"


def test_the_argv_refuses_what_no_card_can_be() -> None:
    with pytest.raises(ValueError, match="even"):
        card_args([Hold(Path("a.raw"), 10)], 865, HEIGHT, Path("card.mp4"))
    with pytest.raises(ValueError, match="at least one"):
        card_args([Hold(Path("a.raw"), 0)], WIDTH, HEIGHT, Path("card.mp4"))


def test_two_stills_split_the_frames_at_the_middle() -> None:
    assert holds(97, 1) == [97]
    assert holds(97, 2) == [49, 48]  # the middle frame goes with the first image
    assert holds(121, 2) == [61, 60]


@pytest.mark.parametrize("frames", [[97], [49, 48]])
def test_a_card_clip_has_exactly_its_frames_and_size_and_no_sound(tmp_path: Path, frames: list[int]) -> None:
    colours = [(250, 0, 0), (0, 0, 250)]
    pictures = []
    for i, count in enumerate(frames):
        path = tmp_path / f"still{i}.png"
        Image.new("RGB", (WIDTH, HEIGHT), colours[i]).save(path)
        pictures.append((path, count))
    dest = tmp_path / "card.mp4"

    asyncio.run(make_card(pictures, WIDTH, HEIGHT, dest))

    info = asyncio.run(probe(dest))
    assert (info.frames, info.width, info.height, info.fps, info.has_audio) == (sum(frames), WIDTH, HEIGHT, 24, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.mp4", *(p.name for p, _ in pictures)]  # no raw left


def test_a_picture_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    Image.new("RGB", (WIDTH // 2, HEIGHT), (0, 0, 0)).save(still)

    with pytest.raises(ValueError, match="not the card's 864x496"):
        asyncio.run(make_card([(still, 10)], WIDTH, HEIGHT, tmp_path / "card.mp4"))
    assert not (tmp_path / "card.mp4").exists()


def test_an_image_is_letterboxed_whole_and_the_label_keeps_to_its_corner(tmp_path: Path) -> None:
    tall = tmp_path / "tall.png"
    Image.new("RGB", (400, 800), (10, 200, 10)).save(tall)

    card = np.asarray(image_card(tall, WIDTH, HEIGHT, "hook - first frame"))

    assert card.shape == (HEIGHT, WIDTH, 3)
    assert _near(card[HEIGHT // 2, WIDTH // 2], (10, 200, 10))
    assert _near(card[HEIGHT - 1, WIDTH // 2], (10, 200, 10))  # fitted by its height: top to bottom
    assert _near(card[HEIGHT // 2, 5], BACKGROUND) and _near(card[HEIGHT // 2, WIDTH - 5], BACKGROUND)
    picture_width = int((np.abs(card[HEIGHT // 2].astype(int) - (10, 200, 10)).max(axis=1) <= 3).sum())
    assert abs(picture_width - HEIGHT // 2) <= 2  # 400x800 shown at 248x496: its shape kept
    labelled = np.argwhere(np.abs(card.astype(int) - BACKGROUND).max(axis=2) > 3)
    label = labelled[(labelled[:, 1] < (WIDTH - picture_width) // 2)]  # the left bar: only the label is drawn there
    assert len(label) > 0 and label[:, 0].max() < HEIGHT // 10 and label[:, 1].max() < WIDTH // 3


def test_a_transparent_image_lies_on_the_dark_background(tmp_path: Path) -> None:
    clear = tmp_path / "clear.png"
    image = Image.new("RGBA", (600, 400), (255, 255, 255, 0))
    image.paste((200, 0, 0, 255), (250, 150, 350, 250))
    image.save(clear)

    card = np.asarray(image_card(clear, WIDTH, HEIGHT, "x"))

    assert _near(card[HEIGHT // 2, WIDTH // 2], (200, 0, 0))
    assert _near(card[HEIGHT // 4, WIDTH // 2], BACKGROUND)  # not white


def test_a_prompt_card_shows_the_id_and_the_prompt_wrapped_inside_the_frame() -> None:
    prompt = "a cup of tea on a marble table, steam rising in the morning light " * 3
    card = np.asarray(prompt_card("cup", prompt, WIDTH, HEIGHT, "4 s"))

    ink = np.abs(card.astype(int) - BACKGROUND).max(axis=2) > 60
    rows = np.flatnonzero(ink.any(axis=1))
    columns = np.flatnonzero(ink.any(axis=0))
    assert ink.sum() > 3000
    bands = 1 + int((np.diff(rows) > 1).sum())  # runs of rows with ink, separated by blank rows: lines of text
    assert bands >= 4  # the id, then the prompt on several lines
    margin = WIDTH // 20
    assert columns.min() >= margin - 2 and columns.max() <= WIDTH - margin + 2


def test_a_prompt_too_long_for_the_frame_ends_in_an_ellipsis_and_stays_inside_it() -> None:
    card = np.asarray(prompt_card("long", "word " * 3000, WIDTH, HEIGHT))

    ink = np.abs(card.astype(int) - BACKGROUND).max(axis=2) > 60
    assert np.flatnonzero(ink.any(axis=1)).max() < HEIGHT - WIDTH // 20 + 2  # the bottom margin is kept


def test_wrap_breaks_between_words_and_inside_unspaced_text() -> None:
    face = font(20)
    lines = wrap("one two three four five six seven eight nine ten", face, 120)
    assert len(lines) > 1 and all(face.getlength(line) <= 120 for line in lines)
    assert " ".join(lines) == "one two three four five six seven eight nine ten"
    unspaced = wrap("一只红苹果放在木桌上" * 10, face, 100)
    assert len(unspaced) > 1 and "".join(unspaced) == "一只红苹果放在木桌上" * 10
    assert all(face.getlength(line) <= 100 for line in unspaced)


def test_accented_latin_is_set_without_its_accents_rather_than_as_boxes() -> None:
    assert printable("Café crème \u2013 Straße, Ærø") == "Cafe creme - Strasse, AEro"
    assert printable("一只红苹果") == "一只红苹果"  # no ASCII form: left as it is

    accented = np.asarray(prompt_card("cafe", "Un café crème sur la table", WIDTH, HEIGHT))
    plain = np.asarray(prompt_card("cafe", "Un cafe creme sur la table", WIDTH, HEIGHT))
    assert np.array_equal(accented, plain)
