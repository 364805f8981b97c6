"""Reads the default configuration in `config/` (TOML) into domain objects.

Each file is checked in two steps: its shape, by one pydantic model per TOML table (types,
required keys, no unknown keys), then what its entries name (units, areas, hotlines,
categories, urgencies), across both files. Every problem is reported, one line each, with
the file and the field it is in, so an operator can fix the files without reading code.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic_core import ErrorDetails

from router.domain.calls import RepeatPolicy
from router.domain.catalogue import FIRST_LEVEL_CATEGORIES, Catalogue, CatalogueItem
from router.domain.errors import ConfigurationError
from router.domain.hotlines import Hotline, HotlineKind, HotlineRegistry
from router.domain.incidents import IncidentPolicy
from router.domain.routing import Area, RoutingRule, RoutingTable, TriagePolicy, Unit, UnitKind

if TYPE_CHECKING:
    from router.sla_config import SlaConfig

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

Loc = tuple[str | int, ...]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _unit_interval(value: float) -> float:
    if not 0 <= value <= 1:  # also refuses nan
        raise ValueError("must be a number from 0 to 1")
    return value


# Strict: TOML values carry their type, so "0.5" or true for a number is a mistake to report,
# not something to coerce.
Text = Annotated[str, Strict(), AfterValidator(_not_blank)]
Threshold = Annotated[float, Strict(), AfterValidator(_unit_interval)]


class ConfigTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HotlineTable(ConfigTable):
    """A `[[hotline]]` of hotlines.toml."""

    code: Text
    name: Text
    owner_unit: Text
    kind: HotlineKind


class HotlinesFile(ConfigTable):
    hotline: tuple[HotlineTable, ...] = Field(min_length=1)


class UnitTable(ConfigTable):
    """A `[[unit]]` of routing.toml."""

    code: Text
    name: Text
    kind: UnitKind


class AreaTable(ConfigTable):
    """An `[[area]]` of routing.toml."""

    code: Text
    name: Text
    aliases: tuple[Text, ...] = ()
    government_unit: Text


class RuleTable(ConfigTable):
    """A `[[rule]]` of routing.toml; an empty or absent list matches anything."""

    id: Text
    unit: Text
    categories: tuple[Text, ...] = ()
    areas: tuple[Text, ...] = ()
    hotlines: tuple[Text, ...] = ()
    urgencies: tuple[Text, ...] = ()
    description: Annotated[str, Strict()] = ""


class TriageTable(ConfigTable):
    """`[triage]` of routing.toml: the default threshold and per-category overrides."""

    default_threshold: Threshold
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    min_content_words: Annotated[int, Strict(), Field(ge=0)] = 1


class CatalogueItemTable(ConfigTable):
    """An `[[item]]` of catalogue.toml."""

    id: Text
    path: Text
    category: Text
    unit: Text | None = None
    terms: tuple[Text, ...] = Field(min_length=1)


class CatalogueFile(ConfigTable):
    version: Literal[1]
    item: tuple[CatalogueItemTable, ...] = ()


class RepeatsTable(ConfigTable):
    """`[repeats]` of routing.toml: when a caller's new call counts on an open ticket."""

    window_hours: Annotated[int, Strict(), Field(ge=0, le=24 * 30)] = 72
    min_similarity: Threshold = 0.25


class IncidentsTable(ConfigTable):
    """`[incidents]` of routing.toml: when different callers' demands share one incident."""

    window_hours: Annotated[int, Strict(), Field(ge=0, le=24 * 7)] = 6
    min_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    profile_size: Annotated[int, Strict(), Field(ge=10, le=5000)] = 300
    high_at: Annotated[int, Strict(), Field(ge=1)] = 10
    critical_at: Annotated[int, Strict(), Field(ge=1)] = 100
    min_shingles: Annotated[int, Strict(), Field(ge=1)] = 4
    enabled: Annotated[bool, Strict()] = True


