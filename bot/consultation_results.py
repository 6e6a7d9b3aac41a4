"""The figures of a consultation: counts per question and per audience group against the
targets, with the margin of error at 95 %, and no group under 5 responses shown apart.

Pure computation over the sent responses (group, answers): the CLI, the reports, the board and
the digest all show the same figures.

The margin of error of a share p among n answers is 1.96 * sqrt(p (1 - p) / n) (normal
approximation, simple random sample); the margin of a question is the worst case, p = 0.5, i.e.
0.98 / sqrt(n). The margin of a scale's mean is 1.96 * s / sqrt(n), s the sample standard
deviation. A consultation by chat is not a random sample: the margins say how far chance alone
could move a figure, not what the people who did not answer think.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal

from bot.core.i18n import N_
from handlers.consultation.questionnaire import applies

MIN_SHOWN = 5  # a group with fewer responses is never shown apart
Z95 = 1.96

GROUP_NAMES = {
    "poor": N_("Poor households"),
    "near_poor": N_("Near-poor households"),
    "new_non_poor": N_("Newly out of poverty"),
    "other": N_("Other households"),
    "unlinked": N_("Not linked to a household"),
}
SMALL = "small"  # the groups under MIN_SHOWN, counted together


def margin(p: float, n: int) -> float:
    """The margin of error at 95 % of a share p among n answers (0 for no answer)."""
    if n <= 0:
        return 0.0
    return Z95 * math.sqrt(p * (1 - p) / n)


def worst_margin(n: int) -> float:
    return margin(0.5, n)


@dataclass
class ChoiceCount:
    label: str
    count: int
    share: float  # of those who answered the question
    margin: float


@dataclass
class QuestionResult:
    id: str
    type: str
    text: str
    answered: int  # gave an answer (not skipped)
    asked: int  # the question applied to them
    choices: list[ChoiceCount] = field(default_factory=list)
    mean: float | None = None  # scale
    mean_margin: float | None = None
    texts: list[str] = field(default_factory=list)  # free text
    by_group: dict[str, list[ChoiceCount]] = field(default_factory=dict)  # groups >= MIN_SHOWN

    @property
    def margin(self) -> float:
        return worst_margin(self.answered)


@dataclass
class GroupResult:
    group: str
    count: int  # exact; shown only when >= MIN_SHOWN (else folded into SMALL)
    target: int

    @property
    def shown(self) -> bool:
        return self.count >= MIN_SHOWN

    @property
    def short(self) -> bool:
        return self.count < self.target


@dataclass
class Results:
    total: int
    target: int
    groups: list[GroupResult]
    questions: list[QuestionResult]

    @property
    def margin(self) -> float:
        return worst_margin(self.total)

    def shown_groups(self) -> list[GroupResult]:
        return [g for g in self.groups if g.shown]

    @property
    def small_count(self) -> int:
        """Responses of the groups under MIN_SHOWN, counted together (0 if none)."""
        return sum(g.count for g in self.groups if not g.shown)

    @property
    def small_groups(self) -> list[str]:
        return [g.group for g in self.groups if not g.shown and g.count]


def _choice_counts(
    question: dict[str, Any], answers: list[Any], labels: list[str]
) -> list[ChoiceCount]:
    n = len(answers)
    counts = []
    for label in labels:
        if question["type"] == "multiple":
            count = sum(1 for a in answers if isinstance(a, list) and label in a)
        else:
            count = sum(1 for a in answers if str(a) == label)
        share = count / n if n else 0.0
        counts.append(ChoiceCount(label, count, share, margin(share, n)))
    return counts


def compute(
    questions: list[dict[str, Any]],
    targets: dict[str, int],
    responses: list[tuple[str, dict[str, Any]]],
) -> Results:
    """The figures of the sent responses (group, answers)."""
    per_group: dict[str, int] = {}
    for group, _answers in responses:
        per_group[group] = per_group.get(group, 0) + 1
    names = list(dict.fromkeys([*targets, *sorted(per_group)]))
    groups = [GroupResult(g, per_group.get(g, 0), targets.get(g, 0)) for g in names]
    shown = {g.group for g in groups if g.shown}
    results = []
    for question in questions:
        key, kind = question["id"], question["type"]
        applied = [(g, a) for g, a in responses if applies(question, a)]
        given = [(g, a[key]) for g, a in applied if a.get(key) not in (None, [], "")]
        result = QuestionResult(
            id=key, type=kind, text=question["text"], answered=len(given), asked=len(applied)
        )
        values = [v for _g, v in given]
        if kind in ("single", "multiple", "scale"):
            labels = question.get("choices") or ["1", "2", "3", "4", "5"]
            result.choices = _choice_counts(question, values, labels)
            for group in sorted(shown):
                mine = [v for g, v in given if g == group]
                if mine:
                    result.by_group[group] = _choice_counts(question, mine, labels)
        if kind == "scale" and values:
            numbers = [float(v) for v in values]
            mean = sum(numbers) / len(numbers)
            result.mean = mean
            if len(numbers) > 1:
                sd = math.sqrt(sum((x - mean) ** 2 for x in numbers) / (len(numbers) - 1))
                result.mean_margin = Z95 * sd / math.sqrt(len(numbers))
            else:
                result.mean_margin = 0.0
        if kind == "text":
            result.texts = [str(v) for v in values]
        results.append(result)
    return Results(
        total=len(responses),
        target=sum(targets.values()),
        groups=groups,
        questions=results,
    )


def percent(value: float, locale: str = "vi") -> str:
    """A share as people read it: "42 %", "7,5 %" (one decimal under 10, the locale's comma)."""
    number = value * 100
    pattern = "0.0" if 0 < number < 10 else "0"
    return f"{format_decimal(number, format=pattern, locale=locale)} %"


def points(value: float, locale: str = "vi") -> str:
    """A margin of error in percentage points: "±6,9"."""
    return "±" + format_decimal(value * 100, format="0.0", locale=locale)
