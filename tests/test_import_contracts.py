"""Imports point one way: edges -> handlers -> storage -> core, and SQL lives in storage/.

The layers are import-linter contracts in pyproject.toml ([tool.importlinter]); SQL outside
storage/ is found here by reading the code's syntax trees.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What writes SQL: the statement builders and clauses of SQLAlchemy's core. An engine, a session,
# `make_url` or an exception class is not SQL (bot/runtime.py may create the engine).
SQL_CONSTRUCTS = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "func",
        "and_",
        "or_",
        "not_",
        "exists",
        "union",
        "union_all",
        "case",
        "cast",
        "literal",
        "literal_column",
        "column",
        "table",
        "bindparam",
        "values",
        "tuple_",
        "true",
        "false",
        "null",
        "distinct",
        "asc",
        "desc",
        "nulls_first",
        "nulls_last",
        "any_",
        "all_",
        "lateral",
        "join",
        "outerjoin",
        "over",
    }
)

# Files that still hold SQL while other work moves it into storage/ (issue 11): each entry goes
# when its file's SQL has moved. Nothing may be added here.
STILL_HOLDING_SQL: frozenset[str] = frozenset()


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), "import-linter is not installed (pip install -e '.[test]')"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _is_sql_module(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith(("sqlalchemy.sql", "sqlalchemy.dialects"))


def sql_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each SQL construct a module imports or reaches for."""
    found: list[tuple[int, str]] = []
    aliases: set[str] = set()  # names bound to sqlalchemy or one of its SQL modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _is_sql_module(node.module):
            for alias in node.names:
                dialect = node.module.startswith("sqlalchemy.dialects")
                if dialect or alias.name in SQL_CONSTRUCTS:
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
                elif alias.name in ("sql", "dialects"):
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_sql_module(alias.name):
                    aliases.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            # A deferred import, e.g. Lazy("sqlalchemy", "select").
            module, name = node.args[0], node.args[1]
            if (
                isinstance(module, ast.Constant)
                and isinstance(module.value, str)
                and _is_sql_module(module.value)
                and isinstance(name, ast.Constant)
                and name.value in SQL_CONSTRUCTS
            ):
                found.append((node.lineno, f"{module.value}.{name.value} (deferred)"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in SQL_CONSTRUCTS
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def test_no_sql_outside_storage():
    places = []
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in STILL_HOLDING_SQL:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=name)
            places += [f"{name}:{line}: {what}" for line, what in sql_uses(tree)]
    assert places == [], "SQL belongs in storage/:\n" + "\n".join(places)


def test_still_holding_sql_names_only_files_that_exist():
    """An entry whose file is gone (moved, split into a package) is taken off the list."""
    gone = sorted(name for name in STILL_HOLDING_SQL if not (ROOT / name).is_file())
    assert gone == [], f"STILL_HOLDING_SQL names files that do not exist: {gone}"


def test_the_sql_finder_sees_each_way_of_reaching_sql():
    source = (
        "from sqlalchemy import select, exc\n"
        "from sqlalchemy.dialects.postgresql import insert\n"
        "import sqlalchemy as sa\n"
        "sa.func.count()\n"
        'select_later = Lazy("sqlalchemy", "update")\n'
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
    )
    assert [line for line, _what in sql_uses(ast.parse(source))] == [1, 2, 4, 5]