class RoutingFile(ConfigTable):
    dispatcher_unit: Text
    no_transfer_back_hotlines: tuple[Text, ...] = ()
    emergency_units: dict[str, Text] = Field(default_factory=dict)
    triage: TriageTable
    unit: tuple[UnitTable, ...] = Field(min_length=1)
    area: tuple[AreaTable, ...] = Field(min_length=1)
    rule: tuple[RuleTable, ...] = Field(min_length=1)
    repeats: RepeatsTable = Field(default_factory=RepeatsTable)
    incidents: IncidentsTable = Field(default_factory=IncidentsTable)


@dataclass(frozen=True, slots=True)
class TriageSettings:
    """`[triage]` as configured; it decides nothing until joined with the model's thresholds."""

    default_threshold: float
    overrides: Mapping[str, float]
    min_content_words: int = 1

    def policy(self, model_thresholds: Mapping[str, float]) -> TriagePolicy:
        return TriagePolicy(self.default_threshold, self.overrides, model_thresholds,
                            self.min_content_words)


@dataclass(frozen=True, slots=True)
class RouterConfig:
    hotlines: HotlineRegistry
    routing: RoutingTable
    triage: TriageSettings
    sla: SlaConfig
    catalogue: Catalogue = field(default_factory=Catalogue)
    repeats: RepeatPolicy = field(default_factory=RepeatPolicy)
    incidents: IncidentPolicy | None = field(default_factory=IncidentPolicy)  # None: off


def triage_policy(config: RouterConfig, model_thresholds: Mapping[str, float]) -> TriagePolicy:
    """The auto-dispatch policy: configured thresholds over the ones the model fitted.

    Build it once, where both the configuration and the loaded model are at hand.
    """
    return config.triage.policy(model_thresholds)


def load_router_config(config_dir: Path = DEFAULT_CONFIG_DIR,
                       categories: Collection[str] | None = None) -> RouterConfig:
    """Hotlines, routing table, triage settings and SLA policy from `config_dir`.

    `categories` are the classifier's: when given, a rule or a triage override may name no
    other. Raises `ConfigurationError` listing every problem found.
    """
    hotlines_file, routing_file = config_dir / "hotlines.toml", config_dir / "routing.toml"
    catalogue_file = config_dir / "catalogue.toml"
    problems: list[str] = []
    hotlines = validate_file(HotlinesFile, hotlines_file, problems)
    routing = validate_file(RoutingFile, routing_file, problems)
    # the catalogue is optional: without one, calls are routed by first-level category only
    catalogue = (validate_file(CatalogueFile, catalogue_file, problems)
                 if catalogue_file.exists() else CatalogueFile(version=1))
    if hotlines is None or routing is None or catalogue is None:
        raise ConfigurationError("\n".join(problems))
    problems += _reference_problems(hotlines_file, hotlines, routing_file, routing, categories)
    problems += _catalogue_problems(catalogue_file, catalogue, routing, categories)
    if problems:
        raise ConfigurationError("\n".join(problems))
    # Imported here: sla_config builds on this module's checks.
    from router.sla_config import load_sla_config

    return RouterConfig(
        hotlines=_registry(hotlines_file, hotlines),
        routing=_routing_table(routing_file, routing),
        triage=TriageSettings(routing.triage.default_threshold,
                              MappingProxyType(dict(routing.triage.thresholds)),
                              routing.triage.min_content_words),
        sla=load_sla_config(config_dir / "sla.toml", categories),
        repeats=RepeatPolicy(timedelta(hours=routing.repeats.window_hours),
                             routing.repeats.min_similarity),
        incidents=_incident_policy(routing.incidents),
        catalogue=Catalogue(
            CatalogueItem(item.id, item.path, item.category, item.unit,
                          tuple(normalise_term(term) for term in item.terms))
            for item in catalogue.item),
    )


