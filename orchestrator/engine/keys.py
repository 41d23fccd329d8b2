"""Shot keys: what a take's result depends on, hashed (DESIGN.md §5).

A shot's key is the sha256 of canonical JSON of the schema version, every resolved request parameter, the sha256 of
every input file (not its path: moving a file changes nothing), and for a chained shot the sha256 of the parent's
last-frame bytes. Same key and intact files: the take is reused without an API call. The parameters are kept beside
the key in the journal so that a changed key can say which field changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from orchestrator.assembly.cache import sha256_file
from orchestrator.storyboard.media import is_remote
from orchestrator.storyboard.resolve import ShotSpec
from orchestrator.storyboard.schema import SCHEMA_VERSION

KEY_VERSION = 1  # bump when the parameters below change meaning
SHORT = 12  # characters of the key used for a take's folder name

Params = dict[str, Any]


def sha256_path(path: Path) -> str:
    """Hex sha256 of a file's bytes (memoised while its size and mtime stay the same)."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=512)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)  # size and mtime are only the cache key: a changed file is hashed again


def source_fingerprint(source: str, base_dir: Path) -> str:
    """A URL as itself; a local file as the sha256 of its bytes."""
    return source if is_remote(source) else "sha256:" + sha256_path(base_dir / source)


def shot_params(spec: ShotSpec, base_dir: Path, parent_frame_sha: str | None, variant: int = 0) -> Params:
    """Everything the take's result depends on, as plain JSON data.

    `variant` counts rerolls: a rerolled shot is the same request with a fresh seed, so it needs a key of its own.
    """
    shot = spec.shot
    refs = shot.references
    params: Params = {
        "schema": SCHEMA_VERSION,
        "key": KEY_VERSION,
        "model": spec.model_id,
        "prompt": shot.prompt,
        "resolution": spec.resolution,
        "ratio": spec.ratio,
        "duration": spec.duration,
        "frames": spec.frames,
        "generate_audio": spec.generate_audio,
        "service_tier": spec.service_tier,
        **{k: spec.explicit(k) for k in ("seed", "watermark", "camera_fixed", "execution_expires_after", "priority")},
        "handoff": spec.handoff if spec.chained else None,
        "parent_frame": parent_frame_sha,
        "first_frame": source_fingerprint(shot.first_frame, base_dir) if shot.first_frame else None,
        "last_frame": source_fingerprint(shot.last_frame, base_dir) if shot.last_frame else None,
        "references": None if refs is None else {
            kind: [source_fingerprint(s, base_dir) for s in getattr(refs, kind)]
            for kind in ("images", "videos", "audios")
        },
    }
    if spec.endpoint is not None and spec.model is not None:
        params["serves"] = spec.model.id  # an endpoint re-pointed at another model makes other clips
    if variant:
        params["variant"] = variant
    return params


def canonical(params: Params) -> str:
    """The one JSON text of these parameters (sorted keys, no spaces)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def shot_key(params: Params) -> str:
    """Hex sha256 of the canonical parameters."""
    return hashlib.sha256(canonical(params).encode()).hexdigest()


_LABELS = {"parent_frame": "parent's last frame", "variant": "reroll", "first_frame": "first_frame file",
           "last_frame": "last_frame file", "references": "reference files"}


def changed_fields(before: Params, after: Params) -> list[str]:
    """Human names of the parameters that differ, e.g. ['prompt', "parent's last frame"]."""
    names = sorted(set(before) | set(after))
    return [_LABELS.get(n, n) for n in names if before.get(n) != after.get(n)]
