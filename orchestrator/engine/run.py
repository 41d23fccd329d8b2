"""A whole run: decide, check the budget, run the shot graph, make the films, record the outcome (DESIGN.md §3)."""

from __future__ import annotations

import errno
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import networkx as nx

from orchestrator.api.board import StatusBoard
from orchestrator.api.errors import ApiError
from orchestrator.assembly.errors import FfmpegFailed
from orchestrator.assembly.films import REPORT_NAME, SHEET_NAME, FilmSet
from orchestrator.assembly.pipeline import AssembledOutput
from orchestrator.assembly.process import ffmpeg_slots
from orchestrator.config import PriceBook
from orchestrator.engine.alternates import run_takes
from orchestrator.engine.backend import Backend
from orchestrator.engine.context import Budget, ShotContext, ShotFailed
from orchestrator.engine.decide import Action, Decision, Decisions, decide, decide_shot, with_alternates
from orchestrator.engine.events import EventLog
from orchestrator.engine.films import FilmMaker, output_settings, output_sizes
from orchestrator.engine.gate import CreateGate, Rendezvous
from orchestrator.engine.journal import Journal
from orchestrator.engine.ledger import Ledger, ledger
from orchestrator.engine.pacing import DEFAULT_CONCURRENCY, AdaptiveLimit
from orchestrator.engine.plan import Plan, dollars, make_plan
from orchestrator.engine.review import Held, approved, check_locks, check_rejections, gated
from orchestrator.engine.rundir import RunDir, RunLock, run_dir_for
from orchestrator.engine.scheduler import Blocked, run_graph
from orchestrator.engine.settle import settle_intents
from orchestrator.engine.shot import Handoff, ShotOutcome
from orchestrator.errors import BudgetExceeded, ConfigError, OrchestratorError, RunWriteFailed
from orchestrator.profiles import PROFILES, Region
from orchestrator.storyboard.validate import CheckedStoryboard

EXIT_DONE, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class RunOptions:
    """The knobs of one run (DESIGN.md §9 flags)."""

    out: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    budget: float | None = None  # in the run's currency; wins over the storyboard's budget
    budget_total: float | None = None  # likewise, for all runs of the run directory together (the ledger)
    rerolls: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()  # shots whose newest reroll is given up (back to the take before it)
    picks: tuple[tuple[str, int], ...] = ()  # (shot, reroll number): use that take (`plan --pick`, `pick`)
    alternates: tuple[tuple[str, int], ...] = ()  # (shot, N): have N takes of it (--takes, over `takes:`)
    only: tuple[str, ...] = ()
    keep_going: bool = False
    max_attempts: int = 3
    prices: PriceBook | None = None
    rng: random.Random = field(default_factory=random.Random)
    assemble: bool = True  # False: clips only (programs that assemble later, load tests)
    limit: AdaptiveLimit | None = None  # shared by several runs in one process against one account
    gate: CreateGate | None = None  # likewise: keeps their creates apart on the provider's list
    together: Rendezvous | None = None  # likewise: where they wait until every one has told the gate its tasks
    status: StatusBoard | None = None  # likewise: answers looks due together with one list call
    exif: bool = True  # the provider applies a JPEG's EXIF orientation (Settings.exif_orientation)
    gate_links: bool = False  # --gate: every shot with a chained child is a review gate
    rejections_max: int = 10  # takes of a gated shot without an approval before a reroll needs a person


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the first call: plan, decisions, the budget check's inputs."""

    checked: CheckedStoryboard
    plan: Plan
    decisions: Decisions
    run_dir: RunDir
    selected: tuple[str, ...]  # shots this run touches, in plan order
    ledger: Ledger  # what earlier runs of the run directory spent, and the cap on all of them

    @property
    def cost_to_generate(self) -> Decimal:
        """What the selected shots will commit, exactly."""
        return sum((self.decisions.of(s).cost for s in self.selected), Decimal(0))

    @property
    def amount_to_generate(self) -> float:
        """What the selected shots will commit, for display."""
        return float(round(self.cost_to_generate, 2))


