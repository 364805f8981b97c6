"""Routing (派单规则): category × area × hotline → responsible unit, explainably.

The category taxonomy lives in the classifier; the routing table lives here, apart from it,
as ordered rules read from configuration. Every decision names the rule that made it and the
score behind it, so a dispatcher can see why a ticket went where it went.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from router.domain.catalogue import CatalogueMatch


class UnitKind(StrEnum):
    DEPARTMENT = "department"  # a functional department (承办单位)
    DISTRICT = "district"  # a district government: fallback owner of its area (兜底)
    STREET = "street"  # a street office or township government (街乡镇)
    DISPATCHER = "dispatcher"  # the centre's human dispatchers (人工分拨)
    EMERGENCY = "emergency"  # 110 / 119 / 120 / 122, reached by transfer, never queued


class Disposition(StrEnum):
    DISPATCHED = "dispatched"  # straight to the responsible unit's queue (直派)
    TRANSFERRED = "transferred"  # handed to an emergency line (转警/转119/转120/转122)
    TRIAGE = "triage"  # to the human dispatcher queue: the machine is not sure


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    kind: UnitKind


@dataclass(frozen=True, slots=True)
class Area:
    """A district (区县) with the names a caller may use for it and its government unit."""

    code: str
    name: str
    aliases: tuple[str, ...]
    government_unit: str


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """One ordered rule; an empty match set means "any"."""

    rule_id: str
    unit: str
    categories: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    hotlines: frozenset[str] = frozenset()
    urgencies: frozenset[str] = frozenset()
    description: str = ""

    def matches(self, request: RoutingRequest) -> bool:
        return (
            _matches(self.categories, request.category)
            and _matches(self.areas, request.area)
            and _matches(self.hotlines, request.hotline)
            and _matches(self.urgencies, request.urgency)
        )


def _matches(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or (value is not None and value in allowed)


@dataclass(frozen=True, slots=True)
class TriagePolicy:
    """The one place that decides a category's auto-dispatch threshold; below it, triage.

    A threshold configured for the category wins; else the one the model fitted from data
    for it; else the configured default (a category the model has no threshold for).
    """

    default_threshold: float
    overrides: Mapping[str, float] = field(default_factory=dict)
    model_thresholds: Mapping[str, float] = field(default_factory=dict)
    # below this many content words the model has read nothing it could route ("我想咨询一下")
    min_content_words: int = 1

    def __post_init__(self) -> None:
        # Own read-only copies: the policy of a running worker cannot be changed under it.
        for name in ("overrides", "model_thresholds"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        named = [("default_threshold", self.default_threshold)]
        named += [(f"override for {c}", t) for c, t in self.overrides.items()]
        named += [(f"model threshold for {c}", t) for c, t in self.model_thresholds.items()]
        wrong = [f"{where} is {value!r}" for where, value in named
                 if not 0.0 <= value <= 1.0]  # also refuses nan
        if wrong:
            raise ValueError("thresholds must be from 0 to 1: " + "; ".join(wrong))
        if self.min_content_words < 0:
            raise ValueError(f"min_content_words is {self.min_content_words}, must be >= 0")

    def threshold_for(self, category: str) -> float:
        override = self.overrides.get(category)
        if override is not None:
            return override
        return self.model_thresholds.get(category, self.default_threshold)


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """What routing needs to know about one demand."""

    hotline: str
    channel: str
    category: str
    confidence: float
    auto_dispatch_threshold: float
    urgency: str
    emergency_service: str | None = None
    area: str | None = None
    category_overridden: bool = False
    unit_override: str | None = None
    # words of the text that say what it is about (None: not known, not checked)
    content_words: int | None = None
    min_content_words: int = 1
    # signs of danger to life or property that no urgency rule graded (救命, 被困, 流血, …)
    danger_signals: tuple[str, ...] = ()
    # the dispatch-catalogue item the text names, if it names the items of one unit only
    catalogue: CatalogueMatch | None = None


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    disposition: Disposition
    unit: str
    rule_id: str
    reason: str
    emergency_service: str | None = None  # the line, for a transfer


class RoutingTable:
    """Units, areas and ordered rules, checked against each other when built."""

    def __init__(
        self,
        units: Iterable[Unit],
        areas: Iterable[Area],
        rules: Sequence[RoutingRule],
        dispatcher_unit: str,
        emergency_units: Mapping[str, str],
        no_transfer_back_hotlines: frozenset[str] = frozenset(),
    ) -> None:
        self.units = {unit.code: unit for unit in units}
        self.areas = {area.code: area for area in areas}
        self.rules = tuple(rules)
        self.dispatcher_unit = dispatcher_unit
        self.emergency_units = dict(emergency_units)  # emergency service number → unit code
        # Calls handed over by an emergency line are never transferred straight back to it:
        # 首接负责, the dispatcher settles the disagreement instead.
        self.no_transfer_back_hotlines = no_transfer_back_hotlines
        self._check()

    def _check(self) -> None:
        problems: list[str] = []
        named = [(f"rule {r.rule_id}", r.unit) for r in self.rules]
        named += [(f"area {a.code}", a.government_unit) for a in self.areas.values()]
        named += [(f"emergency service {s}", u) for s, u in self.emergency_units.items()]
        named.append(("dispatcher_unit", self.dispatcher_unit))
        problems += [f"{where} names unknown unit {unit!r}" for where, unit in named
                     if unit not in self.units]
        for rule in self.rules:
            problems += [f"rule {rule.rule_id} names unknown area {code!r}"
                         for code in sorted(rule.areas - self.areas.keys())]
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                problems.append(f"rule id {rule.rule_id} is used twice")
            seen.add(rule.rule_id)
        if problems:
            raise ValueError("; ".join(problems))

    def resolve_area(self, *texts: str | None) -> str | None:
        """The district a place description names, by its longest matching name or alias."""
        best: tuple[int, str] | None = None
        for area in self.areas.values():
            for name in (area.name, *area.aliases):
                if any(text and name in text for text in texts) and (
                    best is None or len(name) > best[0]
                ):
                    best = (len(name), area.code)
        return best[1] if best else None

    def decide(self, request: RoutingRequest) -> RoutingDecision:
        """Where one demand goes, and why."""
        if request.emergency_service is not None:
            return self._emergency(request)
        if request.unit_override is not None:
            return self._agent_choice(request, request.unit_override)
        if request.danger_signals and not request.category_overridden:
            # A category model is sure of the topic, never of the danger: a person decides,
            # first in their queue.
            return self._triage(request, "possible-emergency",
                                "possible emergency no rule graded (signals: "
                                + "、".join(request.danger_signals) + "): a dispatcher decides")
        if (not request.category_overridden and request.content_words is not None
                and request.content_words < request.min_content_words):
            return self._triage(request, "no-content",
                                f"only {request.content_words} content word(s): too little"
                                " to route without a person")
        if request.catalogue is not None and not request.category_overridden:
            return self._catalogue(request, request.catalogue)
        if not request.category_overridden and request.confidence < request.auto_dispatch_threshold:
            return self._triage(
                request, "low-confidence",
                f"{request.category} at confidence {request.confidence:.2f}"
                f" is below its auto-dispatch threshold {request.auto_dispatch_threshold:.2f}",
            )
        score = "agent-chosen category" if request.category_overridden else (
            f"confidence {request.confidence:.2f}")
        return self._by_rules(request, score)

    def _catalogue(self, request: RoutingRequest, match: CatalogueMatch) -> RoutingDecision:
        item = match.item
        named = f"text names {item.path} ({match.term})"
        if item.unit is not None:
            return RoutingDecision(Disposition.DISPATCHED, item.unit, f"catalogue-{item.item_id}",
                                   f"{named}: {self.units[item.unit].name}")
        return self._by_rules(replace(request, category=item.category), named)

    def _by_rules(self, request: RoutingRequest, score: str) -> RoutingDecision:
        for rule in self.rules:
            if rule.matches(request):
                return RoutingDecision(Disposition.DISPATCHED, rule.unit, rule.rule_id,
                                       f"{request.category} ({score}) matched {rule.rule_id}"
                                       + (f": {rule.description}" if rule.description else ""))
        if request.area is not None:
            district = self.areas[request.area].government_unit
            return RoutingDecision(Disposition.DISPATCHED, district, "district-fallback",
                                   f"no rule for {request.category} in {request.area}:"
                                   " the district government takes it (兜底)")
        return self._triage(request, "no-rule-no-area",
                            f"no rule for {request.category} and the place is unknown")

    def _agent_choice(self, request: RoutingRequest, code: str) -> RoutingDecision:
        unit = self.units.get(code)
        if unit is None:
            return self._triage(request, "override-unknown-unit",
                                f"agent chose unknown unit {code!r}")
        if unit.kind is UnitKind.EMERGENCY:  # an emergency line is reached by transfer only
            service = self.service_of(code)
            return RoutingDecision(Disposition.TRANSFERRED, code,
                                   f"agent-override-transfer-{service}",
                                   f"agent transferred the call to {service}",
                                   emergency_service=service)
        if unit.kind is UnitKind.DISPATCHER:
            return self._triage(request, "agent-asked-dispatcher",
                                "agent left the choice of unit to the dispatchers")
        return RoutingDecision(Disposition.DISPATCHED, code, "agent-override",
                               "unit chosen by the agent")

    def service_of(self, unit: str) -> str | None:
        """The emergency line (110, 119, …) an emergency unit answers, if it is one."""
        return next((service for service, code in self.emergency_units.items()
                     if code == unit), None)

    def _emergency(self, request: RoutingRequest) -> RoutingDecision:
        service = request.emergency_service or ""
        if request.hotline in self.no_transfer_back_hotlines:
            return self._triage(
                request, "emergency-from-emergency-line",
                f"emergency terms ({service}) on a call handed over by {request.hotline}:"
                " dispatcher decides with the line (首接负责)",
            )
        unit = self.emergency_units.get(service)
        if unit is None:
            return self._triage(request, "emergency-unknown-service",
                                f"emergency service {service!r} has no unit")
        return RoutingDecision(Disposition.TRANSFERRED, unit, f"emergency-transfer-{service}",
                               f"emergency: transferred to {service}", emergency_service=service)

    def _triage(self, request: RoutingRequest, rule_id: str, reason: str) -> RoutingDecision:
        return RoutingDecision(Disposition.TRIAGE, self.dispatcher_unit, rule_id, reason)
