"""Find the task an ambiguous create may have made, through the list endpoint (DESIGN.md §5, house rule 3).

The orchestrator always sends an explicit random seed, so (model, seed, created_at window) nearly always names one
task; duration, ratio, resolution and frames, when the request set them, narrow it further.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from orchestrator.api.client import ArkClient
from orchestrator.api.errors import AmbiguousCreate
from orchestrator.api.types import Task, TaskPage

LIST_PAGE_SIZE = 100
LIST_MAX_PAGE = 500  # the endpoint accepts page_num up to 500
LIST_INTERVAL_S = 1.0  # the provider allows 1 list call per second per account

log = logging.getLogger("orchestrator.api")


async def reconcile(client: ArkClient, ambiguous: AmbiguousCreate, exclude: Collection[str] = ()) -> Task | None:
    """The task the ambiguous create made, or None; when several match, the newest (logged as a warning).

    `exclude` holds the ids the caller already owns (journaled tasks of other shots): a storyboard may pin the
    same seed on several shots, and a sibling's task must never be adopted as this create's orphan.
    Without a pinned seed (None or -1) nothing can be told apart safely, so this returns None without listing.
    """
    req = ambiguous.request
    if req.seed is None or req.seed < 0:
        log.warning("cannot reconcile a create without a pinned seed (model %s)", req.model)
        return None
    found: list[Task] = []
    for page_num in range(1, LIST_MAX_PAGE + 1):
        if page_num > 1:
            await client.sleep(LIST_INTERVAL_S)
        page = await client.list(page_num=page_num, page_size=LIST_PAGE_SIZE, model=req.model,
                                 service_tier=req.service_tier)  # unfiltered, the list shows only the default tier
        found += [task for task in page.items if task.id not in exclude and matches(task, ambiguous)]
        if _last_page(page, page_num) or _before_window(page.items, ambiguous.created_after):
            break
    return _newest(found)


def matches(task: Task, ambiguous: AmbiguousCreate) -> bool:
    """Whether a listed task is the one the ambiguous create would have made."""
    req = ambiguous.request
    created = task.created_at
    if task.seed != req.seed or created is None:
        return False
    if not ambiguous.created_after <= created <= ambiguous.created_before:
        return False
    # With an endpoint id (ep-...) the task reports the model name instead; the list filter already matched it.
    if not req.model.startswith("ep-") and task.model != req.model:
        return False
    wanted = [
        (req.frames, task.frames),
        (None if req.frames is not None or req.duration == -1 else req.duration, task.duration),  # frames win
        (None if req.ratio == "adaptive" else req.ratio, task.ratio),  # adaptive comes back resolved
        (req.resolution, task.resolution),
    ]
    return all(want is None or want == got for want, got in wanted)


def _last_page(page: TaskPage, page_num: int) -> bool:
    return len(page.items) < LIST_PAGE_SIZE or page_num * LIST_PAGE_SIZE >= page.total


def _before_window(items: list[Task], created_after: int) -> bool:
    """True when this page reaches past the window in newest-first order, so later pages are older still.

    The provider does not document the order; if a page is not newest-first we keep reading rather than guess.
    """
    stamps = [t.created_at for t in items if t.created_at is not None]
    return bool(stamps) and stamps == sorted(stamps, reverse=True) and stamps[-1] < created_after


def _newest(found: list[Task]) -> Task | None:
    if len(found) > 1:
        log.warning("%d tasks match an ambiguous create (%s); adopting the newest", len(found),
                    ", ".join(t.id for t in found))
    return max(found, key=lambda t: t.created_at or 0, default=None)