@dataclass
class RunResult:
    """How a run ended."""

    run_dir: RunDir
    films: dict[str, Path]
    failed: dict[str, str]
    blocked: dict[str, str]
    reused: list[str]
    generated: list[str]
    tokens: int
    amount: float  # in the run's currency
    report: Path | None
    contact_sheet: Path | None
    warnings: list[str]
    waiting: dict[str, str] = field(default_factory=dict)  # shot -> the gated shot whose approval it waits for
    page: Path | None = None  # report.html

    @property
    def exit_code(self) -> int:
        """0 when every selected shot finished, else 1."""
        return EXIT_FAILED if self.failed or self.blocked else EXIT_DONE


def check_options(checked: CheckedStoryboard, options: RunOptions) -> None:
    """Unknown --reroll/--drop-reroll/--only ids, or one shot both rerolled and dropped, are input errors; so are a
    run directory that can never be a folder (a file in the way, a name too long) and a journal that cannot be
    trusted (JournalDamaged): all said before any backend starts. Nothing here writes (`plan` calls it too); what
    only writing can tell is checked under the run's lock (`RunDir.check_writable`)."""
    run_dir = run_dir_for(checked.name, options.out)
    run_dir.check_path()
    run_dir.check_journal(str(checked.path))
    picked = tuple(shot for shot, _ in options.picks)
    alternated = tuple(shot for shot, _ in options.alternates)
    for flag, ids in (("--reroll", options.rerolls), ("--drop-reroll", options.drops), ("--only", options.only),
                      ("--pick", picked), ("--takes", alternated)):
        unknown = [i for i in ids if i not in checked.specs]
        if unknown:
            raise ConfigError(f"{flag} {', '.join(unknown)}: no such shot in {checked.path} "
                              f"({', '.join(checked.specs)})")
    both = set(options.rerolls) & set(options.drops)
    if both:
        raise ConfigError(f"--reroll and --drop-reroll both name {', '.join(sorted(both))}: choose one")


def prepare(checked: CheckedStoryboard, options: RunOptions, journal: Journal | None, *, locks: bool = True
            ) -> Prepared:
    """Plan and decide (reads the journal, calls nobody); with `locks`, refuse to make a locked shot again."""
    check_options(checked, options)
    plan = make_plan(checked, options.prices, options.budget, options.exif)
    run_dir = run_dir_for(checked.name, options.out)
    check_currency(journal, plan, run_dir)
    decisions = decide(checked, plan, journal, run_dir, options.rerolls, options.drops, dict(options.picks),
                       dict(options.alternates))
    if locks:
        check_locks(journal, decisions, str(checked.path))
    check_rejections(journal, checked, options.rerolls, options.gate_links, options.rejections_max,
                     str(checked.path))
    wanted = set(checked.specs)
    if options.only:
        wanted = set(options.only).union(*(nx.ancestors(checked.graph, s) for s in options.only))
    cap = options.budget_total if options.budget_total is not None else checked.budget_total
    return Prepared(checked, plan, decisions, run_dir, tuple(s.id for s in plan.shots if s.id in wanted),
                    ledger(journal, plan, cap))


def check_currency(journal: Journal | None, plan: Plan, run_dir: RunDir) -> None:
    """A run directory keeps one currency: amounts of two are never added up, nor a run resumed on the other
    region's account (its tasks are not there)."""
    recorded = journal.currency() if journal is not None else None
    if recorded is None or recorded == plan.currency:
        return
    other = next(p for p in PROFILES.values() if p.currency.code == recorded)
    raise ConfigError(f"{run_dir.root} holds a run on {other.label}, priced in {recorded}; this one is on "
                      f"{PROFILES[Region(plan.region)].label} ({plan.currency}): run it on {other.label} "
                      f"(ORCHESTRATOR_REGION={other.region.value}) or give another --out")


def check_budget(prepared: Prepared, flag_given: bool, total_flag_given: bool = False) -> None:
    """Refuse (exit 3) when what this run would generate costs more than the budget, or than what the cap on all
    runs of the run directory leaves."""
    budget = prepared.plan.budget
    money = prepared.plan.money
    if budget is not None and prepared.cost_to_generate > dollars(budget):
        key = prepared.checked.region.profile.budget_key
        source = "--budget" if flag_given else f"{key} in {prepared.checked.path}"
        raise BudgetExceeded(prepared.cost_to_generate, dollars(budget), source, money.symbol)
    book = prepared.ledger
    if book.cap is not None and prepared.cost_to_generate > 0 and book.committed + prepared.cost_to_generate > book.cap:
        key = prepared.checked.region.profile.total_budget_key
        source = "--budget-total" if total_flag_given else f"{key} in {prepared.checked.path}"
        raise BudgetExceeded(book.committed + prepared.cost_to_generate, book.cap,
                             f"{source}: {money.show(float(book.committed))} already spent by {book.runs} "
                             f"run(s) of {prepared.run_dir.root}, {money.show(float(prepared.cost_to_generate))} "
                             "more for this one", money.symbol)


