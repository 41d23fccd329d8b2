"""The export branch of the error tree, hung under `orchestrator.errors.InputError`::

    InputError                      exit 2
    └── ExportError                          a timeline cannot be made from what the run directory holds: no report
                                             yet, an output or a clip file missing, a report that does not add up;
                                             one line naming the path and the fix

Nothing is spent by an export, so every one of these is the user's to fix and run again.
"""

from __future__ import annotations

from orchestrator.errors import InputError


class ExportError(InputError):
    """A timeline cannot be made from the run directory as it is."""
