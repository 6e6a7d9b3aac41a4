"""JSON from outside (webhook bodies), parsed within bounds: a size, and a nesting depth far
above any real event's and far below what would exhaust the parser's recursion.

A body outside the bounds, or not JSON, is a `BadJson` whose str() says why in a few words,
for a log line; never a RecursionError or a traceback.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # Telegram's and Zalo's events nest 5 or 6 levels deep


class BadJson(ValueError):
    """Not JSON, or JSON outside the bounds."""


def loads(raw: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """`raw` parsed, if it is UTF-8 JSON of at most `max_bytes` bytes nested at most
    `max_depth` levels; else BadJson."""
    if len(raw) > max_bytes:
        raise BadJson(f"larger than {max_bytes} bytes")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadJson(f"nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise BadJson("not UTF-8") from None
    except ValueError as exc:
        raise BadJson(f"not JSON ({type(exc).__name__})") from None
    if depth(value) > max_depth:
        raise BadJson(f"nested deeper than {max_depth} levels")
    return value


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
