"""The code keeps its shape: lint clean, and no platform library below the edges."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff is not installed (pip install -e '.[test]')",
)
def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# The same rule as the import contract "No platform library below the edges" (pyproject.toml,
# tests/test_import_contracts.py), kept here as a plain text search that needs no tool.
@pytest.mark.parametrize("package", ["handlers", "storage", "bot/core"])
def test_handlers_and_storage_import_no_platform_library(package):
    for path in (ROOT / package).rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for library in ("telegram", "httpx", "starlette", "uvicorn"):
            assert f"import {library}" not in source and f"from {library}" not in source, path
