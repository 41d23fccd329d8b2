"""The simulated provider's state: tasks, their state machine, account limits, files and counters.

No HTTP here (DESIGN.md §10 rule 9): the HTTP layer and the Python control plane both drive this object. Time
comes from an injectable clock, and progression is computed from it whenever anyone looks (and by the server's
ticker), so the same requests give the same story at any `speed`.

With `SimConfig.store_dir` the records live on disk too (store.py): this backend advances the tasks it holds (made
here, or adopted on first sight from a backend that is gone) and reads other backends' records from disk on
GET/list/delete.

Counters in `stats()["counters"]`, beside `requests.<endpoint>` and `tasks_created`: `lost_creates` (create
answers lost after the task was made), `bursts` (bursts begun) and `burst_responses` (answers a burst gave),
`early_404s` (GET/DELETE answered 404 within read_after_write_seconds), `list_hidden` (matching tasks left out of
list answers by list_lag_seconds), `tasks_adopted` (records taken over from a store whose backend is gone) and
`rerenders` (adopted running tasks whose clip had not been rendered, rendered again), `peak_active` (the most tasks
queued or running at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import random
import secrets
import shutil
import string
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from orchestrator.simulator import catalog as c
from orchestrator.simulator.config import SimConfig
from orchestrator.simulator.drift import clip_drift
from orchestrator.simulator.errors import ProviderError, invalid, queue_full, rpm_exceeded, task_not_found
from orchestrator.simulator.faults import CallFault, FaultBook, TaskFault
from orchestrator.simulator.records import MediaBytes, SimTask, task_json
from orchestrator.simulator.render import PNG_NAME, VIDEO_NAME, RenderJob, RenderResult, render
from orchestrator.simulator.rendercache import cached_render
from orchestrator.simulator.store import TaskStore
from orchestrator.simulator.validation import CreateSpec
from orchestrator.simulator.weather import Weather

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_UTC8 = timedelta(hours=8)  # task ids carry the region's local creation time (observed: UTC+8)
_ACTIVE = {"queued", "running"}
_CANCELLED_TTL = 86_400.0


class Backend:
    """The provider's behaviour behind the HTTP layer; every public method is thread-safe."""

    def __init__(self, config: SimConfig | None = None, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.faults = FaultBook()
        self.weather = Weather()
        self.public_url = "http://127.0.0.1"
        self._lock = threading.RLock()
        self.store = TaskStore(self.config.store_dir) if self.config.store_dir else None
        # With a store the key is the store's: URLs signed before a restart still verify after it.
        self._secret = self.store.secret() if self.store else secrets.token_bytes(32)
        self._pool = ThreadPoolExecutor(self.config.render_workers, thread_name_prefix="sim-render")
        self._prerender_lock = threading.Lock()
        self._prerendered: dict[int, Future[RenderResult]] = {}
        self._own_dir = None if self.config.data_dir else tempfile.mkdtemp(prefix="orchestrator-sim-")
        self.data_dir = self.config.data_dir or Path(str(self._own_dir))
        self._forget()

    def reset(self) -> None:
        """Forget every task (with a store, every task in it), fault, counter and rate window."""
        with self._lock, self._store_lock():
            self._forget()
            if self.store is not None:
                self.store.clear()

    def _forget(self) -> None:
        with self._lock:
            self.weather.reseed(self.config.fault_seed)
            self.tasks: dict[str, SimTask] = {}
            self.counters: Counter[str] = Counter()
            self._creates: dict[str, deque[float]] = {}
            self._events: list[dict[str, Any]] = []
            self._last_list = float("-inf")
            self.faults.clear()

    def close(self) -> None:
        """Stop rendering and remove the temporary data folder; a store keeps the records for the next backend."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.store is not None:
            self.store.close()
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    # --- the four endpoints -------------------------------------------------------------------------------
    def create(self, spec: CreateSpec, media: MediaBytes, body: Any = None) -> SimTask:
        """Admit a new task (rate and queue limits first), or raise the provider's 429. `body` is the validated
        create request, which a store keeps to rebuild the task later."""
        with self._lock, self._store_lock():
            now = self.clock()
            self._advance(now)
            self._admit(spec.model.id, now)
            task = self._new_task(spec, media, now)
            if self.store is not None:
                self.store.save_request(task.id, spec, body, media)
            self.tasks[task.id] = task
            self.counters["tasks_created"] += 1
            # Tasks queued or running at once, at their most (only a create adds one): what an account-wide
            # in-flight limit of a client must keep under.
            active = sum(t.status in _ACTIVE for t in self.tasks.values())
            self.counters["peak_active"] = max(self.counters["peak_active"], active)
            self._changed(task, now)
            return task

    def get(self, task_id: str) -> dict[str, Any]:
        """The task as GET returns it (404 while it is younger than read_after_write_seconds)."""
        with self._lock, self._store_lock():
            now = self.clock()
            self._advance(now)
            return self.task_json(self._settled(self._find(task_id), now))

    def list_tasks(self, *, page_num: int, page_size: int, status: str | None, task_ids: list[str],
             model: str | None, service_tier: str) -> dict[str, Any]:
        """The filtered, newest-first page and the total that matched; tasks younger than list_lag_seconds are
        not in it yet."""
        with self._lock, self._store_lock():
            now = self.clock()
            self._advance(now)
            matching = [t for t in self._all_tasks(task_ids)
                        if (status is None or t.status == status) and (not task_ids or t.id in task_ids)
                        and (model is None or model in (t.spec.model.id, t.spec.endpoint))
                        and t.spec.service_tier == service_tier]
            lag = self.config.list_lag_seconds / self.config.speed
            found = [t for t in matching if now >= t.created_at + lag]
            self.counters["list_hidden"] += len(matching) - len(found)
            found.sort(key=lambda t: (t.created_at, t.id), reverse=True)
            page = found[(page_num - 1) * page_size: page_num * page_size]
            return {"total": len(found), "items": [self.task_json(t) for t in page]}

    def delete(self, task_id: str) -> None:
        """Cancel a queued task or delete a finished one; running and cancelled tasks refuse (reference §6)."""
        with self._lock, self._store_lock():
            now = self.clock()
            self._advance(now)
            task = self._settled(self._find(task_id), now)
            if task.status == "queued":
                self._finish(task, "cancelled", now)
            elif task.status in {"running", "cancelled"}:
                # [UNCONFIRMED] the provider's code for this refusal is not documented.
                raise invalid("id", f"the task {task_id} is {task.status} and cannot be cancelled or deleted")
            else:
                self._drop(task)

    # --- files ---------------------------------------------------------------------------------------------
    def file_for(self, task_id: str, name: str, expires: str, signature: str) -> Path:
        """The file behind a signed URL; 403 when the signature is wrong or the URL has expired."""
        if not hmac.compare_digest(signature.encode(), self._sign(task_id, name, expires).encode()):
            raise ProviderError(403, "AccessDenied", "Request has invalid signature.")
        if self.clock() > float(expires):
            raise ProviderError(403, "AccessDenied", "Request has expired.")
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None and self.store is not None:  # another backend's task: its record says where
                stored = self.store.load(task_id)
                task = stored.task if stored else None
            path = task.files.get(name) if task else None
        if path is None or not path.exists():
            raise ProviderError(404, "NoSuchKey", "The specified key does not exist.")
        return path

    def signed_url(self, task: SimTask, name: str) -> str:
        """A URL that works until the task's URLs expire, like the provider's presigned TOS links."""
        # [UNCONFIRMED] whether each GET hands out freshly presigned URLs. By default they are signed once, at
        # completion (a fixed 24 h lifetime, the harder case for a client); `resign_urls: true` renews them.
        if self.config.resign_urls:
            task.urls_expire_at = max(task.urls_expire_at, self.clock() + self.config.url_ttl_seconds)
        expires = f"{task.urls_expire_at:.0f}"
        ttl = int(self.config.url_ttl_seconds)
        return (f"{self.public_url}/files/{task.id}/{name}?X-Tos-Expires={ttl}&expires={expires}"
                f"&signature={self._sign(task.id, name, expires)}")

    def _sign(self, task_id: str, name: str, expires: str) -> str:
        return hmac.new(self._secret, f"{task_id}/{name}/{expires}".encode(), hashlib.sha256).hexdigest()

    def read_own_url(self, url: str) -> bytes | None:
        """Bytes behind one of this simulator's own file URLs (so chained requests need no HTTP round trip).

        With a store, a URL a simulator on the same store handed out on an earlier port is ours too: the provider's
        result URLs live 24 h whatever happens to the front end that gave them, so a run today may hand on
        yesterday's last frame by its URL. Other URLs are fetched over HTTP, as the provider would.
        """
        parts = urlsplit(url)
        if not parts.path.startswith("/files/"):
            return None
        task_id, _, name = parts.path.removeprefix("/files/").partition("/")
        ours = url.startswith(f"{self.public_url}/files/")
        earlier = self.store is not None and parts.hostname in _LOOPBACK and self.store.load(task_id) is not None
        if not (ours or earlier):
            return None
        params = dict(p.partition("=")[::2] for p in parts.query.split("&"))
        return self.file_for(task_id, name, params.get("expires", "0"), params.get("signature", "")).read_bytes()

    def check_draft(self, draft_id: str) -> None:
        """A draft_task item must name a succeeded draft task of this account."""
        with self._lock, self._store_lock():
            task = self.tasks.get(draft_id) or self._foreign(draft_id)
            if task is None or not task.spec.draft or task.status != "succeeded":
                raise invalid("content", f"draft task {draft_id} does not exist or has not succeeded")

    def admit_list(self) -> None:
        """The list endpoint's per-account rate (1 per second on the real service), when configured."""
        qps = self.config.list_qps
        if qps is None:
            return
        with self._lock:
            now = self.clock()
            if now - self._last_list < 1.0 / qps:
                raise ProviderError(429, "AccountRateLimitExceeded", "The list request rate limit is exceeded.")
            self._last_list = now

    # --- weather (weather.py) -------------------------------------------------------------------------------
    def burst(self, endpoint: str) -> CallFault | None:
        """The answer a burst of errors gives this request instead of the real one, if one is under way or begins."""
        fault, began = self.weather.burst(self.config, endpoint)
        if fault is not None:
            with self._lock:
                self.counters["bursts"] += began
                self.counters["burst_responses"] += 1
        return fault

    def lost_create(self) -> CallFault | None:
        """How the answer to a create that made its task is lost, if it is (SimConfig.lost_creates)."""
        fault = self.weather.lost_create(self.config)
        if fault is not None:
            with self._lock:
                self.counters["lost_creates"] += 1
        return fault

    # --- control plane -------------------------------------------------------------------------------------
    def count(self, endpoint: str) -> None:
        """Count one request to an endpoint."""
        with self._lock:
            self.counters[f"requests.{endpoint}"] += 1

    def stats(self) -> dict[str, Any]:
        """Request counters, tasks created, the weather and store counters (module docstring), and tasks by status."""
        with self._lock:
            self._advance(self.clock())
            by_status = Counter(t.status for t in self.tasks.values())
            return {"counters": dict(self.counters), "tasks": dict(by_status), "faults": self.faults.armed()}

    def latencies(self) -> list[dict[str, Any]]:
        """Per task: id, status, seed, created_at, the latency floor no client can beat (SimTask.latency) and the
        prompt it was made from (so a test can tell whose task it is)."""
        with self._lock:
            self._advance(self.clock())
            return [{"id": t.id, "status": t.status, "seed": t.seed, "created_at": t.created_at,
                     "latency": t.latency(self.config.queue_seconds, self.config.speed), "prompt": t.spec.prompt}
                    for t in self.tasks.values()]

    def tick(self) -> list[dict[str, Any]]:
        """Advance every task to now; return callback deliveries that are due."""
        with self._lock:
            self._advance(self.clock())
            events, self._events = self._events, []
            return events

    # --- the state machine ---------------------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        self._sync()
        for task in list(self.tasks.values()):
            # Completion first: a run that ended before the deadline succeeded, whenever someone looks.
            if task.status == "running" and now >= (task.started_at or now) + task.run_for / self.config.speed:
                self._complete(task, now)
            self._expire_or_vanish(task, now)
        running = Counter(t.spec.model.id for t in self.tasks.values() if t.status == "running")
        queued = sorted((t for t in self.tasks.values() if t.status == "queued"),
                        key=lambda t: (-t.spec.priority, t.created_at))
        for task in queued:
            waited = now >= task.created_at + self.config.queue_seconds / self.config.speed
            if waited and running[task.spec.model.id] < self.config.concurrency:
                running[task.spec.model.id] += 1
                self._start(task, now)

    def _expire_or_vanish(self, task: SimTask, now: float) -> None:
        if task.status in _ACTIVE and now >= task.created_at + task.spec.execution_expires_after:
            self._finish(task, "expired", now)
        if (task.status == "cancelled" and now >= task.updated_at + _CANCELLED_TTL) or (
            now >= task.created_at + self.config.retention_seconds
        ):
            self._drop(task)

    def _start(self, task: SimTask, now: float) -> None:
        task.status, task.started_at, task.updated_at = "running", now, now
        if task.forced is None:
            task.render = self._submit_render(task)
            task.render.add_done_callback(lambda _f: setattr(task, "rendered_at", self.clock()))
        self._changed(task, now)

    def _complete(self, task: SimTask, now: float) -> None:
        if task.forced is not None:
            self._fail(task, task.forced, now)
            return
        assert task.render is not None
        if not task.render.done():
            return  # the clip is still rendering: the task stays running a little longer
        try:
            result = task.render.result()
        except Exception as exc:  # a renderer failure is the provider's internal error, not the client's
            self._fail(task, TaskFault(outcome="failed", code="InternalServiceError", message=str(exc)[:200]), now)
            return
        task.files = {"video.mp4": result.video, "last_frame.png": result.last_frame_png}
        task.urls_expire_at = now + self.config.url_ttl_seconds
        self._finish(task, "succeeded", now)

    def _fail(self, task: SimTask, fault: TaskFault, now: float) -> None:
        if fault.outcome == "failed":
            task.error = {"code": fault.code, "message": fault.message}
        self._finish(task, fault.outcome, now)

    def _finish(self, task: SimTask, status: str, now: float) -> None:
        task.status, task.updated_at = status, now
        self._changed(task, now)

    def _changed(self, task: SimTask, now: float) -> None:
        task.updated_at = now
        if task.spec.callback_url and task.status != "cancelled":  # callbacks are not sent for cancellations
            self._events.append({"url": task.spec.callback_url, "body": self.task_json(task),
                                 "retries": 3 if task.status in {"succeeded", "failed"} else 0})
        if self.store is not None:
            held = task.id in self.tasks
            self.store.save(task, None if held else self.store.owner_of(task.id))
            if not held:  # another backend's record (a cancel from here): it must re-read it
                self.store.note_foreign_change()

    def _drop(self, task: SimTask) -> None:
        held = self.tasks.pop(task.id, None) is not None
        if self.store is not None:
            self.store.remove(task.id)
            if not held:
                self.store.note_foreign_change()

    # --- admission and construction ------------------------------------------------------------------------
    def _admit(self, model_id: str, now: float) -> None:
        window = self._creates.setdefault(model_id, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.config.rpm_limit:
            raise rpm_exceeded()
        if sum(t.status == "queued" for t in self.tasks.values()) >= self.config.queue_cap:
            raise queue_full()
        window.append(now)

    def _new_task(self, spec: CreateSpec, media: MediaBytes, now: float) -> SimTask:
        ratio = spec.ratio if spec.ratio != c.ADAPTIVE else _adaptive(media.like_size)
        width, height = spec.model.output_size(spec.resolution, ratio)
        duration = spec.duration if spec.duration not in (None, -1) else _auto_duration(spec.model)
        frames = spec.frames or c.frames_in(duration or 5)
        task_id = self._task_id(now)
        fraction = int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16) / 2**32
        seed = spec.seed if spec.seed is not None else self.rng.randint(0, 2**31 - 1)
        return SimTask(
            id=task_id, spec=spec, media=media, created_at=now, updated_at=now,
            seed=seed, shown_seed=seed if self.config.echo_seed else _chosen_seed(task_id), ratio=ratio,
            width=width, height=height, frames=frames, duration=None if spec.frames else duration,
            run_for=self.config.run_time(spec.resolution, frames / c.FRAME_RATE, fraction),
            forced=self.faults.take_task(spec.prompt or ""),
        )

    def _task_id(self, now: float) -> str:
        stamp = (datetime.fromtimestamp(now, UTC) + _UTC8).strftime("%Y%m%d%H%M%S")
        alphabet = string.ascii_lowercase + string.digits
        while True:
            task_id = f"cgt-{stamp}-{''.join(self.rng.choice(alphabet) for _ in range(5))}"
            # The store's folder is claimed atomically: ids stay unique across backends sharing it.
            if task_id not in self.tasks and (self.store is None or self.store.reserve(task_id)):
                return task_id

    def _submit_render(self, task: SimTask) -> Future[RenderResult]:
        if self.config.render_cache_dir is not None:
            return self._pool.submit(cached_render, self._job(task), self._render_dir(task),
                                     self.config.render_cache_dir)
        if not self.config.prerendered:
            return self._pool.submit(render, self._job(task), self._render_dir(task))
        # One small clip per length for every task (its last frame still a valid first frame): a load test
        # measures the client, not the renderer.
        with self._prerender_lock:
            if task.frames not in self._prerendered:
                job = RenderJob(width=320, height=320, frames=task.frames, prompt="prerendered", seed=0,
                                first_frame=None, last_frame=None, generate_audio=True, watermark=False)
                out = (self.store.root if self.store else self.data_dir / "renders") / f"prerendered-{task.frames}"
                self._prerendered[task.frames] = self._pool.submit(render, job, out)
            return self._prerendered[task.frames]

    def _job(self, task: SimTask) -> RenderJob:
        return RenderJob(
            width=task.width, height=task.height, frames=task.frames, prompt=task.spec.prompt, seed=task.seed,
            first_frame=task.media.first, last_frame=task.media.last, generate_audio=task.spec.generate_audio,
            watermark=task.spec.watermark, annotate=self.config.annotate,
            upright=self.config.exif_orientation == "apply",
            drift=clip_drift(self.config.drift_colour, self.config.drift_contrast, self.config.drift_blur,
                             task.seed, task.spec.prompt),
        )

    def _render_dir(self, task: SimTask) -> Path:
        return self.store.task_dir(task.id) if self.store else self.data_dir / "renders" / task.id

    def _find(self, task_id: str) -> SimTask:
        task = self.tasks.get(task_id)
        if task is None and (task := self._foreign(task_id)) is not None and task.id in self.tasks:
            self._advance(self.clock())  # adopted just now: bring it up to date (it may even have vanished)
            task = self.tasks.get(task_id)
        if task is None:
            raise task_not_found(task_id)
        return task

    def _settled(self, task: SimTask, now: float) -> SimTask:
        """The task, unless it is too new for GET/DELETE to find yet (read_after_write_seconds): then a 404."""
        if now < task.created_at + self.config.read_after_write_seconds / self.config.speed:
            self.counters["early_404s"] += 1
            raise task_not_found(task.id)
        return task

    # --- the store (store.py): records of other backends, and of backends that are gone ----------------------
    def _store_lock(self) -> contextlib.AbstractContextManager[None]:
        return self.store.locked() if self.store is not None else contextlib.nullcontext()

    def _all_tasks(self, task_ids: list[str]) -> list[SimTask]:
        """Held tasks and, with a store, every other record in it (only the named ones when ids are given)."""
        tasks = list(self.tasks.values())
        if self.store is not None:
            for task_id in task_ids or self.store.ids():
                if task_id not in self.tasks and (task := self._foreign(task_id)) is not None:
                    tasks.append(task)
        return tasks

    def _foreign(self, task_id: str) -> SimTask | None:
        """A task of the store that this backend does not hold, as its record says now; adopted when the backend
        that held it is gone."""
        if self.store is None or task_id in self.tasks:
            return self.tasks.get(task_id)
        stored = self.store.load(task_id)
        if stored is None:
            return None
        if not self.store.alive(stored.owner):
            return self._adopt(task_id)
        return stored.task

    def _adopt(self, task_id: str) -> SimTask | None:
        """Hold a record whose backend is gone: from now on this backend advances it (and renders it if needed).
        Adoption happens when someone first looks (GET, list, delete), not at start, so settings changed right after
        a start apply before any orphan moves on."""
        assert self.store is not None
        stored = self.store.load(task_id, media=True)
        if stored is None:
            return None
        task = self.tasks[task_id] = stored.task
        self.counters["tasks_adopted"] += 1
        if task.status == "running" and task.forced is None:
            task.render = self._resume_render(task)
            task.render.add_done_callback(lambda _f: setattr(task, "rendered_at", self.clock()))
        self.store.save(task)
        return task

    def _resume_render(self, task: SimTask) -> Future[RenderResult]:
        """The render of an adopted running task: its files when the render had finished, else render it again
        (the same job gives the same bytes)."""
        out = self._render_dir(task)
        done = RenderResult(out / VIDEO_NAME, out / PNG_NAME)
        if self.config.prerendered or not (done.video.exists() and done.last_frame_png.exists()):
            self.counters["rerenders"] += not self.config.prerendered
            return self._submit_render(task)
        future: Future[RenderResult] = Future()
        future.set_result(done)
        return future

    def _sync(self) -> None:
        """Take in what other backends did to records this one holds: a cancel, a delete, a reset."""
        if self.store is None or not self.store.foreign_changes():
            return
        for task in list(self.tasks.values()):
            if not self.store.changed(task.id):
                continue
            stored = self.store.load(task.id)
            if stored is None:
                del self.tasks[task.id]
            else:
                task.status, task.updated_at, task.error = stored.task.status, stored.task.updated_at, stored.task.error

    def task_json(self, task: SimTask) -> dict[str, Any]:
        """The task object of GET/LIST/callbacks (reference §4)."""
        return task_json(task, self.signed_url)


def _chosen_seed(task_id: str) -> int:
    """The seed the task object shows when the sent one is not echoed: fixed per task id, in [0, 2^31)."""
    return int(hashlib.sha256(f"seed:{task_id}".encode()).hexdigest()[:8], 16) % 2**31


def _adaptive(like: tuple[int, int] | None) -> str:
    """How adaptive resolves: nearest to the input image; text-only requests get 16:9."""
    return c.nearest_ratio(*like) if like else "16:9"


def _auto_duration(model: c.ModelRules) -> int:
    """What `duration: -1` becomes: 5 s where allowed (a fixed choice keeps runs reproducible)."""
    return 5 if model.durations.shortest <= 5 <= model.durations.longest else model.durations.shortest
