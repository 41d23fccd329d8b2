"""Reproducible installs: constraints.txt pins every declared dependency to a version its floor admits."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return [Requirement(line) for line in lines]


def _pins() -> dict[str, list[tuple[Version, Requirement]]]:
    """Name -> every pinned version, each with its line (a universal lock may pin one name per Python range)."""
    pins: dict[str, list[tuple[Version, Requirement]]] = {}
    for raw in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"constraints.txt: {line!r} is not an exact pin"
        pins.setdefault(canonicalize_name(req.name), []).append((Version(spec.version), req))
    return pins


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_floor(requirement: Requirement) -> None:
    pinned = _pins().get(canonicalize_name(requirement.name))
    assert pinned, f"{requirement.name} is declared in pyproject.toml but not pinned in constraints.txt (make lock)"
    for version, _ in pinned:
        assert requirement.specifier.contains(version, prereleases=True), (
            f"constraints.txt pins {requirement.name}=={version}, outside pyproject.toml's {requirement.specifier}")


def test_the_pins_for_this_python_name_one_version_each() -> None:
    env = default_environment()
    for name, pinned in _pins().items():
        applicable = [v for v, req in pinned if req.marker is None or req.marker.evaluate(env)]
        assert len(applicable) <= 1, f"{name}: more than one pin applies here: {applicable}"


def test_the_makefile_installs_through_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-c $(CONSTRAINTS) -e '.[dev]'" in makefile
    assert "CONSTRAINTS := constraints.txt" in makefile
