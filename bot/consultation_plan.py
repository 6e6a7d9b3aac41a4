"""A consultation plan (kế hoạch tham vấn) read from YAML or XLSX and checked whole.

Every error is reported with the line (YAML) or the sheet and row (XLSX) it is on, and a plan
with any error is refused whole: nothing is stored until the file is clean.

YAML:

    title: Lấy ý kiến về dự thảo quy định hỗ trợ nhà ở
    purpose: Biết người dân cần gì trước khi trình HĐND
    policy: Dự thảo gồm 5 điều ...        # or the text's summary
    link: https://phuong7.example.vn/du-thao
    audience:
      wards: [Phường 7, Phường 8]
      categories: [poor, near_poor, new_non_poor, other]   # or leave out: every category
      priority: [female_head, ethnic_minority]             # those first in the announcement
      open: true        # anyone may answer with /gopy, linked to a household or not
    opens: 2027-01-05 08:00
    closes: 2027-01-20 17:00
    targets: {poor: 60, near_poor: 40, other: 30, unlinked: 20}
    questions:
      - id: agree
        type: single            # single | multiple | scale | text
        text: Ông/bà có đồng ý với dự thảo không?
        choices: [Đồng ý, Không đồng ý]
      - id: why
        type: text
        text: Vì sao ông/bà không đồng ý?
        if: {agree: Không đồng ý}
        required: false         # may be skipped

XLSX: sheet "Kế hoạch" (or the first) with two columns, field and value (lists separated by
commas); sheet "Câu hỏi" (or the second) with the columns id, type, text, choices (separated
by "|"), required, if (as "question=value|value").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.consultation_plan_files import MAX_QUESTIONS, PlanError, _read_xlsx, _read_yaml, _Value
from bot.core.i18n import Translator
from storage.households import CATEGORIES

QUESTION_TYPES = ("single", "multiple", "scale", "text")
PRIORITY_GROUPS = ("female_head", "ethnic_minority")
UNLINKED = "unlinked"  # people answering who are not linked to a household
GROUPS = (*CATEGORIES, UNLINKED)
MAX_CHOICES = 10
MAX_FILE_BYTES = 1_000_000
_ID = re.compile(r"^[a-z0-9_]{1,32}$")
_DATETIME_PATTERNS = ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M")
_TRUE = {"true", "yes", "có", "co", "1", "x"}
_FALSE = {"false", "no", "không", "khong", "0", ""}


@dataclass
class Plan:
    title: str
    purpose: str
    policy: str
    link: str
    audience: dict[str, Any]
    targets: dict[str, int]
    questions: list[dict[str, Any]]
    opens_at: datetime
    closes_at: datetime


@dataclass
class _Checker:
    t: Translator
    zone: ZoneInfo
    errors: list[str] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


# --- checking ---------------------------------------------------------------------------------


def _text(c: _Checker, where: str, value: _Value | None, *, limit: int, required: bool) -> str:
    _ = c.t._
    if value is None or (isinstance(value.value, str) and not value.value.strip()):
        if required:
            c.error(where, _("this is required"))
        return ""
    if not isinstance(value.value, str):
        c.error(value.where, _("expected a text"))
        return ""
    text = " ".join(value.value.split()) if limit <= 500 else value.value.strip()
    if len(text) > limit:
        c.error(
            value.where,
            _("too long ({count} characters, at most {max})").format(count=len(text), max=limit),
        )
    return text[:limit]


def _list(c: _Checker, value: _Value | None) -> list[_Value]:
    if value is None:
        return []
    if isinstance(value.value, str):  # "a, b" written on one line
        return [_Value(v.strip(), value.where) for v in value.value.split(",") if v.strip()]
    if not isinstance(value.value, list):
        c.error(value.where, c.t._("expected a list"))
        return []
    return value.value


def _flag(c: _Checker, value: _Value | None, default: bool) -> bool:
    if value is None:
        return default
    text = value.value.strip().lower() if isinstance(value.value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    c.error(value.where, c.t._("expected true or false"))
    return default


def _when(c: _Checker, where: str, value: _Value | None) -> datetime | None:
    if value is None or not isinstance(value.value, str) or not value.value.strip():
        c.error(where, c.t._("this is required"))
        return None
    for pattern in _DATETIME_PATTERNS:
        try:
            return datetime.strptime(value.value.strip(), pattern).replace(tzinfo=c.zone)
        except ValueError:
            continue
    c.error(
        value.where,
        c.t._("{value} is not a date and time like 2026-12-02 08:00 or 02/12/2026 08:00.").format(
            value=value.value[:40]
        ),
    )
    return None


def _audience(c: _Checker, value: _Value | None, where: str) -> dict[str, Any]:
    _ = c.t._
    if value is None or not isinstance(value.value, dict):
        c.error(value.where if value else where, _("audience: give the wards, or open: true"))
        return {}
    fields = value.value
    for unknown in sorted(set(fields) - {"wards", "categories", "priority", "open"}):
        c.error(fields[unknown].where, _("unknown field {name}").format(name=unknown[:40]))
    wards = [_text(c, w.where, w, limit=100, required=True) for w in _list(c, fields.get("wards"))]
    categories = _among(
        c,
        fields.get("categories"),
        CATEGORIES,
        _("unknown household category {value} (one of: {allowed})"),
    )
    priority = _among(
        c,
        fields.get("priority"),
        PRIORITY_GROUPS,
        _("unknown priority group {value} (one of: {allowed})"),
    )
    is_open = _flag(c, fields.get("open"), False)
    if not wards and not is_open:
        c.error(value.where, _("audience: give the wards, or open: true"))
    return {
        "wards": list(dict.fromkeys(w for w in wards if w)),
        "categories": list(dict.fromkeys(categories)) or list(CATEGORIES),
        "priority": list(dict.fromkeys(priority)),
        "open": is_open,
    }


def _among(c: _Checker, value: _Value | None, allowed: Sequence[str], unknown: str) -> list[Any]:
    """The items of a list that are among `allowed`; each other one is an error, `unknown`
    (a translated text with {value} and {allowed})."""
    kept = []
    for item in _list(c, value):
        if item.value not in allowed:
            c.error(
                item.where,
                unknown.format(value=str(item.value)[:40], allowed=", ".join(allowed)),
            )
        else:
            kept.append(item.value)
    return kept


def _targets(c: _Checker, value: _Value | None) -> dict[str, int]:
    _ = c.t._
    if value is None:
        return {}
    if not isinstance(value.value, dict):
        c.error(value.where, _("targets: expected a group and a number on each line"))
        return {}
    targets = {}
    for group, number in value.value.items():
        if group not in GROUPS:
            c.error(
                number.where,
                _("unknown group {value} (one of: {allowed})").format(
                    value=group[:40], allowed=", ".join(GROUPS)
                ),
            )
            continue
        text = number.value if isinstance(number.value, str) else ""
        if not text.isdigit() or int(text) > 1_000_000:
            c.error(
                number.where, _("{value} is not a number of responses").format(value=str(text)[:20])
            )
            continue
        targets[group] = int(text)
    return targets


def _questions(c: _Checker, value: _Value | None, where: str) -> list[dict[str, Any]]:
    _ = c.t._
    items = _list(c, value)
    if not items:
        c.error(value.where if value else where, _("the questionnaire has no question"))
        return []
    if len(items) > MAX_QUESTIONS:
        c.error(
            value.where if value else where, _("at most {max} questions").format(max=MAX_QUESTIONS)
        )
    questions: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for number, item in enumerate(items[:MAX_QUESTIONS], start=1):
        question = _question(c, item, number, seen)
        if question is None:
            continue
        seen[question["id"]] = question
        questions.append(question)
    return questions


def _question(
    c: _Checker, item: _Value, number: int, seen: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """One question of the questionnaire, checked (None if it is not a mapping)."""
    _ = c.t._
    if not isinstance(item.value, dict):
        c.error(item.where, _("a question needs id, type and text"))
        return None
    fields = item.value
    for unknown in sorted(
        set(fields) - {"id", "type", "text", "choices", "required", "if", "low", "high"}
    ):
        c.error(fields[unknown].where, _("unknown field {name}").format(name=unknown[:40]))
    ident = fields.get("id")
    key = ident.value if ident is not None and isinstance(ident.value, str) else f"q{number}"
    if ident is not None and not _ID.match(key):
        c.error(
            ident.where,
            _("the id {value} may use only a-z, 0-9 and _ (at most 32)").format(
                value=str(key)[:40]
            ),
        )
    if key in seen:
        c.error(item.where, _("the id {value} is used twice").format(value=key))
    kind_value = fields.get("type")
    kind = kind_value.value if kind_value is not None and isinstance(kind_value.value, str) else ""
    if kind not in QUESTION_TYPES:
        c.error(
            kind_value.where if kind_value else item.where,
            _("type must be one of: {allowed}").format(allowed=", ".join(QUESTION_TYPES)),
        )
    question: dict[str, Any] = {
        "id": key,
        "type": kind,
        "text": _text(c, item.where, fields.get("text"), limit=500, required=True),
        "required": _flag(c, fields.get("required"), True),
    }
    _choices(c, kind, fields, item, question)
    if kind == "scale":
        question["low"] = _text(c, item.where, fields.get("low"), limit=40, required=False)
        question["high"] = _text(c, item.where, fields.get("high"), limit=40, required=False)
    condition = fields.get("if")
    if condition is not None:
        question["if"] = _condition(c, condition, seen)
    return question


def _choices(
    c: _Checker, kind: str, fields: dict[str, _Value], item: _Value, question: dict[str, Any]
) -> None:
    """A choice question's choices (2 to MAX_CHOICES, each once); no other question has any."""
    _ = c.t._
    if kind in ("single", "multiple"):
        choices = [
            _text(c, x.where, x, limit=60, required=True) for x in _list(c, fields.get("choices"))
        ]
        if len(choices) < 2 or len(choices) > MAX_CHOICES:
            c.error(
                fields["choices"].where if "choices" in fields else item.where,
                _("a choice question needs 2 to {max} choices").format(max=MAX_CHOICES),
            )
        elif len(set(choices)) != len(choices):
            c.error(fields["choices"].where, _("the same choice is given twice"))
        question["choices"] = choices
    elif "choices" in fields:
        c.error(
            fields["choices"].where, _("only single and multiple choice questions have choices")
        )


