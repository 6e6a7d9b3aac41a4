"""Reading a consultation plan's file, YAML or XLSX, into a tree of values that each know where they
are in the file (for the errors bot/consultation_plan.py reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.core.i18n import Translator

MAX_QUESTIONS = 40


class PlanError(Exception):
    """The plan is refused: every error, each with where it is."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class _Value:
    """A value of the file and where it is ("line 12", "Câu hỏi row 3")."""

    value: Any
    where: str


MAX_DEPTH = 8  # a plan is never deeper: a question's condition is at depth 5
MAX_NODES = 20_000


def _from_node(node: yaml.Node, t: Translator, seen: set[int], depth: int = 0) -> _Value:
    """The YAML tree as plain values (every scalar a string), each with its line.

    Hostile files are refused, not expanded: an alias (a node met twice: "billion laughs"),
    nesting deeper than a plan has, or more nodes than a plan needs."""
    where = t._("line {number}").format(number=node.start_mark.line + 1)
    if id(node) in seen:
        raise PlanError([f"{where}: " + t._("anchors and aliases (& and *) are not accepted")])
    seen.add(id(node))
    if depth > MAX_DEPTH or len(seen) > MAX_NODES:
        raise PlanError([f"{where}: " + t._("the file is nested too deep or too long for a plan")])
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, _Value] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise PlanError([f"{where}: " + t._("a field's name must be a plain word")])
            mapping[str(key.value)] = _from_node(value, t, seen, depth + 1)
        return _Value(mapping, where)
    if isinstance(node, yaml.SequenceNode):
        return _Value([_from_node(item, t, seen, depth + 1) for item in node.value], where)
    return _Value(str(node.value), where)


def _read_yaml(path: Path, t: Translator) -> _Value:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise PlanError([t._("The file is not UTF-8 text.")]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise PlanError(
            [
                t._("line {number}").format(number=line)
                + ": "
                + t._("not valid YAML ({problem})").format(problem=exc.problem or "?")
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise PlanError([t._("not valid YAML ({problem})").format(problem=exc)]) from None
    except RecursionError:
        raise PlanError([t._("the file is nested too deep or too long for a plan")]) from None
    if node is None:
        raise PlanError([t._("The file is empty.")])
    return _from_node(node, t, set())


def _read_xlsx(path: Path, t: Translator) -> _Value:
    from openpyxl import load_workbook  # lazy: openpyxl only when a plan is read (issue 14)

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise PlanError([t._("The file is not an XLSX workbook.")]) from None
    sheets = book.worksheets
    if len(sheets) < 2:
        raise PlanError([t._("The workbook needs two sheets: the plan and the questions.")])
    by_name = {s.title.strip().lower(): s for s in sheets}
    plan_sheet = by_name.get("kế hoạch") or by_name.get("plan") or sheets[0]
    question_sheet = by_name.get("câu hỏi") or by_name.get("questions") or sheets[1]
    top = _plan_sheet(plan_sheet, t)
    top["questions"] = _Value(_question_sheet(question_sheet, t), _where(t, question_sheet, 1))
    book.close()
    return _Value(top, _where(t, plan_sheet, 1))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _where(t: Translator, sheet: Any, row: int) -> str:
    return t._("sheet {sheet}, row {row}").format(sheet=sheet.title, row=row)


def _plan_sheet(plan_sheet: Any, t: Translator) -> dict[str, _Value]:
    """The plan's sheet: one field a row (name, value), the audience and targets gathered."""
    top: dict[str, _Value] = {}
    audience: dict[str, _Value] = {}
    targets: dict[str, _Value] = {}
    for number, row in enumerate(plan_sheet.iter_rows(values_only=True, max_row=200), start=1):
        name, value = (_cell(row[0]) if row else ""), (_cell(row[1]) if len(row) > 1 else "")
        name = name.lower()
        if not name or number == 1 and name in ("field", "trường", "mục"):
            continue
        here = _where(t, plan_sheet, number)
        if name in ("wards", "categories", "priority"):
            items = [_Value(v.strip(), here) for v in value.split(",") if v.strip()]
            audience[name] = _Value(items, here)
        elif name == "open":
            audience["open"] = _Value(value, here)
        elif name.startswith("target "):
            targets[name.removeprefix("target ").strip()] = _Value(value, here)
        else:
            top[name] = _Value(value, here)
    if audience:
        top["audience"] = _Value(audience, _where(t, plan_sheet, 1))
    if targets:
        top["targets"] = _Value(targets, _where(t, plan_sheet, 1))
    return top


def _question_sheet(question_sheet: Any, t: Translator) -> list[_Value]:
    """The questions' sheet: a header row, then one question a row."""
    questions = []
    rows = list(question_sheet.iter_rows(values_only=True, max_row=MAX_QUESTIONS + 2))
    header = [_cell(v).lower() for v in (rows[0] if rows else ())]
    for number, row in enumerate(rows[1:], start=2):
        values = {header[i]: _cell(v) for i, v in enumerate(row) if i < len(header)}
        if not any(values.values()):
            continue
        here = _where(t, question_sheet, number)
        item: dict[str, _Value] = {
            k: _Value(v, here)
            for k, v in values.items()
            if k in ("id", "type", "text", "low", "high")
        }
        if values.get("choices"):
            item["choices"] = _Value(
                [_Value(c.strip(), here) for c in values["choices"].split("|") if c.strip()], here
            )
        if values.get("required"):
            item["required"] = _Value(values["required"], here)
        if values.get("if"):
            ask, _sep, wanted = values["if"].partition("=")
            item["if"] = _Value(
                {ask.strip(): _Value([_Value(w.strip(), here) for w in wanted.split("|")], here)},
                here,
            )
        questions.append(_Value(item, here))
    return questions
