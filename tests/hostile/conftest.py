"""The Telegram harness (tests/telegram/conftest.py) for the hostile-input tests."""

from tests.telegram.conftest import telegram

__all__ = ["telegram"]
