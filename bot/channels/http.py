"""What the HTTP channels share: an httpx client that asks the outbox before each request's
first byte goes and tells it when the request was written (bot/core/departure.py), so that
the outbox counts the platform's rate from when requests really went."""

from __future__ import annotations

from typing import Any

from bot.core.departure import departed, leaving


async def _trace(event: str, _info: dict[str, Any]) -> None:
    # httpcore's names, "http11.…" (or "http2.…"). TooLate raised at the start of the headers
    # stops the request before anything is written; the body's end is the latest moment the
    # client can tell that the request is in the socket's hands.
    if event.endswith("send_request_headers.started"):
        leaving()
    elif event.endswith("send_request_body.complete"):
        departed()


async def _traced(request: Any) -> None:
    request.extensions["trace"] = _trace


def departure_hooks() -> dict[str, list[Any]]:
    """httpx.AsyncClient's `event_hooks` that watch each request's departure."""
    return {"request": [_traced]}
