"""Telegram by webhook, end to end: the real app served by uvicorn on loopback, the real PTB bot
sending through the Bot API fake, updates the fake builds posted to /telegram as Telegram
would post them; and /healthz."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.telegram import ALLOWED_UPDATES, TelegramChannel
from bot.runtime import Runtime
from bot.web import WebServer, create_app
from storage.models import IncomingEvent, ProcessedUpdate, Question
from tests.conftest import PG_RUN_DATABASE, create_pg_database, drop_pg_database, make_settings
from tests.fakes.telegram_api import FakeBotAPI, SentMessage, _bad, _Refusal
from tests.fakes.zalo_api import FakeZaloAPI

SECRET = "s3cret-token_for-the-webhook-0123"
PUBLIC = "https://doithoai.example.vn"


class WebhookBotAPI(FakeBotAPI):
    """The Bot API fake, plus setWebhook as Telegram checks it, and getUpdates refused while a
    webhook is set (Telegram's 409): a bot that polls in webhook mode would show here."""

    def __init__(self) -> None:
        super().__init__()
        self.webhook: dict | None = None
        self._handlers["setWebhook"] = self._set_webhook
        self._canonical["setwebhook"] = "setWebhook"

    def _set_webhook(self, params: dict) -> bool:
        url = str(params.get("url") or "")
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(params.get("secret_token") or "")
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if len(secret) > 256 or not set(secret) <= allowed:
            raise _bad("bad webhook: secret token contains unallowed characters")
        with self._cond:
            self.webhook = dict(params)
        return True

    def _delete_webhook(self, params: dict) -> bool:
        with self._cond:
            self.webhook = None
        return super()._delete_webhook(params)

    def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook is not None:
            raise _Refusal(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        return super()._get_updates(params)


class Chat:
    """One person on Telegram; what they do is posted to the webhook as Telegram posts it."""

    def __init__(self, hook: Hook, user_id: int):
        self.hook = hook
        self.user_id = user_id
        self.seen = 0

    async def say(self, text: str, *, expect: int = 1) -> list[SentMessage]:
        update = self.hook.fake.send_text(self.user_id, text)
        assert (await self.hook.post(update)).status_code == 200
        return await self.expect(expect)

    async def press(self, label: str, *, expect: int = 1) -> list[SentMessage]:
        data = next(
            data
            for message in reversed(self.hook.fake.messages_to(self.user_id))
            for row in message.buttons
            for text, data in row
            if label in text
        )
        update = self.hook.fake.press(self.user_id, data)
        assert (await self.hook.post(update)).status_code == 200
        return await self.expect(expect)

    async def expect(self, count: int) -> list[SentMessage]:
        await self.hook.fake.await_messages(self.user_id, self.seen + count, timeout=30)
        await asyncio.sleep(0.05)
        messages = self.hook.fake.messages_to(self.user_id)
        new = messages[self.seen :]
        self.seen = len(messages)
        assert len(new) == count, [m.text for m in new]
        return new


class Hook:
    def __init__(self, fake: WebhookBotAPI, runtime: Runtime, server: WebServer):
        self.fake = fake
        self.runtime = runtime
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.url, timeout=10)

    def chat(self, user_id: int, first_name: str = "Lan") -> Chat:
        self.fake.user(user_id, first_name=first_name)
        return Chat(self, user_id)

    async def post(self, update: dict, *, secret: str | None = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return await self.http.post("/telegram", content=json.dumps(update), headers=headers)

    async def count(self, table) -> int:
        async with self.runtime.sessions() as session:
            return await session.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
async def hook(database_url, clock) -> AsyncIterator[Hook]:
    fake = WebhookBotAPI().start()
    settings = make_settings(database_url, webhook_url=PUBLIC, webhook_secret=SECRET)
    runtime = Runtime(settings, clock=clock)
    channel = TelegramChannel(
        token=fake.token,
        api_url=fake.url,
        dispatch=runtime.dispatcher.dispatch,
        spacing=timedelta(milliseconds=50),
        webhook=True,
    )
    runtime.add_channel(channel)
    server = WebServer(create_app(runtime, telegram=channel), host="127.0.0.1", port=0)
    await server.start()
    await channel.start_webhook(f"{PUBLIC}/telegram", SECRET)
    delivery = asyncio.create_task(runtime.outbox.run(idle=0.2))
    intake = asyncio.create_task(runtime.intake.run(every=0.2))
    hook = Hook(fake, runtime, server)
    try:
        yield hook
    finally:
        await hook.http.aclose()
        await server.stop()
        for task in (intake, delivery):
            task.cancel()
        await asyncio.wait({intake, delivery}, timeout=5)
        await channel.stop()
        await runtime.close()
        fake.stop()
    assert fake.violations == [], "the bot made calls Telegram would refuse"
    assert fake.unanswered_callbacks() == [], "every button press must be answered"


async def test_the_webhook_is_set_with_the_secret_token_and_the_public_address(hook):
    assert hook.fake.webhook is not None
    assert hook.fake.webhook["url"] == "https://doithoai.example.vn/telegram"
    assert hook.fake.webhook["secret_token"] == SECRET
    assert hook.fake.webhook["allowed_updates"] == ALLOWED_UPDATES
    # Stopping one process must not take the webhook away from the others.
    channel = hook.runtime.channels["telegram"]
    await channel.stop()
    assert [c for c in hook.fake.calls if c.method in ("deleteWebhook", "getUpdates")] == []


async def test_a_citizen_asks_a_question_through_the_webhook_and_gets_the_receipt(hook):
    lan = hook.chat(201)
    [welcome] = await lan.say("/start")
    assert welcome.text.startswith("Chào mừng")
    [menu] = await lan.press("Tôi đồng ý")
    assert "✍️ Gửi câu hỏi" in menu.button_texts
    await lan.say("/hoi")
    [prompt] = await lan.press("Rà soát")
    assert "từ 10 đến 1000 ký tự" in prompt.text
    question = "Vì sao nhà tôi chưa được rà soát lại hộ cận nghèo năm nay?"
    await lan.say(question)
    await lan.press("Ẩn danh")
    [receipt] = await lan.press("✅ Gửi")
    assert receipt.text.startswith("Đã nhận câu hỏi của bạn")
    async with hook.runtime.sessions() as session:
        [stored] = list(await session.scalars(select(Question)))
    assert stored.text == question and stored.anonymous and stored.account_id is None
    assert f"Mã câu hỏi: {stored.ticket}" in receipt.text
    [mine] = await lan.say("/cauhoi")
    assert stored.ticket in mine.text
    # Each event left the inbox once processed: none of the person's texts stays there.
    assert await hook.count(IncomingEvent) == 0
    # Every press was acknowledged, with the keyboard taken away as in polling mode.
    assert hook.fake.unanswered_callbacks() == []
    assert [m for m in hook.fake.messages_to(201) if "Ẩn danh" in m.button_texts] == []


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-token-0123456789", SECRET + "x"])
async def test_a_post_without_the_right_secret_is_refused_and_nothing_is_kept(hook, secret):
    lan = hook.chat(202)
    update = hook.fake.send_text(202, "/start")
    response = await hook.post(update, secret=secret)
    assert response.status_code == 403
    await asyncio.sleep(0.5)  # the worker polls every 0.2 s: it would have found something
    assert await hook.count(IncomingEvent) == 0
    assert await hook.count(ProcessedUpdate) == 0
    assert hook.fake.messages_to(202) == []
    # The same update with the secret is taken.
    assert (await hook.post(update)).status_code == 200
    [welcome] = await lan.expect(1)
    assert welcome.text.startswith("Chào mừng")


async def test_a_body_that_is_not_an_update_is_refused(hook):
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for body in (b"{not json", b"[1, 2]", b'{"message": {}}', "\xff".encode("latin-1")):
        response = await hook.http.post("/telegram", content=body, headers=headers)
        assert response.status_code == 400
    assert await hook.count(IncomingEvent) == 0
    assert (await hook.http.get("/telegram")).status_code == 405
    assert (await hook.http.post("/zalo", content=b"{}")).status_code == 404  # no Zalo here


async def test_an_update_telegram_delivers_twice_is_answered_once(hook):
    lan = hook.chat(203)
    update = hook.fake.send_text(203, "/start")
    first, second = await asyncio.gather(hook.post(update), hook.post(update))
    assert (first.status_code, second.status_code) == (200, 200)
    await lan.expect(1)
    assert (await hook.post(update)).status_code == 200  # and once more, later
    await asyncio.sleep(0.5)
    assert len(hook.fake.messages_to(203)) == 1
    assert await hook.count(ProcessedUpdate) == 1
    assert await hook.count(IncomingEvent) == 0


async def test_healthz_answers_when_the_database_does(hook):
    response = await hook.http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"database": "ok"})