def _condition(c: _Checker, value: _Value, earlier: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{question: value or [values]}: ask only when an earlier question was answered so."""
    _ = c.t._
    if not isinstance(value.value, dict) or len(value.value) != 1:
        c.error(value.where, _("if: give one earlier question and the answers that lead here"))
        return {}
    [(ask, wanted)] = value.value.items()
    target = earlier.get(ask)
    if target is None:
        c.error(value.where, _("if: {name} is not an earlier question").format(name=ask[:40]))
        return {}
    if target["type"] == "text":
        c.error(value.where, _("if: a condition cannot depend on a free-text answer"))
        return {}
    values = (
        [str(v.value) for v in _list(c, wanted)]
        if isinstance(wanted.value, list)
        else [str(wanted.value)]
    )
    allowed = target.get("choices") or ["1", "2", "3", "4", "5"]
    for v in values:
        if v not in allowed:
            c.error(
                wanted.where,
                _("if: {value} is not an answer of {name}").format(value=v[:60], name=ask),
            )
    return {"question": ask, "values": values}


def _read_file(path: Path, t: Translator) -> _Value:
    """The file's tree of values, by its suffix (at most MAX_FILE_BYTES)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PlanError(
            [t._("Cannot read {path}: {detail}").format(path=path, detail=exc.strerror)]
        ) from None
    if size > MAX_FILE_BYTES:
        raise PlanError([t._("The file is too large (at most 1 MB).")])
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, t)
    if suffix == ".xlsx":
        return _read_xlsx(path, t)
    raise PlanError([t._("A plan is a .yaml or .xlsx file.")])