def _limit(plan: Plan, book: Ledger) -> Decimal | None:
    """What this run's creates may commit: the lower of its own budget and what the ledger's cap leaves."""
    limits = [dollars(plan.budget)] if plan.budget is not None else []
    limits += [book.left] if book.left is not None else []
    return min(limits, default=None)


def open_journal(run_dir: RunDir, hint: str) -> Journal | None:
    """The run directory's journal if it exists (for plan/status, which must not create one); a damaged one beside
    paid takes is refused (JournalDamaged), never read as "nothing done yet"; a run directory that cannot be a folder,
    or a journal this process cannot open, is said in one line (RunDirUnusable)."""
    run_dir.check_path()
    run_dir.check_journal(hint)
    return Journal(run_dir.journal) if run_dir.journal.is_file() and run_dir.journal.stat().st_size else None


async def run_storyboard(checked: CheckedStoryboard, backend: Backend, options: RunOptions, events: EventLog,
                         confirm: Callable[[Prepared], None] | None = None) -> RunResult:
    """Run a validated storyboard to its films. The lock is held throughout; `confirm` may refuse (raise) after
    the budget check and before the first paid call.

    Before anything is paid the run directory must take every file the run writes (RunDirUnusable, exit 2, names
    what and why); a write that fails later (a full disk) ends the run as RunWriteFailed (exit 1) with the journal
    as consistent as after a SIGKILL, so the next run resumes without paying again."""
    run_dir = run_dir_for(checked.name, options.out)
    with RunLock(run_dir):
        run_dir.check_journal(str(checked.path))
        run_dir.check_writable([str(run_dir.film(name).relative_to(run_dir.root)) for name in checked.outputs]
                               + [REPORT_NAME, SHEET_NAME])
        journal = Journal(run_dir.journal, mirror=run_dir.mirror)
        try:
            return await _locked_run(checked, backend, options, events, journal, confirm)
        except Exception as exc:
            failure = write_failure(exc, run_dir)
            if failure is None or failure is exc:
                raise
            raise failure from exc
        finally:
            journal.close()


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)  # a write() names no file: these are the disk's
_TEMP_NAME = re.compile(r"\.(?P<final>.+)\.[0-9a-f]{8}\..+")  # assembly's temp names, `.<final>.<8 hex><suffix>`


def write_failure(exc: BaseException, run_dir: RunDir) -> RunWriteFailed | None:
    """The RunWriteFailed that `exc` is, when it is the machine refusing a write in the run directory mid-run: an
    OSError there (or, naming no file, one only a disk gives), a journal statement that failed, or an ffmpeg that
    reported the disk full while writing there. None for anything else: a shot's own failure, or a bug."""
    if isinstance(exc, RunWriteFailed):
        return exc
    if isinstance(exc, OSError):
        failure = RunWriteFailed.of(exc, run_dir.root)
        if failure is None:
            return None
        if failure.path is None:
            return failure if exc.errno in _DISK_ERRNOS else None
        return failure if _inside(failure.path, run_dir.root) else None
    if isinstance(exc, FfmpegFailed):
        code = next((c for c in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)
                     if os.strerror(c) in exc.stderr), None)
        if code is None:
            return None
        written = [Path(a) for a in exc.argv if os.sep in a and _inside(Path(a), run_dir.root)]
        output = _final(written[-1]) if written else None
        return RunWriteFailed.of(OSError(code, os.strerror(code)), run_dir.root, output)
    return None


def _inside(path: Path, root: Path) -> bool:
    return root.absolute() in (path.absolute(), *path.absolute().parents)


def _final(path: Path) -> Path:
    """A temp file's final name (what the user knows: outputs/main.mp4, not outputs/.main.mp4.1a2b3c4d.part.mp4)."""
    match = _TEMP_NAME.fullmatch(path.name)
    return path.with_name(match.group("final")) if match else path


