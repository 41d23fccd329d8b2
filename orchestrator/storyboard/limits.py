"""Bounds on what a storyboard may ask of the reader, each far above any real storyboard and far below harm.

A 120 s ad has about 30 shots and a file of a few kilobytes; these bounds exist so that a hostile or broken file
(an alias bomb, a device, a megabyte-deep nesting) is refused quickly, in bounded memory, with a located message.
"""

from __future__ import annotations

FILE_BYTES_MAX = 4 * 1024 * 1024  # about 40,000 shots of one-line prompts
DEPTH_MAX = 32  # a storyboard needs 4 levels (shots[i].references.images[j]); YAML anchors may add a few
VALUES_MAX = 500_000  # values after aliases are expanded; a 10,000-shot storyboard has about 60,000
SHOTS_MAX = 10_000  # validated in under 2 s (BENCHMARKS.md); more is a batch, not a storyboard
# A file with thousands of mistakes gets the first PROBLEMS_SHOWN and a count of the rest: past that, fixing the first
# ones and validating again is quicker than reading on. A "did you mean" compares a word with every choice, so only the
# first SUGGESTIONS_MAX misspellings of each kind get one (200,000 unknown keys took 60 s of suggestions).
PROBLEMS_SHOWN = 100
SUGGESTIONS_MAX = 100

# Names become file and folder names (run directory, outputs/<name>.mp4, its temp file): short enough for every
# common filesystem's 255-byte limit with room for suffixes, and not a name Windows reserves for a device.
NAME_CHARS_MAX = 100
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)

# The provider recommends at most 500 Chinese characters or 1000 English words per prompt and states no hard
# limit; past PROMPT_CHARS_MAX we refuse, since no model reads that much and the body would carry it every time.
PROMPT_CJK_CHARS_RECOMMENDED = 500
PROMPT_WORDS_RECOMMENDED = 1000
PROMPT_CHARS_MAX = 20_000
TEXT_CHARS_MAX = 4096  # any other string: paths, URLs, model and endpoint ids


def reserved_name(name: str) -> bool:
    """True when Windows would refuse `name` as a file or folder name (CON, nul.txt, com1.mp4...)."""
    return name.split(".", 1)[0].lower() in WINDOWS_RESERVED or name.endswith(".")
