"""The one error tree of the orchestrator.

Every error the product raises on purpose derives from `OrchestratorError` and knows the process exit code that
the command line maps it to (DESIGN.md §9)::

    OrchestratorError                 exit 1   root; anything we raise deliberately
    ├── InputError                    exit 2   the user's input is wrong; nothing was spent
    │   ├── StoryboardInvalid                  one or more diagnostics (file:line:col, path, message)
    │   ├── StoryboardUnreadable               the file cannot be read or parsed at all
    │   └── ConfigError                        settings or a price file are wrong
    ├── BudgetExceeded                exit 3   the planned cost is above the budget
    ├── ApiError                      exit 1   the provider, or the way to it, failed (orchestrator.api.errors):
    │   ├── BadRequest / AuthenticationFailed / PermissionDenied / NotFound / Conflict / RateLimited / ServerError
    │   ├── ConnectionFailed └── Timeout
    │   └── TaskFailed, AmbiguousCreate, DownloadFailed
    └── AssemblyError                 exit 1   a film could not be made (orchestrator.assembly.errors):
        ├── FfmpegFailed                       argv and the tail of ffmpeg's stderr
        ├── ClipInvalid                        a truncated or corrupt clip, named
        └── FfmpegUnsuitable          exit 2   the ffmpeg in use lacks what films need (one line: binary, version,
                                               what is missing, the fix); refused before anything is spent

Each branch lives beside its layer (the API branch is drawn in full in `orchestrator/api/errors.py`); later layers
(the journal) hang theirs here the same way. The simulator's `ProviderError` is deliberately outside the
tree: it is the fake provider's answer, not an error of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from orchestrator.storyboard.diagnostics import Diagnostic


class OrchestratorError(Exception):
    """Root of every deliberate error; `exit_code` is what the CLI exits with."""

    exit_code: ClassVar[int] = 1


class InputError(OrchestratorError):
    """The user's input is wrong; no money was spent."""

    exit_code: ClassVar[int] = 2


class StoryboardInvalid(InputError):
    """A storyboard broke one or more rules; carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class StoryboardUnreadable(StoryboardInvalid):
    """The storyboard file is missing, unreadable, or not YAML/JSON at all."""


class ConfigError(InputError):
    """A setting, flag value or price file is wrong."""


class BudgetExceeded(OrchestratorError):
    """The planned cost is above the budget, so nothing may start."""

    exit_code: ClassVar[int] = 3

    def __init__(self, planned: Decimal | float, budget: Decimal | float, source: str, symbol: str = "$") -> None:
        self.planned = planned
        self.budget = budget
        self.source = source
        # Cents can hide the difference ($0.8526 against $0.85): then show as many places as it takes.
        exact, cap = Decimal(str(planned)), Decimal(str(budget))
        places = next((p for p in (2, 4, 6) if round(exact, p) > round(cap, p)), 6)
        super().__init__(
            f"planned cost {symbol}{planned:,.{places}f} exceeds the budget of {symbol}{budget:,.2f} ({source})"
        )
