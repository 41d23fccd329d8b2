"""What every storyboard rule works with: where things are, where files live, today's date, the region, and the
problems found so far, grouped so that a value set in `defaults` is reported once, naming the shots it reaches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from orchestrator.profiles import DEFAULT_REGION, RegionChoice
from orchestrator.storyboard.diagnostics import DataPath, Diagnostic, Severity, shorten
from orchestrator.storyboard.loader import SourceMap
from orchestrator.storyboard.media import MediaInfo, MediaKind, inspect_media, is_remote, remote_is_complete
from orchestrator.storyboard.reading import not_a_regular_file
from orchestrator.storyboard.resolve import ShotSpec

_SHOTS_NAMED = 5  # a message naming more shots names this many and counts the rest


@dataclass
class RuleContext:
    """What every rule needs besides the shot: where things are, where files live, today's date, the region."""

    source: SourceMap
    base_dir: Path
    today: date
    problems: list[Diagnostic] = field(default_factory=list)
    region: RegionChoice = DEFAULT_REGION
    endpoints: Mapping[str, str] = field(default_factory=dict)  # the storyboard's endpoints section

    # The shot check_shot is checking: a problem it finds at a `defaults` key is one that shot inherits.
    shot: ShotSpec | None = field(default=None, init=False, repr=False)
    # (path, message, key, severity) of an inherited problem -> its slot in `problems`, and the shots (by index).
    _inherited: dict[tuple[DataPath, str, bool, Severity], tuple[int, dict[int, str]]] = field(
        default_factory=dict, init=False, repr=False)

    def error(self, path: DataPath, message: str, *, key: bool = False) -> None:
        """Record an error at `path`."""
        self._record(path, message, key, Severity.ERROR)

    def warn(self, path: DataPath, message: str) -> None:
        """Record a warning at `path`."""
        self._record(path, message, False, Severity.WARNING)

    @contextmanager
    def checking(self, spec: ShotSpec) -> Iterator[None]:
        """Problems recorded meanwhile at a `defaults` key are inherited by this shot."""
        self.shot = spec
        try:
            yield
        finally:
            self.shot = None

    def _record(self, path: DataPath, message: str, key: bool, severity: Severity) -> None:
        """One diagnostic per problem; one per place and message for a value shots inherit from `defaults`, at
        the value's line and naming the shots that inherit it (a shot that overrides the value is not told)."""
        spec = self.shot
        if spec is None or path[:1] != ("defaults",):
            self.problems.append(self.source.diagnostic(path, message, key=key, severity=severity))
            return
        slot, shots = self._inherited.setdefault((path, message, key, severity), (len(self.problems), {}))
        shots[spec.index] = spec.id
        found = self.source.diagnostic(path, f"{message} (inherited by {shot_names(shots)})", key=key,
                                       severity=severity)
        if slot == len(self.problems):
            self.problems.append(found)
        else:
            self.problems[slot] = found

    def local_file(self, path: DataPath, raw: str, kind: MediaKind) -> tuple[Path, MediaInfo] | None:
        """Resolve and read a media reference; report why it is unusable, or return None for remote ones."""
        if raw.startswith(("http://", "data:")):
            self.error(path, f"'{raw[:40]}' is not accepted: give a file path, an https:// URL or an asset:// id")
            return None
        if is_remote(raw):
            if not remote_is_complete(raw):
                self.error(path, f"'{raw}' is missing the host or asset id")
            return None
        try:
            file = (self.base_dir / raw).resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL in the path, symlink loops
            self.error(path, f"'{shorten(raw)}' is not a usable file path ({exc})")
            return None
        problem = not_a_regular_file(file)
        if problem == "file not found":
            self.error(path, f"file not found: {shorten(raw)}"
                       + ("" if Path(raw).is_absolute() else f" (looked in {shorten(str(file), 120)})"))
            return None
        if problem is not None:
            self.error(path, f"{shorten(raw)}: {problem}")
            return None
        info = inspect_media(file, kind)
        if info.problem:
            self.error(path, f"{shorten(raw)}: {info.problem}")
            return None
        return file, info


def shot_names(shots: Mapping[int, str]) -> str:
    """Shot ids by index, in file order: "shot 'a'", "shots 'a', 'b'", past five "shots 'a', ... 'e' and 7 more"."""
    ids = [shots[index] for index in sorted(shots)]
    named = ", ".join(f"'{shot_id}'" for shot_id in ids[:_SHOTS_NAMED])
    more = f" and {len(ids) - _SHOTS_NAMED} more" if len(ids) > _SHOTS_NAMED else ""
    return f"shot{'s' if len(ids) > 1 else ''} {named}{more}"