def _incident_policy(table: IncidentsTable) -> IncidentPolicy | None:
    if not table.enabled:
        return None
    return IncidentPolicy(window=timedelta(hours=table.window_hours), min_share=table.min_share,
                          profile_size=table.profile_size, high_at=table.high_at,
                          critical_at=table.critical_at, min_shingles=table.min_shingles)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from exc


_File = TypeVar("_File", bound=BaseModel)


def validate_file(model: type[_File], path: Path, problems: list[str]) -> _File | None:
    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locs = [error["loc"] for error in errors]
        problems += [
            problem_line(path, error["loc"], _describe(model, error)) for error in errors
            # pydantic also calls a list of tables whose entries failed "too short":
            # the entries' own errors say what is wrong
            if not any(_inside(other, error["loc"]) for other in locs)
        ]
        return None


def _inside(loc: Loc, parent: Loc) -> bool:
    return len(loc) > len(parent) and loc[: len(parent)] == parent


def _describe(model: type[BaseModel], error: ErrorDetails) -> str:
    kind, value, context = error["type"], error["input"], error.get("ctx", {})
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        known = _keys_at(model, error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        if close:
            return f"unknown key (did you mean {close[0]!r}?)"
        return "unknown key" + (f" (expected one of {', '.join(known)})" if known else "")
    if kind == "enum":
        return f"{value!r} is not one of {context['expected']}"
    if kind == "value_error":
        return str(context["error"])
    if kind == "too_short":
        return "at least one entry is required"
    message = error["msg"][0].lower() + error["msg"][1:]
    return f"{message}, not {value!r}" if isinstance(value, str | int | float) else message


def _keys_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the table at `loc` allows (for suggesting the one a typo meant)."""
    table: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, str):
            field = table.model_fields.get(part) if table is not None else None
            table = _table_in(field.annotation) if field is not None else None
    return sorted(table.model_fields) if table is not None else []


def _table_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_table_in, get_args(annotation))), None)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _where(loc: Loc) -> str:
    """A pydantic location as a TOML path: `rule[3].unit`, `triage.thresholds."城乡建设"`."""
    where = ""
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            where += f".{key}" if where else key
    return where or "(top level)"


def problem_line(path: Path, loc: Loc, problem: str) -> str:
    return f"{path}: {_where(loc)}: {problem}"


class ReferenceCheck:
    """What entries name that does not exist, or codes used twice, each at file and field."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def known(self, path: Path, loc: Loc, value: str, known: Collection[str], what: str,
              hint: str = "") -> None:
        if value not in known:
            self.problems.append(problem_line(path, loc, f"unknown {what} {value!r}{hint}"))

    def unique(self, path: Path, table: str, field: str, values: Sequence[str]) -> None:
        first: dict[str, int] = {}
        for index, value in enumerate(values):
            if value in first:
                also = f"{table}[{first[value]}]"
                self.problems.append(problem_line(path, (table, index, field),
                                           f"{value!r} is used twice (also {also})"))
            first.setdefault(value, index)


