"""Reads the default configuration in `config/` (TOML) into domain objects.

Every problem is reported with the file and the field it is in, so an operator can fix the
file without reading code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from router.domain.errors import ConfigurationError
from router.domain.hotlines import Hotline, HotlineKind, HotlineRegistry
from router.domain.routing import Area, RoutingRule, RoutingTable, Unit, UnitKind

_Kind = TypeVar("_Kind", HotlineKind, UnitKind)

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@dataclass(frozen=True, slots=True)
class TriagePolicy:
    """Auto-dispatch thresholds: configured overrides first, then the model's own."""

    default_threshold: float
    overrides: Mapping[str, float]

    def threshold_for(self, category: str, model_thresholds: Mapping[str, float]) -> float:
        if category in self.overrides:
            return self.overrides[category]
        return model_thresholds.get(category, self.default_threshold)


@dataclass(frozen=True, slots=True)
class RouterConfig:
    hotlines: HotlineRegistry
    routing: RoutingTable
    triage: TriagePolicy


def load_router_config(config_dir: Path = DEFAULT_CONFIG_DIR) -> RouterConfig:
    hotlines_file = config_dir / "hotlines.toml"
    routing_file = config_dir / "routing.toml"
    hotline_doc = _read(hotlines_file)
    routing_doc = _read(routing_file)
    routing = _routing_table(routing_file, routing_doc)
    hotlines = _hotlines(hotlines_file, hotline_doc, routing)
    triage = _triage(routing_file, routing_doc.get("triage", {}))
    return RouterConfig(hotlines=hotlines, routing=routing, triage=triage)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from exc


class _Fields:
    """Typed access to one table of a TOML file, with errors that say where."""

    def __init__(self, path: Path, where: str, table: Mapping[str, Any]) -> None:
        self.path, self.where, self.table = path, where, table

    def fail(self, field: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"{self.path}: {self.where}.{field}: {problem}")

    def text(self, field: str) -> str:
        value = self.table.get(field)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "required, a non-empty string")
        return value

    def texts(self, field: str) -> frozenset[str]:
        value = self.table.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(field, "must be a list of strings")
        return frozenset(value)

    def choice(self, field: str, kind: type[_Kind]) -> _Kind:
        value = self.text(field)
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(k.value for k in kind)
            raise self.fail(field, f"{value!r} is not one of {allowed}") from None


def _entries(path: Path, doc: Mapping[str, Any], key: str) -> list[_Fields]:
    entries = doc.get(key)
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: [[{key}]]: at least one entry is required")
    return [_Fields(path, f"{key}[{i}]", entry) for i, entry in enumerate(entries)]


def _hotlines(path: Path, doc: Mapping[str, Any], routing: RoutingTable) -> HotlineRegistry:
    hotlines = []
    for entry in _entries(path, doc, "hotline"):
        owner = entry.text("owner_unit")
        if owner not in routing.units:
            raise entry.fail("owner_unit", f"unknown unit {owner!r} (see routing.toml)")
        hotlines.append(Hotline(code=entry.text("code"), name=entry.text("name"),
                                owner_unit=owner, kind=entry.choice("kind", HotlineKind)))
    try:
        return HotlineRegistry(hotlines)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _routing_table(path: Path, doc: Mapping[str, Any]) -> RoutingTable:
    top = _Fields(path, "routing", doc)
    units = [Unit(e.text("code"), e.text("name"), e.choice("kind", UnitKind))
             for e in _entries(path, doc, "unit")]
    areas = [Area(e.text("code"), e.text("name"), tuple(sorted(e.texts("aliases"))),
                  e.text("government_unit")) for e in _entries(path, doc, "area")]
    rules = [
        RoutingRule(rule_id=e.text("id"), unit=e.text("unit"), categories=e.texts("categories"),
                    areas=e.texts("areas"), hotlines=e.texts("hotlines"),
                    urgencies=e.texts("urgencies"),
                    description=str(e.table.get("description", "")))
        for e in _entries(path, doc, "rule")
    ]
    emergency = doc.get("emergency_units", {})
    if not isinstance(emergency, dict) or not all(isinstance(v, str) for v in emergency.values()):
        raise top.fail("emergency_units", "must map service numbers to unit codes")
    try:
        return RoutingTable(units, areas, rules, dispatcher_unit=top.text("dispatcher_unit"),
                            emergency_units=emergency,
                            no_transfer_back_hotlines=top.texts("no_transfer_back_hotlines"))
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _triage(path: Path, table: Mapping[str, Any]) -> TriagePolicy:
    fields = _Fields(path, "triage", table)
    default = table.get("default_threshold", 0.5)
    overrides = table.get("thresholds", {})
    if not isinstance(default, int | float) or not 0 <= default <= 1:
        raise fields.fail("default_threshold", "must be a number from 0 to 1")
    if not isinstance(overrides, dict) or not all(
        isinstance(v, int | float) and 0 <= v <= 1 for v in overrides.values()
    ):
        raise fields.fail("thresholds", "must map categories to numbers from 0 to 1")
    return TriagePolicy(float(default), {k: float(v) for k, v in overrides.items()})