def read_plan(path: Path, t: Translator, zone: ZoneInfo) -> Plan:
    """The plan in the file, checked whole; PlanError with every error otherwise."""
    root = _read_file(path, t)
    c = _Checker(t, zone)
    top = t._("line {number}").format(number=1)
    if not isinstance(root.value, dict):
        raise PlanError([f"{root.where}: " + t._("a plan starts with title, audience, questions")])
    fields = root.value
    known = {
        "title",
        "purpose",
        "policy",
        "link",
        "audience",
        "opens",
        "closes",
        "targets",
        "questions",
    }
    for unknown in sorted(set(fields) - known):
        c.error(fields[unknown].where, t._("unknown field {name}").format(name=unknown[:40]))
    title = _text(c, top + " (title)", fields.get("title"), limit=300, required=True)
    purpose = _text(c, top, fields.get("purpose"), limit=2000, required=False)
    policy = _text(c, top, fields.get("policy"), limit=20000, required=False)
    link = _text(c, top, fields.get("link"), limit=500, required=False)
    if link and not link.startswith(("https://", "http://")):
        c.error(fields["link"].where, t._("the link must start with https://"))
    audience = _audience(c, fields.get("audience"), top + " (audience)")
    opens = _when(c, top + " (opens)", fields.get("opens"))
    closes = _when(c, top + " (closes)", fields.get("closes"))
    if opens and closes and closes <= opens:
        c.error(fields["closes"].where, t._("it closes before it opens"))
    targets = _targets(c, fields.get("targets"))
    questions = _questions(c, fields.get("questions"), top + " (questions)")
    if c.errors:
        raise PlanError(c.errors)
    assert opens is not None and closes is not None
    return Plan(
        title=title,
        purpose=purpose,
        policy=policy,
        link=link,
        audience=audience,
        targets=targets,
        questions=questions,
        opens_at=opens,
        closes_at=closes,
    )
