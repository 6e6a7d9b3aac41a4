"""Zalo's webhook events, from real payload shapes (tests/fixtures/zalo), as Incoming: the
signature checked on the raw bytes first, each kind of event, and the choices last shown."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channels.zalo import ZaloChannel, event_key, verify_signature
from bot.core.messages import Address, Button, Kind
from bot.runtime import Runtime
from storage.accounts import create_account
from storage.models import Account, Conversation
from tests.conftest import make_settings
from tests.fakes.zalo_api import FIXTURES_DIR, FakeZaloAPI
from tests.zalo.conftest import taken

APP_ID = "2553928453557884079"  # the app_id in the fixtures
OA_SECRET = "fixture-oa-secret-key"
PERSON = "6142494823180123456"  # the sender in the fixtures


def fixture(name: str) -> bytes:
    return (FIXTURES_DIR / f"{name}.json").read_bytes()


def zalo_mac(raw: bytes, *, app_id: str = APP_ID, secret: str = OA_SECRET) -> str:
    timestamp = str(json.loads(raw)["timestamp"])
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


# ---- the signature --------------------------------------------------------------------

RAW = fixture("user_send_text")
GOOD = zalo_mac(RAW)

SIGNATURES = [
    # label, raw body, headers, accepted
    ("signed as Zalo signs it, with mac=", RAW, {"X-ZEvent-Signature": f"mac={GOOD}"}, True),
    ("without the mac= prefix", RAW, {"X-ZEvent-Signature": GOOD}, True),
    ("header name in lower case", RAW, {"x-zevent-signature": f"mac={GOOD}"}, True),
    ("hex in upper case", RAW, {"X-ZEvent-Signature": f"mac={GOOD.upper()}"}, True),
    ("no signature header", RAW, {}, False),
    ("an empty signature", RAW, {"X-ZEvent-Signature": ""}, False),
    (
        "a signature of another body",
        RAW,
        {"X-ZEvent-Signature": zalo_mac(fixture("follow"))},
        False,
    ),
    (
        "the body changed by one byte",
        RAW.replace("hộ".encode(), "họ".encode()),
        {"X-ZEvent-Signature": GOOD},
        False,
    ),
    (
        "signed with another OA's secret",
        RAW,
        {"X-ZEvent-Signature": zalo_mac(RAW, secret="someone else")},
        False,
    ),
    (
        "signed for another app",
        RAW,
        {"X-ZEvent-Signature": zalo_mac(RAW, app_id="1111111111111111111")},
        False,
    ),
    ("invalid JSON, so no timestamp", fixture("invalid_json"), {"X-ZEvent-Signature": GOOD}, False),
    ("not hex at all", RAW, {"X-ZEvent-Signature": "mac=ồ không"}, False),
]


@pytest.mark.parametrize(
    ("raw", "headers", "accepted"),
    [s[1:] for s in SIGNATURES],
    ids=[s[0] for s in SIGNATURES],
)
def test_only_zalos_signature_on_the_raw_bytes_is_accepted(raw, headers, accepted):
    assert verify_signature(raw, headers, app_id=APP_ID, oa_secret_key=OA_SECRET) is accepted


def test_without_a_configured_secret_nothing_is_accepted():
    headers = {
        "X-ZEvent-Signature": hashlib.sha256(APP_ID.encode() + RAW + b"1699003881354").hexdigest()
    }
    assert not verify_signature(RAW, headers, app_id=APP_ID, oa_secret_key="")


# ---- events as Incoming ---------------------------------------------------------------


@pytest.fixture
async def runtime(database_url, clock) -> AsyncIterator[Runtime]:
    settings = make_settings(
        database_url,
        zalo_app_id=APP_ID,
        zalo_app_secret="app-secret",
        zalo_oa_secret_key=OA_SECRET,
    )
    runtime = Runtime(settings, clock=clock)
    yield runtime
    await runtime.close()


@pytest.fixture
async def channel(runtime, clock) -> AsyncIterator[ZaloChannel]:
    zalo = ZaloChannel(
        settings=runtime.settings,
        sessions=runtime.sessions,
        sealer=runtime.dispatcher.sealer,
        clock=clock,
    )
    yield zalo
    await zalo.close()


EVENTS = [
    # label, fixture, kind, expected fields
    (
        "a text",
        "user_send_text",
        Kind.TEXT,
        {"text": "Xin chào, tôi muốn hỏi về hộ nghèo", "key": "cb31dff1c39642cc1b83"},
    ),
    (
        "a typed command",
        "command_text",
        Kind.COMMAND,
        {"command": "hoi", "text": "Đường ngõ 5 bị ngập"},
    ),
    ("following the OA is a start", "follow", Kind.COMMAND, {"command": "start", "text": ""}),
    (
        "the phone from the information form",
        "user_submit_info",
        Kind.CONTACT,
        {"phone": "84912345678", "display_name": "Nguyễn Thị Lan"},
    ),
    ("an image", "user_send_image", Kind.MEDIA, {"key": "9e6a3b7c1d2f4e5a8b0c"}),
    ("a sticker", "user_send_sticker", Kind.MEDIA, {}),
    ("a link", "user_send_link", Kind.OTHER, {}),
]


@pytest.mark.parametrize(
    ("name", "kind", "fields"), [e[1:] for e in EVENTS], ids=[e[0] for e in EVENTS]
)
async def test_each_event_a_person_sends_becomes_an_incoming(channel, name, kind, fields):
    incoming = await taken(channel, fixture(name))
    assert incoming is not None
    assert incoming.address == Address("zalo", PERSON)
    assert incoming.kind is kind
    for field, value in fields.items():
        assert getattr(incoming, field) == value, field


@pytest.mark.parametrize(
    "name",
    ["user_send_gif", "user_send_audio", "user_send_video", "user_send_file", "user_send_location"],
)
async def test_every_other_attachment_is_media_the_bot_does_not_read(channel, name):
    raw = fixture("user_send_image").replace(b"user_send_image", name.encode())
    incoming = await taken(channel, raw)
    assert incoming.kind is Kind.MEDIA


NOTHING = [
    ("invalid JSON", "invalid_json"),
    ("the OA's own message echoed", "oa_send_text"),
    ("a delivery receipt", "user_received_message"),
]


@pytest.mark.parametrize("name", [n[1] for n in NOTHING], ids=[n[0] for n in NOTHING])
async def test_events_that_need_no_answer_give_nothing(channel, name):
    assert await taken(channel, fixture(name)) is None


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"{}", b'{"event_name": "user_send_text"}'])
async def test_json_that_is_no_event_gives_nothing(channel, raw):
    assert await taken(channel, raw) is None


async def test_an_unfollow_is_not_answered_and_marks_the_account_unreachable(
    channel, runtime, clock
):
    async with channel.sessions() as session, session.begin():
        await create_account(
            session,
            channel="zalo",
            user_id=PERSON,
            display_name="Lan",
            locale="vi",
            consented_on=clock().date(),
        )
    assert await taken(channel, fixture("unfollow"), runtime.dispatcher) is None
    async with channel.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_id == PERSON))
    assert account.unreachable_at is not None


def test_the_same_event_delivered_twice_has_the_same_key():
    for name in ("user_send_text", "follow", "user_submit_info", "user_send_image"):
        first, again = json.loads(fixture(name)), json.loads(fixture(name))
        assert event_key(first) == event_key(again) is not None


def test_keys_of_events_without_msg_id_name_nobody():
    follow = json.loads(fixture("follow"))
    submit = json.loads(fixture("user_submit_info"))
    keys = {event_key(follow), event_key(submit)}
    assert len(keys) == 2
    assert all(PERSON not in key and len(key) <= 128 for key in keys)
    later = dict(follow, timestamp="1699099999999")
    assert event_key(later) != event_key(follow), "a second follow is another event"


# ---- buttons and numbers come back as the data they stood for -------------------------


async def _shown(channel: ZaloChannel, buttons: list[Button], *, numbered: bool) -> None:
    await channel.remember(PERSON, buttons, numbered)


CONSENT = [Button("✅ Đồng ý", "consent:yes"), Button("Không đồng ý", "consent:no")]


async def test_a_pressed_button_comes_back_as_its_data(channel):
    await _shown(channel, CONSENT, numbered=False)
    incoming = await taken(channel, fixture("button_text"))
    assert (incoming.kind, incoming.data) == (Kind.BUTTON, "consent:yes")


async def test_a_typed_number_picks_from_numbered_options(channel):
    options = [Button(f"Lựa chọn {n}", f"u:b:{n}") for n in range(1, 8)]
    await _shown(channel, options, numbered=True)
    incoming = await taken(channel, fixture("typed_number"))
    assert (incoming.kind, incoming.data) == (Kind.BUTTON, "u:b:2")


async def test_a_number_is_just_text_when_the_choices_were_buttons(channel):
    await _shown(channel, CONSENT, numbered=False)
    incoming = await taken(channel, fixture("typed_number"))
    assert (incoming.kind, incoming.text) == (Kind.TEXT, "2")


async def test_a_number_out_of_range_is_just_text(channel):
    await _shown(channel, CONSENT, numbered=True)
    raw = fixture("typed_number").replace(b'"text": "2"', b'"text": "7"')
    incoming = await taken(channel, raw)
    assert (incoming.kind, incoming.text) == (Kind.TEXT, "7")


async def test_without_choices_shown_a_label_is_just_text(channel):
    incoming = await taken(channel, fixture("button_text"))
    assert (incoming.kind, incoming.text) == (Kind.TEXT, "✅ Đồng ý")


async def test_the_choices_are_stored_sealed_and_bound_to_the_person(channel):
    await _shown(channel, [Button("Xem câu hỏi ABC123", "u:q:ABC123")], numbered=False)
    async with channel.sessions() as session:
        row = await session.scalar(select(Conversation))
    assert b"ABC123" not in row.sealed_choices and b"u:q" not in row.sealed_choices
    assert channel.sealer.open_choices("someone-else", row.sealed_choices) is None
    other = ZaloChannel(
        settings=make_settings(
            "sqlite+aiosqlite:///:memory:",
            zalo_app_id=APP_ID,
            zalo_app_secret="x",
            zalo_oa_secret_key="y",
            secret_key=secrets.token_hex(32),
        ),
        sessions=channel.sessions,
    )
    assert other.sealer.open_choices(PERSON, row.sealed_choices) is None, (
        "another SECRET_KEY opens nothing"
    )
    await other.close()


# ---- the fake's events are the same shapes --------------------------------------------


async def test_the_fakes_events_parse_like_the_fixtures(channel):
    fake = FakeZaloAPI(app_id=APP_ID, oa_secret_key=OA_SECRET)
    for event, kind in (
        (fake.text_event(PERSON, "Chào"), Kind.TEXT),
        (fake.follow_event(PERSON), Kind.COMMAND),
        (fake.submit_info_event(PERSON, "0912345678"), Kind.CONTACT),
        (fake.image_event(PERSON), Kind.MEDIA),
        (fake.sticker_event(PERSON), Kind.MEDIA),
    ):
        raw = json.dumps(event, ensure_ascii=False).encode()
        headers = {"X-ZEvent-Signature": fake.sign(raw, event["timestamp"])}
        assert channel.verify(raw, headers)
        incoming = await taken(channel, raw)
        assert incoming.kind is kind and incoming.address.user_id == PERSON


# ---- the fake posts to a webhook as Zalo does ---------------------------------------------


class Receiver:
    """A bare HTTP endpoint on loopback that keeps each request's headers and raw body."""

    def __init__(self):
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server = None

    async def _serve(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = dict(line.split(": ", 1) for line in lines if ": " in line)
        length = int({k.lower(): v for k, v in headers.items()}.get("content-length", 0))
        body = await reader.readexactly(length)
        self.requests.append((headers, body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
        await writer.drain()
        writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/zalo"


async def test_the_fake_posts_signed_events_and_replays_them_byte_for_byte(channel):
    receiver = Receiver()
    fake = FakeZaloAPI(app_id=APP_ID, oa_secret_key=OA_SECRET)
    fake.webhook_url = await receiver.start()
    try:
        first = await fake.send_text(PERSON, "Cho tôi hỏi về bảo hiểm y tế")
        again = await fake.replay(first)
        unsigned = await fake.post(fake.follow_event(PERSON), signature="")
    finally:
        receiver.server.close()
    assert (first.status, again.status, unsigned.status) == (200, 200, 200)
    (headers, raw), (headers_again, raw_again), (bare, _) = receiver.requests
    assert raw == raw_again and headers["X-ZEvent-Signature"] == headers_again["X-ZEvent-Signature"]
    assert channel.verify(raw, headers)
    assert not channel.verify(raw, bare)
    incoming, replayed = await taken(channel, raw), await taken(channel, raw_again)
    assert incoming.key == replayed.key and incoming.text == "Cho tôi hỏi về bảo hiểm y tế"
