"""Answers to listen to: a text spoken by espeak-ng on this machine, encoded to OGG/Opus (what
Telegram plays as a voice note), cached per text. Nothing leaves the machine to be spoken.

Without espeak-ng and opusenc (Debian: espeak-ng, opus-tools), or without a voice for the
person's language (Khmer has none in espeak-ng yet), `can_speak` is False and no "🔊" button is
shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from collections import OrderedDict

log = logging.getLogger(__name__)

VOICES = {"vi": "vi", "en": "en"}  # our locale -> espeak-ng's voice
MAX_TEXT = 4096  # a message's length: nothing longer is spoken
CACHE_SIZE = 64  # spoken texts kept in memory, most recent last
TIMEOUT = 60.0  # seconds for one text

_cache: OrderedDict[str, bytes] = OrderedDict()


def _tools() -> tuple[str, str] | None:
    espeak, opusenc = shutil.which("espeak-ng"), shutil.which("opusenc")
    return (espeak, opusenc) if espeak and opusenc else None


def can_speak(locale: str) -> bool:
    return locale in VOICES and _tools() is not None


async def speak(text: str, *, locale: str) -> bytes | None:
    """`text` as an OGG/Opus voice note, or None when it cannot be made."""
    tools = _tools()
    if tools is None or locale not in VOICES or not text.strip():
        return None
    text = text[:MAX_TEXT]
    key = hashlib.sha256(f"{locale}\x00{text}".encode()).hexdigest()
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    espeak, opusenc = tools
    try:
        audio = await asyncio.wait_for(_run(espeak, opusenc, text, VOICES[locale]), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        log.warning("speech: could not speak a text: %s", exc)
        return None
    if audio is None:
        return None
    _cache[key] = audio
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return audio


async def _run(espeak: str, opusenc: str, text: str, voice: str) -> bytes | None:
    speaker = await asyncio.create_subprocess_exec(
        espeak,
        "-v",
        voice,
        "--stdin",
        "--stdout",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    wav, _ = await speaker.communicate(text.encode("utf-8"))
    if speaker.returncode != 0 or not wav:
        return None
    encoder = await asyncio.create_subprocess_exec(
        opusenc,
        "--quiet",
        "-",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    ogg, _ = await encoder.communicate(wav)
    if encoder.returncode != 0 or not ogg.startswith(b"OggS"):
        return None
    return ogg
