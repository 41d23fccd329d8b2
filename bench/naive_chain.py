"""The baseline users would write instead of this tool: the provider's documented pattern with the official BytePlus
SDK (seedance-api.md §8, "Official pattern"), shot by shot in storyboard order.

For each shot: create with `return_last_frame=True`, poll `get` every 10 s (the official samples' interval, scaled
like the simulator), download the video and the last frame, and pass `last_frame_url` as the next chained shot's
first frame. Then each output is joined with one ffmpeg concat-filter re-encode. The request bodies are the same as
ours (built by the same function), so only the orchestration differs.

    .venv/bin/python bench/naive_chain.py storyboards/long-form-ad.yaml --base-url http://127.0.0.1:8123/api/v3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from byteplussdkarkruntime import Ark

from orchestrator.binaries import ffmpeg_binary
from orchestrator.engine.request import build_request
from orchestrator.storyboard.validate import check_file

SAMPLE_POLL_S = 10.0  # the provider's official polling samples


def run_naive(storyboard: Path, base_url: str, scale: float, out: Path, keep_seed: bool = False) -> dict[str, Any]:
    """Run the storyboard the documented way; return wall seconds and what it did. `keep_seed`: send the seed the
    storyboard pins (a benchmark whose simulator serves prepared renders needs the same jobs as ours)."""
    checked = check_file(storyboard)
    ark = Ark(base_url=base_url, api_key="naive-baseline-key")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    clips: dict[str, Path] = {}
    frame_urls: dict[str, str] = {}
    polls = 0
    for shot_id, spec in checked.specs.items():  # file order, one at a time
        parent = spec.shot.after
        pinned = spec.shot.seed if spec.shot.seed is not None else spec.defaults.get("seed")
        seed = int(pinned) if keep_seed and pinned is not None else -1
        req = build_request(spec, checked.base_dir, seed=seed, parent_frame=frame_urls[parent] if parent else None)
        body = req.body()
        if not keep_seed:
            body.pop("seed")  # a user would not pin one
        task = ark.content_generation.tasks.create(**body)
        while True:
            time.sleep(SAMPLE_POLL_S * scale)
            result = ark.content_generation.tasks.get(task_id=task.id)
            polls += 1
            if result.status in ("succeeded", "failed", "expired", "cancelled"):
                break
        if result.status != "succeeded":
            raise SystemExit(f"{shot_id}: task {task.id} {result.status}")
        clips[shot_id] = out / f"{shot_id}.mp4"
        clips[shot_id].write_bytes(httpx.get(result.content.video_url, timeout=60).content)
        frame_urls[shot_id] = result.content.last_frame_url
        (out / f"{shot_id}.png").write_bytes(httpx.get(frame_urls[shot_id], timeout=60).content)
    generated = time.perf_counter()
    (out / "films").mkdir(exist_ok=True)
    for name, ids in checked.outputs.items():
        _concat_filter([clips[i] for i in ids], out / "films" / f"{name}.mp4")
    return {"wall_s": time.perf_counter() - started, "generation_s": generated - started,
            "assembly_s": time.perf_counter() - generated, "shots": len(clips), "polls": polls}


def _concat_filter(clips: list[Path], dest: Path) -> None:
    """One re-encode of everything: what the ffmpeg wiki's concat filter recipe does."""
    argv = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y"]
    for clip in clips:
        argv += ["-i", str(clip)]
    streams = "".join(f"[{i}:v][{i}:a]" for i in range(len(clips)))
    argv += ["-filter_complex", f"{streams}concat=n={len(clips)}:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
             "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(dest)]
    subprocess.run(argv, check=True)


def main() -> None:
    """Command line: run one storyboard against a running simulator and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storyboard", type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the 10 s polling interval")
    parser.add_argument("--out", type=Path, default=Path("naive-out"))
    parser.add_argument("--keep-seed", action="store_true", help="send the storyboard's pinned seed")
    args = parser.parse_args()
    json.dump(run_naive(args.storyboard, args.base_url, args.scale, args.out, args.keep_seed), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
