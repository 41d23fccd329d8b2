"""ffmpeg command lines as ffmpeg-python (0.2.0) nodes, compiled to argv: the only module that imports ffmpeg-python.

ffmpeg-python has no type hints: `Input`, `Stream` and `Output` give its nodes types, and keep what it would do
silently from changing a command line. What compiling does, and what is done about it:

- Keyword options come out sorted by name: per input, per output, and in each filter (`afade=d=0.005:t=in`). No
  option used here depends on its place among its file's options (the order-sensitive ones are global, `-copyts`,
  or belong to an input, `-ss`, and an input's options always stand before its `-i`); a filter's named options
  are unordered.
- Filter arguments are escaped: \\ ' = : in each argument (twice in a positional one, a 0.2.0 bug) and \\ ' [ ] , ;
  in the whole filter. Expressions such as `(ow-iw)/2`, `PTS-STARTPTS` and `1/24` need none; an argument that would
  need escaping is refused here rather than sent escaped twice.
- Links are labelled [s0], [s1], ... in the order of a depth-first walk from the outputs, and a chain `a,b` becomes
  `a[s0];[s0]b`: the same graph, one filter per step. Inputs are numbered in the order that walk reaches them, and
  every stream reference (`[1:a]`, `-map 0:v:0`) is numbered alike, so the order of `-i`s never changes meaning.
- Nodes are equal when their links and arguments are, whatever their name: two inputs of one file would become one
  `-i`, and two filters with equal arguments on one input stream one filter. Every `Input` is made distinct, and a
  stream refuses a second filter that would be merged into the first. An input no output uses is left out.
- Global options: ffmpeg-python puts them after the last output. ffmpeg honours them there too (it looks for
  `-loglevel` and `-hide_banner` before anything else, and takes a global option wherever it stands), but `command`
  puts them first, as ffmpeg's usage line does, where whoever reads a logged command looks for them.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ffmpeg
from ffmpeg.nodes import InputNode

__all__ = ["Input", "Option", "Output", "Stream", "command", "concat", "join"]

Option = str | int  # an option's or a filter argument's value; floats are formatted by the caller, to the digit
_ESCAPED = re.compile(r"[\\'=:\[\],;]")
_serial = itertools.count()


class Stream:
    """A link in a filter graph: one stream of an input (`Input[...]`) or a filter's output."""

    def __init__(self, node: Any, depth: int = 0) -> None:
        self._node = node  # an ffmpeg-python FilterableStream
        self.depth = depth  # filters between this link and the farthest input
        self._filters: dict[int, str] = {}  # the filters this stream feeds, by node hash

    def filter(self, name: str, *args: Option, **kwargs: Option) -> Stream:
        """This stream through the filter `name` (positional arguments first, then the named ones)."""
        out = self._node.filter(name, *_checked(name, args), **_checked_named(name, kwargs))
        fed = self._filters.setdefault(hash(out.node), name)
        if fed != name:
            raise ValueError(f"{name} and {fed} take the same arguments from one stream: ffmpeg-python would make "
                             "them one filter")
        return Stream(out, self.depth + 1)

    def split(self, count: int, *, audio: bool = False) -> list[Stream]:
        """`count` copies of this stream (split, or asplit for audio); ffmpeg-python writes the count itself."""
        node = self._node.filter_multi_output("asplit" if audio else "split")
        return [Stream(node.stream(i), self.depth + 1) for i in range(count)]


class Input:
    """One `-i`, with the options that go before it (`f="concat"`, `ss=...`); streams are picked by specifier:
    `Input(...)["v:0"]` is `[0:v:0]` in a graph and `-map 0:v:0` given to an output (with the input's number)."""

    def __init__(self, source: str | Path, **options: Option) -> None:
        kwargs: dict[str, Option] = {"filename": str(source), **options}
        if "f" in kwargs:  # as ffmpeg.input() does: the format is written first, as -f
            kwargs["format"] = kwargs.pop("f")
        # The node ffmpeg.input() makes, plus a serial number that makes it unlike any other input of the same file
        # (ffmpeg-python would merge them); ffmpeg-python compiles an input from its options alone, not this number.
        self._node = InputNode(ffmpeg.input.__name__, args=[next(_serial)], kwargs=kwargs)
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, spec: str) -> Stream:
        if spec not in self._streams:
            self._streams[spec] = Stream(self._node.stream(selector=spec))
        return self._streams[spec]


class Output:
    """One output file: the streams it maps, in order, and its options (keys such as `"c:v"` allowed)."""

    def __init__(self, streams: Sequence[Stream], dest: str | Path, options: Mapping[str, Option]) -> None:
        if not streams:
            raise ValueError(f"nothing mapped to {dest}")
        self._node = ffmpeg.output(*[s._node for s in streams], str(dest), **options)
        self.depth = max(s.depth for s in streams) + 1


def join(streams: Sequence[Stream], name: str, *args: Option, **kwargs: Option) -> Stream:
    """A filter of several inputs (xfade, acrossfade, amix, sidechaincompress), fed `streams` in order."""
    return Stream(ffmpeg.filter([s._node for s in streams], name, *_checked(name, args),
                                **_checked_named(name, kwargs)), _deepest(streams) + 1)


def concat(streams: Sequence[Stream], *, video: int, audio: int) -> Stream:
    """The concat filter over `streams`, segment after segment (`video` + `audio` streams each); one output, so
    `video` + `audio` is 1."""
    if video + audio != 1:
        raise ValueError("one output stream: concat video or audio")
    return Stream(ffmpeg.concat(*[s._node for s in streams], v=video, a=audio), _deepest(streams) + 1)


def command(outputs: Sequence[Output], global_args: Sequence[str]) -> list[str]:
    """The argv (without the binary, which process.py chooses) writing `outputs` in one ffmpeg run: the global
    options, then the inputs with their options, -filter_complex, and each output's maps, options and file."""
    nodes = [o._node for o in outputs]
    node = nodes[0] if len(nodes) == 1 else ffmpeg.merge_outputs(*nodes)
    # ffmpeg-python sorts the graph recursively, a call per link: a crossfade of many parts (five links a part)
    # would exceed Python's default limit of 1000 calls.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + max(o.depth for o in outputs) + 1)
    try:
        compiled: list[str] = ffmpeg.get_args(node)
    finally:
        sys.setrecursionlimit(limit)
    return [*global_args, *compiled]


def _deepest(streams: Sequence[Stream]) -> int:
    return max(s.depth for s in streams)


def _checked(name: str, args: Sequence[Option]) -> list[Option]:
    for arg in args:
        if _ESCAPED.search(str(arg)):
            raise ValueError(f"{name} argument {arg!r} would be escaped (twice, as a positional one)")
    return list(args)


def _checked_named(name: str, kwargs: Mapping[str, Option]) -> dict[str, Option]:
    _checked(name, [*kwargs, *kwargs.values()])
    return dict(kwargs)
