"""Writes a storyboard back out as YAML that reads back to the same storyboard, for programs that generate them.

The dumper quotes every string that either our YAML 1.2 reader or an ordinary YAML 1.1 reader would take for
something else ("16:9", "yes", "1e3"), so the file means the same thing to every tool.
"""

from __future__ import annotations

import re

import yaml

from orchestrator.storyboard.schema import Storyboard


class _Dumper(yaml.SafeDumper):
    """SafeDumper that also quotes YAML 1.2 floats such as 1e3."""


_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()}
_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def to_yaml(storyboard: Storyboard) -> str:
    """The storyboard as YAML, keeping only what was set (defaults stay implicit)."""
    data = storyboard.model_dump(mode="json", exclude_unset=True)
    data["shots"] = [_shot_first_keys(shot) for shot in data["shots"]]
    for name, output in (storyboard.outputs or {}).items():
        if output.listed:  # written as a plain list of shot ids, it goes back as one
            data["outputs"][name] = list(output.shots)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def _shot_first_keys(shot: dict[str, object]) -> dict[str, object]:
    """Put what a reader looks for first (id, parent, prompt) at the top of each shot."""
    head: dict[str, object] = {k: shot[k] for k in ("id", "after", "prompt") if k in shot}
    return {**head, **{k: v for k, v in shot.items() if k not in head}}