async def _locked_run(checked: CheckedStoryboard, backend: Backend, options: RunOptions, events: EventLog,
                      journal: Journal, confirm: Callable[[Prepared], None] | None) -> RunResult:
    prepared = prepare(checked, options, journal)
    check_budget(prepared, options.budget is not None, options.budget_total is not None)
    if confirm is not None and any(prepared.decisions.of(s).action is not Action.REUSE for s in prepared.selected):
        confirm(prepared)
    for shot, variant in prepared.decisions.rerolls.items():
        journal.set_variant(shot, variant)
    journal.set_meta("storyboard", str(checked.path.resolve()))
    journal.set_meta("region", prepared.plan.region)  # the journal's amounts are in this region's currency
    journal.set_meta("currency", prepared.plan.currency)
    journal.set_meta("budget_total", "" if prepared.ledger.cap is None else str(prepared.ledger.cap))  # for status
    journal.set_meta("gate_links", "1" if options.gate_links else "")  # for `orchestrator report`
    journal.set_meta(f"backend.{backend.kind.value}", "1")  # status says "simulated" while no real call was made
    run = journal.begin_run(str(checked.path))
    plan = prepared.plan
    money = plan.money.key  # events and the run summary name amounts by their currency: usd=..., cny=...
    events.emit("run_started", run=run, storyboard=str(checked.path), run_dir=str(prepared.run_dir.root),
                backend=backend.kind.value, shots=len(prepared.selected),
                currency=plan.currency, decisions={d.shot: d.action.value for d in prepared.decisions.shots
                                                   if d.shot in prepared.selected},
                **{f"{money}_to_generate": prepared.amount_to_generate})
    ctx = ShotContext(
        client=backend.client, journal=journal, run_dir=prepared.run_dir, base_dir=checked.base_dir, run=run,
        events=events, limit=options.limit or AdaptiveLimit(options.concurrency),
        budget=Budget(_limit(plan, prepared.ledger), money=plan.money),
        estimates={s.id: s for s in plan.shots}, gate=options.gate or CreateGate(), polls=backend.polls,
        max_attempts=options.max_attempts, rng=options.rng, keep_going=options.keep_going, status=options.status,
    )
    def throttled(exc: ApiError) -> None:  # the client rides out the 429 itself; we only slow down and say so
        ctx.limit.throttled()
        events.emit("throttled", reason=f"{exc.method or ''} {exc.code or exc.status}".strip(), limit=ctx.limit.limit)

    backend.client.on_rate_limited = throttled
    # One limit for every ffmpeg of the run: early normalisation and crossfades while shots generate, the films
    # at the end, and the checks of downloaded clips.
    with ffmpeg_slots():
        maker = FilmMaker(checked, prepared.run_dir, journal, output_sizes(checked, plan), output_settings(checked))
        if options.assemble:
            ctx.check_clip = maker.check

        keys: dict[str, str | None] = {}  # the key of each shot's take in use this run, once decided

        async def one(shot: str, parent: Handoff | None, publish: Callable[[Handoff], None]) -> ShotOutcome:
            decision = _settled(prepared, journal, shot, parent)
            keys[shot] = decision.key
            gate = checked.specs[shot].shot.after
            if gate is not None and gated(checked, gate, options.gate_links) and \
                    not approved(journal, gate, keys.get(gate)):
                raise Held(gate)
            try:
                outcome = await run_takes(ctx, checked.specs[shot], decision, parent, publish)
            except Exception as exc:
                failure = write_failure(exc, prepared.run_dir)
                if failure is not None and ctx.stopped is None:  # nothing more is created: it could not be kept
                    ctx.stopped = f"the run directory cannot be written ({failure.reason})"
                raise
            if outcome.reused:
                maker.clip_known(shot, outcome.clip)
            elif options.assemble:
                maker.clip_ready(shot, outcome.clip)
            return outcome

        if options.together is not None:  # runs sharing the account: none settles or creates before all told
            ctx.gate.known |= journal.task_ids()  # the gate the tasks they own (a killed batch's are in many journals)
            await options.together.meet(checked.name)
        await settle_intents(ctx)  # before any create: only then can the list tell this run's creates apart
        parent_of = {s: checked.specs[s].shot.after for s in prepared.selected}
        graph = await run_graph(list(prepared.selected), parent_of, one)
        written = next((f for e in graph.failed.values() if (f := write_failure(e, prepared.run_dir))), None)
        if written is not None:  # the run cannot go on writing; what it did is journaled and resumes next time
            await maker.settle()
            raise written
        held = {s: e.gate for s, e in graph.failed.items() if isinstance(e, Held)}
        waiting = {**held, **{s: held[a] for s, a in graph.blocked.items() if a in held}}
        failed = {s: _reason(e) for s, e in graph.failed.items() if s not in held}
        blocked = {s: f"its ancestor {a} did not finish" for s, a in graph.blocked.items() if s not in waiting}
        for shot, reason in failed.items():
            events.emit("failed", shot, reason=reason)
        for shot, reason in blocked.items():
            events.emit("blocked", shot, reason=reason)
        for shot, gate in waiting.items():
            events.emit("waiting", shot, reason=f"waits for approval of {gate}", gate=gate)
        clips = {s: o.clip for s, o in graph.done.items()}
        def film_ready(name: str, film: AssembledOutput) -> None:  # in place and verified; QC and report follow
            events.emit("assembled", output=name, path=str(film.film.path), frames=film.film.frames,
                        seconds=round(film.film.seconds, 3))

        films = await maker.make(clips, film_ready) if options.assemble else None
    result = _result(prepared, graph.done, failed, blocked, films, journal, run)
    result.waiting = waiting
    journal.end_run(run, result.exit_code, {"failed": failed, "blocked": blocked, money: result.amount})
    if options.assemble:  # --clips-only leaves the page, like the films, to later (orchestrator report)
        result.page = await _review_page(checked, options, journal, result)  # after end_run: it shows this run
    events.emit("run_finished", exit_code=result.exit_code, films={k: str(v) for k, v in result.films.items()},
                failed=failed, blocked=blocked, tokens=result.tokens, lowest_limit=ctx.limit.lowest,
                **{money: result.amount})
    return result