async def _database_to_lose(database_url: str, tmp_path: Path) -> tuple[str, object]:
    """A database URL, and a coroutine function that makes that database go away."""
    if database_url.startswith("sqlite"):
        folder = tmp_path / "data"
        folder.mkdir()

        async def lose() -> None:
            folder.rename(tmp_path / "gone")

        return f"sqlite+aiosqlite:///{folder / 'doithoai.db'}", lose
    name = PG_RUN_DATABASE + "_healthz"
    url = await create_pg_database(name)

    async def lose() -> None:
        await drop_pg_database(name)

    return url, lose


async def test_healthz_says_503_when_the_database_is_gone(database_url, clock, tmp_path):
    url, lose = await _database_to_lose(database_url, tmp_path)
    runtime = Runtime(make_settings(url), clock=clock)
    server = WebServer(create_app(runtime), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            assert (await http.get("/healthz")).status_code == 200
            await runtime.engine.dispose()  # no connection kept open to the old file
            await lose()
            response = await http.get("/healthz")
            assert (response.status_code, response.json()) == (503, {"database": "unavailable"})
            # Only what was asked for is served.
            assert (await http.post("/telegram", content=b"{}")).status_code == 404
    finally:
        await server.stop()
        await runtime.close()


def _doithoai(*args: str, env: dict[str, str], cwd: Path, **popen) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    clean.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env=clean,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@pytest.mark.parametrize("missing", ["DOITHOAI_WEBHOOK_URL", "DOITHOAI_WEBHOOK_SECRET"])
def test_run_webhook_without_its_settings_stops_with_one_line_naming_the_missing_one(
    tmp_path, missing
):
    env = {
        "DOITHOAI_SECRET_KEY": "s" * 40,
        "DOITHOAI_TELEGRAM_TOKEN": "123:abc",
        "DOITHOAI_WEBHOOK_URL": PUBLIC,
        "DOITHOAI_WEBHOOK_SECRET": SECRET,
    }
    del env[missing]
    process = _doithoai("run", "--webhook", env=env, cwd=tmp_path)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert stderr.strip() == f"Lỗi cấu hình: {missing}: required but not set"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_doithoai_run_webhook_serves_telegram_and_zalo_until_stopped(database_url, tmp_path):
    fake = WebhookBotAPI().start()
    zalo = FakeZaloAPI().start()
    port = _free_port()
    env = {
        "DOITHOAI_DATABASE_URL": database_url,
        "DOITHOAI_SECRET_KEY": "s" * 40,
        "DOITHOAI_TELEGRAM_TOKEN": fake.token,
        "DOITHOAI_TELEGRAM_API_URL": fake.url,
        "DOITHOAI_WEBHOOK_URL": PUBLIC,
        "DOITHOAI_WEBHOOK_SECRET": SECRET,
        "DOITHOAI_HOST": "127.0.0.1",
        "DOITHOAI_PORT": str(port),
    }
    env.update({f"DOITHOAI_{name.upper()}": value for name, value in zalo.settings().items()})
    process = _doithoai("run", "--webhook", env=env, cwd=tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(300):
                if process.poll() is not None:
                    raise AssertionError(process.stderr.read())
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            await fake.await_call("setWebhook", timeout=30)
            assert fake.webhook is not None and fake.webhook["url"] == f"{PUBLIC}/telegram"
            fake.user(918273645)
            update = fake.send_text(918273645, "/start")
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            response = await http.post("/telegram", content=json.dumps(update), headers=headers)
            assert response.status_code == 200
            [welcome] = await fake.await_messages(918273645, 1, timeout=30)
            assert welcome.text.startswith("Chào mừng")
            # Zalo's events arrive at /zalo of the same process, signed.
            zalo.follow_user("8403999888777666555")
            posted = await zalo.post(
                zalo.follow_event("8403999888777666555"), url=f"http://127.0.0.1:{port}/zalo"
            )
            assert posted.status == 200
            [greeting] = await zalo.await_messages("8403999888777666555", 1, timeout=30)
            assert greeting.text.startswith("CHÀO MỪNG")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(process.communicate, timeout=60)
        assert process.returncode == 0, stderr
        assert "webhooks (Telegram, Zalo) on 127.0.0.1" in stderr
        for secret in ("Chào mừng", "CHÀO MỪNG", "918273645", "8403999888777666555", SECRET):
            assert secret not in stderr
        assert [c for c in fake.calls if c.method in ("deleteWebhook", "getUpdates")] == []
        assert fake.violations == [] and zalo.violations == []
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        fake.stop()
        zalo.stop()


def _metric(text: str, name: str, **labels: str) -> float:
    """A sample's value in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_show_what_the_service_did_and_name_no_one(hook):
    before = (await hook.http.get("/metrics")).text
    lan = hook.chat(251)
    await lan.say("/start")
    await lan.press("Tôi đồng ý")
    response = await hook.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    processed = {"channel": "telegram", "outcome": "processed"}
    assert _metric(after, "doithoai_updates_total", **processed) == (
        _metric(before, "doithoai_updates_total", **processed) + 2
    )
    sent = {"channel": "telegram", "result": "sent"}
    assert _metric(after, "doithoai_sends_total", **sent) >= (
        _metric(before, "doithoai_sends_total", **sent) + 2
    )
    assert _metric(after, "doithoai_update_seconds_count", channel="telegram") >= 2
    assert _metric(after, "doithoai_intake_lag_seconds_count", channel="telegram") >= 2
    labels = " ".join(re.findall(r"\{[^}]*\}", after))
    assert "251" not in labels and "Lan" not in after  # labels name channels, never a person
