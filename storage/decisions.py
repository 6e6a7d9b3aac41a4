"""Adoption decisions (tiếp thu), shared by the two processes: a consultation's themes and a
dialogue's proposals (kiến nghị) and commitments get the same four answers, and the same rule
that a refusal, whole or partial, says why.

Stored values: adopted, partly, not_adopted, under_study. At the command line the short forms
`not` and `study` are taken too.
"""

from __future__ import annotations

DECISIONS = ("adopted", "partly", "not_adopted", "under_study")
ALIASES = {"not": "not_adopted", "study": "under_study"}
NEEDS_REASON = ("not_adopted", "partly")  # a refusal, whole or partial, says why
TEXT_MAX = 2000  # characters of a reason, or of what changed in the policy


class DecisionError(ValueError):
    """A decision that cannot be recorded; `problem` names what is wrong."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


UNKNOWN, NO_REASON, TOO_LONG = "unknown", "no_reason", "too_long"


def parse(value: str) -> str | None:
    """The stored decision a person typed (its short form too), or None."""
    text = value.strip().lower().replace("-", "_")
    text = ALIASES.get(text, text)
    return text if text in DECISIONS else None


def checked(decision: str, *, reason: str, change: str) -> tuple[str, str, str]:
    """(decision, reason, change) ready to store, trimmed; DecisionError if the decision is
    unknown, a refusal gives no reason, or a text is too long."""
    found = parse(decision)
    if found is None:
        raise DecisionError(UNKNOWN)
    reason, change = reason.strip(), change.strip()
    if len(reason) > TEXT_MAX or len(change) > TEXT_MAX:
        raise DecisionError(TOO_LONG)
    if found in NEEDS_REASON and not reason:
        raise DecisionError(NO_REASON)
    return found, reason, change
