"""Urgency (紧急程度) from ordered, explainable keyword rules kept in config/urgency.toml.

There is no labelled urgency data, so this is a lexicon: the first rule (in file order)
with a term found in the text decides, and the assessment names that rule and its terms.
A term is ignored when a negation cue stands just before it in its clause ("不是火灾") or
when its sentence marks it as past, hearsay, hypothetical or preventive ("去年发生过车祸").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from classifiers.errors import UrgencyConfigError
from classifiers.text import normalise_text

DEFAULT_URGENCY_PATH = Path(__file__).resolve().parents[1] / "config" / "urgency.toml"
EMERGENCY_SERVICES = frozenset({"110", "119", "120", "122"})

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[，,、：:。！？!?；;\n]")


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    TWO_HOURS = "2h"
    TWENTY_FOUR_HOURS = "24h"
    GENERAL = "general"
    COMPLEX = "complex"


@dataclass(frozen=True)
class UrgencyAssessment:
    urgency: Urgency
    emergency_service: str | None
    matched_rule: str | None
    matched_terms: tuple[str, ...]


@dataclass(frozen=True)
class UrgencyRule:
    rule_id: str
    urgency: Urgency
    service: str | None
    terms: tuple[str, ...]
    unless: tuple[str, ...]


GENERAL = UrgencyAssessment(Urgency.GENERAL, None, None, ())


def _start_of(pattern: re.Pattern[str], text: str, position: int) -> int:
    """Index just after the last boundary before `position` (0 if none)."""
    start = 0
    for match in pattern.finditer(text, 0, position):
        start = match.end()
    return start


def _end_of(pattern: re.Pattern[str], text: str, position: int) -> int:
    match = pattern.search(text, position)
    return match.start() if match else len(text)


@dataclass(frozen=True)
class UrgencyRules:
    rules: tuple[UrgencyRule, ...]
    negation: tuple[str, ...]
    negation_window: int
    not_current: tuple[str, ...]

    @classmethod
    def load(cls, path: str | Path | None = None) -> UrgencyRules:
        config_path = Path(path) if path is not None else DEFAULT_URGENCY_PATH
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UrgencyConfigError(f"{config_path}: cannot read: {error}") from error
        except tomllib.TOMLDecodeError as error:
            raise UrgencyConfigError(f"{config_path}: invalid TOML: {error}") from error
        return _parse(data, config_path)

    def _term_counts(self, text: str, position: int, term: str) -> bool:
        clause_start = _start_of(_CLAUSE_END, text, position)
        before = text[max(clause_start, position - self.negation_window) : position]
        if any(cue in before for cue in self.negation):
            return False
        sentence = text[_start_of(_SENTENCE_END, text, position) : position]
        return not any(cue in sentence for cue in self.not_current)

    def _matches(self, rule: UrgencyRule, text: str) -> tuple[str, ...]:
        found: list[str] = []
        for term in rule.terms:
            for match in re.finditer(re.escape(term), text):
                position = match.start()
                clause = text[
                    _start_of(_CLAUSE_END, text, position) : _end_of(_CLAUSE_END, text, position)
                ]
                if any(word in clause for word in rule.unless):
                    continue
                if self._term_counts(text, position, term):
                    found.append(term)
                    break
        return tuple(found)

    def assess(self, text: str) -> UrgencyAssessment:
        normalised = normalise_text(text)
        for rule in self.rules:
            terms = self._matches(rule, normalised)
            if terms:
                return UrgencyAssessment(rule.urgency, rule.service, rule.rule_id, terms)
        return GENERAL


def _strings(value: Any, where: str, *, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise UrgencyConfigError(f"{where}: must be a non-empty list of non-empty strings")
    return tuple(normalise_text(item) for item in value)


def _parse_rule(raw: Any, where: str, seen: set[str]) -> UrgencyRule:
    if not isinstance(raw, dict):
        raise UrgencyConfigError(f"{where}: must be a table")
    unknown = set(raw) - {"id", "urgency", "service", "terms", "unless"}
    if unknown:
        raise UrgencyConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise UrgencyConfigError(f"{where}.id: must be a non-empty string")
    if rule_id in seen:
        raise UrgencyConfigError(f"{where}.id: duplicate rule id {rule_id!r}")
    seen.add(rule_id)
    try:
        urgency = Urgency(str(raw.get("urgency")))
    except ValueError as error:
        choices = ", ".join(u.value for u in Urgency)
        raise UrgencyConfigError(f"{where}.urgency: must be one of {choices}") from error
    service = raw.get("service")
    if urgency is Urgency.EMERGENCY and service not in EMERGENCY_SERVICES:
        raise UrgencyConfigError(
            f"{where}.service: emergency rules need one of {sorted(EMERGENCY_SERVICES)}"
        )
    if urgency is not Urgency.EMERGENCY and service is not None:
        raise UrgencyConfigError(f"{where}.service: only emergency rules name a service")
    return UrgencyRule(
        rule_id=rule_id,
        urgency=urgency,
        service=service,
        terms=_strings(raw.get("terms"), f"{where}.terms"),
        unless=_strings(raw.get("unless"), f"{where}.unless", required=False),
    )


def _parse(data: dict[str, Any], path: Path) -> UrgencyRules:
    if data.get("version") != 1:
        raise UrgencyConfigError(f"{path}: version: must be 1")
    cues = data.get("cues")
    if not isinstance(cues, dict):
        raise UrgencyConfigError(f"{path}: [cues]: missing table")
    window = cues.get("negation_window")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 20:
        raise UrgencyConfigError(f"{path}: cues.negation_window: must be an integer 1..20")
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise UrgencyConfigError(f"{path}: rule: at least one [[rule]] is required")
    seen: set[str] = set()
    rules = tuple(
        _parse_rule(raw, f"{path}: rule[{index}]", seen) for index, raw in enumerate(raw_rules)
    )
    return UrgencyRules(
        rules=rules,
        negation=_strings(cues.get("negation"), f"{path}: cues.negation"),
        negation_window=window,
        not_current=_strings(cues.get("not_current"), f"{path}: cues.not_current"),
    )
