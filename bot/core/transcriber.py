"""Turning a voice question into text: an interface, and the one implementation we ship.

The facilitator writes every voice question down by hand. A speech model can be plugged in by
setting DOITHOAI_TRANSCRIBER to "package.module:factory" (a callable returning a Transcriber);
its text is then offered to the facilitator as a draft to correct, never sent as it is. The
default, "none", offers nothing.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Protocol, runtime_checkable


@runtime_checkable
class Transcriber(Protocol):
    async def transcribe(self, *, channel: str, file_ref: str, locale: str) -> str | None:
        """A draft of what the voice note says, or None when there is none."""
        ...


class NoTranscriber:
    """Offers no draft: the facilitator listens and types."""

    async def transcribe(self, *, channel: str, file_ref: str, locale: str) -> str | None:
        return None


@cache
def load(name: str) -> Transcriber:
    """The transcriber a setting names: "none", or "package.module:factory"; ValueError if the
    name cannot be loaded."""
    if name.strip().lower() in ("", "none"):
        return NoTranscriber()
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f'{name!r} is neither "none" nor "package.module:factory"')
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {name!r}: {exc}") from exc
    try:
        transcriber = factory()
    except Exception as exc:  # a model that cannot start: said in one line at start
        raise ValueError(f"cannot start {name!r}: {exc}") from exc
    if not isinstance(transcriber, Transcriber):
        raise ValueError(f"{name!r} does not give a Transcriber")
    return transcriber