async def _review_page(checked: CheckedStoryboard, options: RunOptions, journal: Journal, result: RunResult
                       ) -> Path | None:
    """report.html as the run left things (the takes now in use); a page that cannot be made is a warning, never
    a failed run: what was paid for is on disk either way."""
    from orchestrator.engine.report import write_report  # the page reads status, which reads runs: import late

    after = replace(options, rerolls=(), drops=(), picks=())
    try:
        now = prepare(checked, after, journal, locks=False)
        with ffmpeg_slots():
            return await write_report(now.run_dir, journal, checked, now.decisions, now.ledger, options.gate_links)
    except (OrchestratorError, OSError) as exc:
        result.warnings.append(f"report.html was not written: {str(exc).splitlines()[0]}")
        return None


def _settled(prepared: Prepared, journal: Journal, shot: str, parent: Handoff | None) -> Decision:
    """The plan's decision for a shot; for one that waited on its parent's new frame, decided now with the same
    function the plan uses."""
    decision = prepared.decisions.of(shot)
    if decision.settled:
        return decision
    checked = prepared.checked
    est = next(s for s in prepared.plan.shots if s.id == shot)
    spec, frame = checked.specs[shot], parent.sha if parent else None
    now = decide_shot(est, spec, checked.base_dir, frame, journal, prepared.run_dir, journal.variant(shot))
    return with_alternates(now, decision.alternates + 1, est, spec, checked.base_dir, frame, journal,
                           prepared.run_dir)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ShotFailed):
        return exc.reason
    if isinstance(exc, Blocked):
        return f"its ancestor {exc.ancestor} did not finish"
    return f"{type(exc).__name__}: {exc}"


def _result(prepared: Prepared, done: dict[str, ShotOutcome], failed: dict[str, str], blocked: dict[str, str],
            films: FilmSet | None, journal: Journal, run: int) -> RunResult:
    checked = prepared.checked
    complete = [n for n, ids in checked.outputs.items() if all(i in done for i in ids)]
    paths = {n: prepared.run_dir.film(n) for n in complete if prepared.run_dir.film(n).is_file()}
    generated = [s for s, o in done.items() if not o.reused]
    billed = [t for t in journal.takes() if t.run == run and t.tokens]  # finished or not: succeeded tasks are billed
    film_set = films
    return RunResult(
        run_dir=prepared.run_dir, films=paths, failed=failed, blocked=blocked,
        reused=[s for s, o in done.items() if o.reused], generated=generated,
        tokens=sum(t.tokens or 0 for t in billed), amount=round(sum(t.usd or 0.0 for t in billed), 4),
        report=film_set.report if film_set else None, contact_sheet=film_set.contact_sheet if film_set else None,
        warnings=film_set.warnings if film_set else [],
    )