def _reference_problems(hotlines_file: Path, hotlines: HotlinesFile, routing_file: Path,
                        routing: RoutingFile, categories: Collection[str] | None) -> list[str]:
    # Imported here: the classifier package loads numpy and scikit-learn, which the CLI and
    # the settings (which import this module) should not pay for.
    from classifiers import Urgency

    check = ReferenceCheck()
    units = {unit.code for unit in routing.unit}
    areas = {area.code for area in routing.area}
    lines = {hotline.code for hotline in hotlines.hotline}
    urgencies = [urgency.value for urgency in Urgency]
    category_hint = "" if categories is None else f" (known: {', '.join(categories)})"

    check.unique(hotlines_file, "hotline", "code", [h.code for h in hotlines.hotline])
    for i, hotline in enumerate(hotlines.hotline):
        check.known(hotlines_file, ("hotline", i, "owner_unit"), hotline.owner_unit, units,
                    "unit", f" (units are listed in {routing_file.name})")

    check.unique(routing_file, "unit", "code", [u.code for u in routing.unit])
    check.unique(routing_file, "area", "code", [a.code for a in routing.area])
    check.unique(routing_file, "rule", "id", [r.id for r in routing.rule])
    check.known(routing_file, ("dispatcher_unit",), routing.dispatcher_unit, units, "unit")
    for j, code in enumerate(routing.no_transfer_back_hotlines):
        check.known(routing_file, ("no_transfer_back_hotlines", j), code, lines, "hotline")
    for service, unit in routing.emergency_units.items():
        check.known(routing_file, ("emergency_units", service), unit, units, "unit")
    if categories is not None:
        for category in routing.triage.thresholds:
            check.known(routing_file, ("triage", "thresholds", category), category, categories,
                        "category", category_hint)
    for i, area in enumerate(routing.area):
        check.known(routing_file, ("area", i, "government_unit"), area.government_unit, units,
                    "unit")
    for i, rule in enumerate(routing.rule):
        check.known(routing_file, ("rule", i, "unit"), rule.unit, units, "unit")
        for j, code in enumerate(rule.areas):
            check.known(routing_file, ("rule", i, "areas", j), code, areas, "area")
        for j, code in enumerate(rule.hotlines):
            check.known(routing_file, ("rule", i, "hotlines", j), code, lines, "hotline")
        for j, code in enumerate(rule.urgencies):
            check.known(routing_file, ("rule", i, "urgencies", j), code, urgencies, "urgency",
                        f" (one of {', '.join(urgencies)})")
        if categories is not None:
            for j, code in enumerate(rule.categories):
                check.known(routing_file, ("rule", i, "categories", j), code, categories,
                            "category", category_hint)
    return check.problems


def normalise_term(term: str) -> str:
    from classifiers import normalise_text  # see _reference_problems for why here

    return normalise_text(term)


def _catalogue_problems(path: Path, catalogue: CatalogueFile, routing: RoutingFile,
                        categories: Collection[str] | None) -> list[str]:
    check = ReferenceCheck()
    units = {unit.code for unit in routing.unit}
    check.unique(path, "item", "id", [item.id for item in catalogue.item])
    for i, item in enumerate(catalogue.item):
        check.known(path, ("item", i, "category"), item.category, FIRST_LEVEL_CATEGORIES,
                    "category", " (a first-level category of the taxonomy)")
        if item.unit is not None:
            check.known(path, ("item", i, "unit"), item.unit, units, "unit",
                        " (units are listed in routing.toml)")
        elif categories is not None:  # routed by the category's rules: the model must know it
            check.known(path, ("item", i, "category"), item.category, categories, "category",
                        " (an item without a unit is routed by its category's rules)")
    return check.problems


def _registry(path: Path, doc: HotlinesFile) -> HotlineRegistry:
    try:
        return HotlineRegistry(Hotline(code=h.code, name=h.name, owner_unit=h.owner_unit,
                                       kind=h.kind) for h in doc.hotline)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _routing_table(path: Path, doc: RoutingFile) -> RoutingTable:
    units = [Unit(u.code, u.name, u.kind) for u in doc.unit]
    areas = [Area(a.code, a.name, tuple(sorted(set(a.aliases))), a.government_unit)
             for a in doc.area]
    rules = [
        RoutingRule(rule_id=r.id, unit=r.unit, categories=frozenset(r.categories),
                    areas=frozenset(r.areas), hotlines=frozenset(r.hotlines),
                    urgencies=frozenset(r.urgencies), description=r.description)
        for r in doc.rule
    ]
    try:
        return RoutingTable(units, areas, rules, dispatcher_unit=doc.dispatcher_unit,
                            emergency_units=doc.emergency_units,
                            no_transfer_back_hotlines=frozenset(doc.no_transfer_back_hotlines))
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
