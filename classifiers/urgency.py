"""Urgency (紧急程度) from ordered, explainable rules kept in config/urgency.toml.

There is no labelled urgency data from a real centre, so the rules are a lexicon of patterns:
the first rule (in file order) with a pattern found in the text decides, and the assessment
names that rule, what it matched and what it set aside, with why. A match does not count when

- a negation cue stands just before it in its clause ("不是火灾", "没有人受伤"), or a bare
  不/没 right before it ("打不着火"); in a rule that is not negatable only a denial does;
- its sentence marks it as past, hearsay, hypothetical or preventive ("去年发生过车祸"), or
  for an emergency as a habit ("经常"), unless a cue of the present follows that mark
  ("昨天开始发烧，现在抽起来了");
- its sentence says it is over ("煤气味已经散了") or makes it a topic asked about or staged
  ("想了解一下常识", "演练"), or it stands inside quotation marks ("“爆炸王”" is a game);
- its sentence holds one of the rule's `unless` words ("急救培训").

A pattern is a phrase, or phrases joined by `…`, which allows a few characters of the same
clause between them ("暖气…不热" finds "暖气一点都不热"). Behind the rules stand the danger model
and signals of danger (救命, 被困, 流血, …): see `UrgencyRules.assess_batch`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from classifiers.danger import DangerModel, DangerScore
from classifiers.errors import UrgencyConfigError
from classifiers.text import normalise_text

DEFAULT_URGENCY_PATH = Path(__file__).resolve().parents[1] / "config" / "urgency.toml"
EMERGENCY_SERVICES = frozenset({"110", "119", "120", "122"})
GAP = "…"

_SENTENCE_END_CHARS = frozenset("。！？!?；;\n")
_CLAUSE_END_CHARS = frozenset("，,、：:。！？!?；;\n")


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
    # danger signs no emergency rule explained: a person decides before any dispatch
    danger_signals: tuple[str, ...] = ()
    # patterns that were found but did not count, with why ("着火: negated by 不")
    blocked: tuple[str, ...] = ()
    # why the line differs from the matched rule's, when the danger model changed it
    line_note: str | None = None


@dataclass(frozen=True)
class UrgencyRule:
    rule_id: str
    urgency: Urgency
    service: str | None
    terms: tuple[str, ...]
    unless: tuple[str, ...]
    # an outage rule reads "没有供热" as the outage itself: negation cues do not apply
    negatable: bool = True


@dataclass(frozen=True)
class DangerNet:
    """Signals of danger to life or property; `strong` ones count double."""

    signals: tuple[str, ...]
    strong: tuple[str, ...]
    min_score: int
    ignore: tuple[str, ...] = ()
    # the danger model's emergency probability at which a call counts as possibly dangerous
    model_threshold: float = 0.5
    # below this probability a rule's emergency is not transferred but put before a person
    model_transfer_floor: float = 0.0
    # the model's line replaces the rule's when it is this many times as likely
    line_ratio: float = 2.0
    # from this probability the model transfers a call no rule recognised (None: never)
    model_transfer_threshold: float | None = None
    # the possible-emergency threshold for a call a rule already graded 2 h, 24 h or complex
    # (None: as `model_threshold`); such a call is on a short clock at a unit already
    graded_model_threshold: float | None = None


GENERAL = UrgencyAssessment(Urgency.GENERAL, None, None, ())
POSSIBLE_EMERGENCY_RULE = "possible-emergency"
DANGER_MODEL_RULE = "danger-model"  # an emergency the model recognised and no rule did


class _Text:
    """A normalised text with its clause and sentence bounds at every position, computed once
    and shared by every rule (a clause ends at ，。！？；…, a sentence at 。！？；)."""

    __slots__ = ("_positions", "clause_end", "clause_start", "sentence_end", "sentence_start",
                 "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._positions: dict[str, list[int]] | None = None
        size = len(text)
        self.clause_start = [0] * (size + 1)
        self.sentence_start = [0] * (size + 1)
        clause = sentence = 0
        for index, char in enumerate(text):
            self.clause_start[index], self.sentence_start[index] = clause, sentence
            if char in _CLAUSE_END_CHARS:
                clause = index + 1
            if char in _SENTENCE_END_CHARS:
                sentence = index + 1
        self.clause_start[size], self.sentence_start[size] = clause, sentence
        self.clause_end = [size] * (size + 1)
        self.sentence_end = [size] * (size + 1)
        clause = sentence = size
        for index in range(size - 1, -1, -1):
            if text[index] in _CLAUSE_END_CHARS:
                clause = index
            if text[index] in _SENTENCE_END_CHARS:
                sentence = index
            self.clause_end[index], self.sentence_end[index] = clause, sentence

    def positions_of(self, chars: Collection[str]) -> list[int]:
        """The positions holding any of these characters, in order (indexed on first use)."""
        if self._positions is None:
            self._positions = {}
            for index, char in enumerate(self.text):
                self._positions.setdefault(char, []).append(index)
        held = self._positions.keys() & chars
        if len(held) == 1:
            return self._positions[next(iter(held))]
        return sorted(index for char in held for index in self._positions[char])


_OPENING_QUOTES, _CLOSING_QUOTES = "“「『《\"", "”」』》\""


def _quoted(body: str, clause_start: int, position: int) -> bool:
    """Whether `position` is inside quotation marks opened in its clause: “爆炸王” is a game,
    a shop sign or a film, not an explosion."""
    before = body[clause_start:position]
    opened = sum(before.count(mark) for mark in _OPENING_QUOTES if mark != '"')
    closed = sum(before.count(mark) for mark in _CLOSING_QUOTES if mark != '"')
    return opened > closed or before.count('"') % 2 == 1


class _TermIndex:
    """Finds a rule's terms in a text, leftmost first and, at one position, longest first.

    Terms are indexed by their first character, and only the positions of a text holding one
    of those characters are tried (the text knows where each of its characters is), so a
    rule of hundreds of terms costs about as much as one of ten, and a rule none of whose
    terms can start in the text costs almost nothing. A term "A…B" matches A, then B within
    `gap` characters of the same clause.
    """

    def __init__(self, terms: tuple[str, ...], gap: int) -> None:
        self.terms = terms
        self.gap = gap
        self.by_first: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for index in sorted(range(len(terms)), key=lambda i: -len(terms[i].replace(GAP, ""))):
            parts = tuple(terms[index].split(GAP))
            self.by_first.setdefault(parts[0][0], []).append((index, parts))

    def matches(self, text: _Text) -> Iterator[tuple[int, int, str]]:
        """(start, end, term) of each match, without overlaps."""
        body, after = text.text, 0
        for position in text.positions_of(self.by_first.keys()):
            if position < after:
                continue  # inside the last match
            for index, parts in self.by_first[body[position]]:
                end = self._end(text, position, parts)
                if end is not None:
                    yield position, end, self.terms[index]
                    after = end
                    break

    def _end(self, text: _Text, position: int, parts: tuple[str, ...]) -> int | None:
        body = text.text
        if not body.startswith(parts[0], position):
            return None
        end = position + len(parts[0])
        for part in parts[1:]:
            limit = min(text.clause_end[end], end + self.gap + len(part))
            at = body.find(part, end, limit)
            if at == -1:
                return None
            end = at + len(part)
        return end


@dataclass(frozen=True)
class UrgencyRules:
    rules: tuple[UrgencyRule, ...]
    negation: tuple[str, ...]
    negation_window: int
    adjacent_negation: tuple[str, ...]
    not_current: tuple[str, ...]
    current: tuple[str, ...] = ()
    # "经常出车祸" is no accident now, but "经常高空抛物" is still a risk: emergencies only
    habitual: tuple[str, ...] = ()
    # said after the term in its sentence, these end it: "煤气味已经散了", "火已经扑灭"
    resolved: tuple[str, ...] = ()
    # the negations that deny a fact ("不是停水") rather than describe a lack ("没有水")
    denial: tuple[str, ...] = ()
    # anywhere in its sentence, these make the term a topic asked about, not an event:
    # "电动车着火了能不能用水灭，想了解一下常识"
    asking: tuple[str, ...] = ()
    gap: int = 6
    danger: DangerNet | None = None
    model: DangerModel | None = None

    # indexed once per rule set, not per call
    _indexes: tuple[_TermIndex, ...] = field(init=False, repr=False, compare=False)
    _danger_index: _TermIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_indexes",
                           tuple(_TermIndex(rule.terms, self.gap) for rule in self.rules))
        danger_terms = () if self.danger is None else self.danger.strong + self.danger.signals
        object.__setattr__(self, "_danger_index", _TermIndex(danger_terms, self.gap))

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

    def _why_not(self, text: _Text, position: int, end: int, emergency: bool,
                 negatable: bool = True) -> str | None:
        """Why a match at `position` does not count, or None when it does."""
        body = text.text
        clause_start = text.clause_start[position]
        before = body[max(clause_start, position - self.negation_window) : position]
        # where a negation is part of the rule's meaning ("没有供热"), only a denial counts
        cues = self.negation if negatable else self.denial
        cue = next((cue for cue in cues if cue in before), None)
        if cue is None and negatable and position > clause_start:
            cue = next((cue for cue in self.adjacent_negation
                        if body.endswith(cue, clause_start, position)), None)
        if cue is not None:
            return f"negated by {cue}"
        if _quoted(body, clause_start, position):
            return "in quotation marks (a name, not an event)"
        sentence_start = text.sentence_start[position]
        after = body[end : text.sentence_end[end]] if end < len(body) else ""
        resolved = next((cue for cue in self.resolved if cue in after), None)
        if resolved is not None:
            return f"over already ({resolved})"
        sentence_text = body[sentence_start : text.sentence_end[end] if end < len(body) else end]
        asked = next((cue for cue in self.asking if cue in sentence_text), None)
        if asked is not None:
            return f"asked about, not happening ({asked})"
        # a cue may overlap the term ("防溺水" before 溺水) but must start before it
        sentence = body[sentence_start:end]
        relative = position - sentence_start
        cues = self.not_current + self.habitual if emergency else self.not_current
        marks = [(sentence.rfind(cue, 0, relative + len(cue) - 1), cue) for cue in cues]
        marks = [(index, cue) for index, cue in marks if 0 <= index < relative]
        if not marks:
            return None
        last, cue = max(marks)
        if any(now in sentence[last + len(cue):relative] for now in self.current):
            return None
        return f"not current ({cue})"

    def _found(self, index: _TermIndex, unless: tuple[str, ...], text: _Text,
               blocked: list[str], emergency: bool = True, negatable: bool = True
               ) -> tuple[str, ...]:
        found: dict[str, None] = {}
        body = text.text
        for start, end, term in index.matches(text):
            if term in found:
                continue
            sentence = body[text.sentence_start[start] : text.sentence_end[min(end, len(body))]]
            why = next((f"unless {word}" for word in unless if word in sentence), None)
            why = why or self._why_not(text, start, end, emergency, negatable)
            if why is None:
                found[term] = None
            else:
                blocked.append(f"{term}: {why}")
        return tuple(found)

    def with_model(self, model: DangerModel) -> UrgencyRules:
        """These rules with the danger model behind them."""
        return replace(self, model=model)

    def assess(self, text: str) -> UrgencyAssessment:
        return self.assess_batch([text])[0]

    def assess_batch(self, texts: Sequence[str]) -> list[UrgencyAssessment]:
        """One assessment per text; the danger model scores the batch in one pass.

        Behind the rules the model does four things: a call no rule made an emergency is
        transferred to the model's likeliest line when the model is very sure
        (`model_transfer_threshold`), and is a possible emergency when it is merely worried
        (`model_threshold`); a rule's emergency the model finds very unlikely is demoted to a
        possible one (a person looks before a fire engine leaves); and where the model is sure
        of another line than the rule's, that line is taken (a fall into a pond from which the
        person was pulled out is for 120, though 落水 is a rescue term for 119).
        """
        graded = [self._by_rules(text) for text in texts]
        if self.model is None or self.danger is None:
            return graded
        net = self.danger
        for index, score in enumerate(self.model.scores(texts)):
            assessment = graded[index]
            if assessment.urgency is Urgency.EMERGENCY:
                graded[index] = self._checked_emergency(assessment, score)
            elif (net.model_transfer_threshold is not None and not assessment.blocked
                  and score.emergency >= net.model_transfer_threshold):
                # a term the rules set aside (negated, past, over, asked about) is evidence
                # the model cannot weigh: then it only flags, below
                line = score.likeliest_line()
                graded[index] = UrgencyAssessment(
                    Urgency.EMERGENCY, line, DANGER_MODEL_RULE, self.model.explain(texts[index]),
                    (), assessment.blocked,
                    line_note=f"danger model {score.emergency:.2f}, likeliest line {line}")
            elif score.emergency >= (net.model_threshold if assessment.matched_rule is None
                                     or net.graded_model_threshold is None
                                     else net.graded_model_threshold):
                pairs = "/".join(self.model.explain(texts[index]))
                graded[index] = _possibly_dangerous(
                    assessment, (f"danger model {score.emergency:.2f} ({pairs})",))
        return graded

    def _checked_emergency(self, assessment: UrgencyAssessment, score: DangerScore
                           ) -> UrgencyAssessment:
        net = self.danger
        assert net is not None
        if score.emergency < net.model_transfer_floor:
            signal = (f"{assessment.matched_rule} ({'/'.join(assessment.matched_terms)}) but"
                      f" danger model only {score.emergency:.2f}")
            demoted = UrgencyAssessment(Urgency.GENERAL, None, None, (), (),
                                        assessment.blocked)
            return _possibly_dangerous(demoted, (signal,))
        line = score.likeliest_line()
        service = assessment.emergency_service
        if (line is None or service is None or line == service
                or score.lines[line] < net.line_ratio * score.lines.get(service, 0.0)):
            return assessment
        return UrgencyAssessment(
            assessment.urgency, line, assessment.matched_rule, assessment.matched_terms,
            assessment.danger_signals, assessment.blocked,
            line_note=(f"danger model favours {line} over {service}"
                       f" ({score.lines[line]:.2f} vs {score.lines.get(service, 0.0):.2f})"))

    def _by_rules(self, raw: str) -> UrgencyAssessment:
        text = _Text(normalise_text(raw))
        blocked: list[str] = []
        graded: UrgencyAssessment = GENERAL
        for rule, index in zip(self.rules, self._indexes, strict=True):
            terms = self._found(index, rule.unless, text, blocked,
                                rule.urgency is Urgency.EMERGENCY, rule.negatable)
            if terms:
                graded = UrgencyAssessment(rule.urgency, rule.service, rule.rule_id, terms)
                break
        if graded.urgency is Urgency.EMERGENCY or self.danger is None:
            return _with_blocked(graded, blocked)
        searched = text.text
        for phrase in self.danger.ignore:  # same length, so positions and clauses hold
            searched = searched.replace(phrase, "_" * len(phrase))
        signals = self._found(self._danger_index, (),
                              _Text(searched) if searched != text.text else text, [])
        score = sum(2 if signal in self.danger.strong else 1 for signal in signals)
        graded = _with_blocked(graded, blocked)
        if score < self.danger.min_score:
            return graded
        return _possibly_dangerous(graded, signals)


def _possibly_dangerous(graded: UrgencyAssessment, signals: tuple[str, ...]
                        ) -> UrgencyAssessment:
    # the most urgent clock short of a transfer, whatever a lower rule said
    return UrgencyAssessment(Urgency.TWO_HOURS, None,
                             graded.matched_rule or POSSIBLE_EMERGENCY_RULE,
                             graded.matched_terms, graded.danger_signals + signals,
                             graded.blocked)


def _with_blocked(assessment: UrgencyAssessment, blocked: list[str]) -> UrgencyAssessment:
    if not blocked:
        return assessment
    return UrgencyAssessment(assessment.urgency, assessment.emergency_service,
                             assessment.matched_rule, assessment.matched_terms,
                             assessment.danger_signals, tuple(blocked))


def _strings(value: Any, where: str, *, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip(GAP + " ") for item in value)
    ):
        raise UrgencyConfigError(f"{where}: must be a non-empty list of non-empty strings")
    terms = tuple(normalise_text(item) for item in value)
    empty_parts = [term for term in terms if any(not part for part in term.split(GAP))]
    if empty_parts:
        raise UrgencyConfigError(f"{where}: {GAP} must stand between two phrases: {empty_parts}")
    return terms


def _parse_rule(raw: Any, where: str, seen: set[str]) -> UrgencyRule:
    if not isinstance(raw, dict):
        raise UrgencyConfigError(f"{where}: must be a table")
    unknown = set(raw) - {"id", "urgency", "service", "terms", "unless", "negatable"}
    if unknown:
        raise UrgencyConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise UrgencyConfigError(f"{where}.id: must be a non-empty string")
    if rule_id in seen or rule_id in (POSSIBLE_EMERGENCY_RULE, DANGER_MODEL_RULE):
        raise UrgencyConfigError(f"{where}.id: duplicate or reserved rule id {rule_id!r}")
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
        negatable=_flag(raw.get("negatable", True), f"{where}.negatable"),
    )


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise UrgencyConfigError(f"{where}: must be true or false")
    return value


def _bounded_int(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UrgencyConfigError(f"{where}: must be an integer {low}..{high}")
    return value


def _parse_danger(raw: Any, path: Path) -> DangerNet | None:
    if raw is None:
        return None
    where = f"{path}: danger"
    if not isinstance(raw, dict):
        raise UrgencyConfigError(f"{where}: must be a table")
    unknown = set(raw) - {"signals", "strong", "min_score", "ignore", "model_threshold",
                          "model_transfer_floor", "line_ratio", "model_transfer_threshold",
                          "graded_model_threshold"}
    if unknown:
        raise UrgencyConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    return DangerNet(
        signals=_strings(raw.get("signals"), f"{where}.signals"),
        strong=_strings(raw.get("strong"), f"{where}.strong", required=False),
        min_score=_bounded_int(raw.get("min_score"), f"{where}.min_score", 1, 10),
        ignore=_strings(raw.get("ignore"), f"{where}.ignore", required=False),
        model_threshold=_probability(raw.get("model_threshold", 0.5),
                                     f"{where}.model_threshold"),
        model_transfer_floor=_probability(raw.get("model_transfer_floor", 0.0),
                                          f"{where}.model_transfer_floor", zero=True),
        line_ratio=_ratio(raw.get("line_ratio", 2.0), f"{where}.line_ratio"),
        model_transfer_threshold=None if raw.get("model_transfer_threshold") is None else
        _probability(raw.get("model_transfer_threshold"), f"{where}.model_transfer_threshold"),
        graded_model_threshold=None if raw.get("graded_model_threshold") is None else
        _probability(raw.get("graded_model_threshold"), f"{where}.graded_model_threshold"),
    )


def _ratio(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise UrgencyConfigError(f"{where}: must be a number of at least 1")
    return float(value)


def _probability(value: Any, where: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            (value >= 0 if zero else value > 0) and value <= 1):
        raise UrgencyConfigError(f"{where}: must be a number from 0 to 1")
    return float(value)


def _parse(data: dict[str, Any], path: Path) -> UrgencyRules:
    if data.get("version") != 1:
        raise UrgencyConfigError(f"{path}: version: must be 1")
    cues = data.get("cues")
    if not isinstance(cues, dict):
        raise UrgencyConfigError(f"{path}: [cues]: missing table")
    window = _bounded_int(cues.get("negation_window"), f"{path}: cues.negation_window", 1, 20)
    gap = _bounded_int(cues.get("gap", 6), f"{path}: cues.gap", 0, 20)
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
        adjacent_negation=_strings(cues.get("adjacent_negation"),
                                   f"{path}: cues.adjacent_negation", required=False),
        not_current=_strings(cues.get("not_current"), f"{path}: cues.not_current"),
        current=_strings(cues.get("current"), f"{path}: cues.current", required=False),
        habitual=_strings(cues.get("habitual"), f"{path}: cues.habitual", required=False),
        resolved=_strings(cues.get("resolved"), f"{path}: cues.resolved", required=False),
        denial=_strings(cues.get("denial"), f"{path}: cues.denial", required=False),
        asking=_strings(cues.get("asking"), f"{path}: cues.asking", required=False),
        gap=gap,
        danger=_parse_danger(data.get("danger"), path),
    )
