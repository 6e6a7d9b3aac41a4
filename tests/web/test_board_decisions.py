"""The adoption decisions of a dialogue on its public page: a proposal's and a commitment's
decision, what changes and why, shown as soon as they are recorded (the page cached before is
rendered again, the board's data version having grown), in each language, naming nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import lxml.html
import pytest

from bot.board import create_board_app
from bot.core.messages import Address
from bot.runtime import Runtime
from storage import answers, moderation, staff
from storage import board as board_store
from storage import dialogue_decisions as store
from storage.accounts import create_account
from storage.decisions import DecisionError
from storage.dialogues import create_dialogue
from storage.models import Commitment, Question
from storage.questions import add_question
from tests.web import board_support
from tests.web.board_support import local

board_runtime = board_support.board_runtime

ASKER_NAME, ASKER_CHAT = "Lê Thị Hồng Nhung", "5520193344"
PROPOSAL = "Đề nghị niêm yết danh sách hộ cận nghèo tại nhà văn hóa từng khóm."
COMMITMENT = "Niêm yết danh sách tại 5 khóm trước ngày 15/12/2026."
REASON = "Danh sách đã được niêm yết tại UBND phường theo quy định."
CHANGE = "Bổ sung niêm yết tại nhà văn hóa khóm từ năm 2027."


@pytest.fixture
async def client(board_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_board_app(board_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as session:
        yield session


def text_of(response: httpx.Response) -> str:
    return " ".join(lxml.html.fromstring(response.text).text_content().split())


async def _proposal(runtime: Runtime) -> tuple[int, str, int]:
    """A dialogue with an anonymous proposal, approved, and a commitment made on it:
    (dialogue, ticket, commitment)."""
    sealer = runtime.dispatcher.sealer
    now = runtime.clock()
    async with runtime.sessions() as session, session.begin():
        account = await create_account(
            session,
            channel="telegram",
            user_id=ASKER_CHAT,
            display_name=ASKER_NAME,
            locale="vi",
            consented_on=date(2026, 9, 1),
        )
        address = Address("telegram", ASKER_CHAT)
        dialogue = await create_dialogue(
            session,
            title="Đối thoại về giảm nghèo năm 2026",
            starts_at=local(2026, 10, 21, 8, 30),
            venue="Hội trường UBND Phường 7",
            wards=["Phường 7"],
        )
        question = await add_question(
            session,
            dialogue_id=dialogue.id,
            topic="giamngheo",
            agency="ldtbxh",
            text=PROPOSAL,
            submitted_on=date(2026, 10, 10),
            asker_hash=sealer.asker_hash(account.asker_salt, address),
            reply_handle=sealer.seal(address),
        )
        facilitator, _ = await staff.invite(
            session,
            role="facilitator",
            name="Chị Mặt trận",
            ward="Phường 7",
            now=now,
            valid_for=timedelta(days=7),
        )
        official, _ = await staff.invite(
            session,
            role="official",
            name="Anh Lao động",
            agency="ldtbxh",
            now=now,
            valid_for=timedelta(days=7),
        )
        await moderation.approve(
            session, question=question, staff_id=facilitator.id, on=date(2026, 10, 12)
        )
        commitment = await answers.add_commitment(
            session,
            question=question,
            staff=official,
            content=COMMITMENT,
            due_on=date(2026, 12, 15),
            responsible="Tổ giảm nghèo",
            now=local(2026, 11, 3, 9, 0),
            today=date(2026, 11, 3),
        )
        return dialogue.id, question.ticket, commitment.id


async def _decide(runtime: Runtime, ticket: str, commitment_id: int) -> None:
    async with runtime.sessions() as session, session.begin():
        question = await answers.by_ticket(session, ticket=ticket)
        await store.decide_question(
            session,
            question=question,
            decision="partly",
            reason=REASON,
            change=CHANGE,
            on=date(2026, 11, 20),
        )
        commitment = await session.get(Commitment, commitment_id)
        await store.decide_commitment(
            session,
            commitment=commitment,
            decision="under_study",
            reason="",
            change="",
            on=date(2026, 11, 20),
        )


async def _version(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return await board_store.version(session)


async def test_a_decision_shows_on_the_dialogue_page_as_soon_as_it_is_recorded(
    board_runtime: Runtime, client: httpx.AsyncClient
):
    dialogue, ticket, commitment = await _proposal(board_runtime)
    before = await client.get(f"/doi-thoai/{dialogue}")
    assert before.status_code == 200
    assert PROPOSAL in text_of(before) and "Kết quả:" not in text_of(before)
    version = await _version(board_runtime)

    await _decide(board_runtime, ticket, commitment)

    assert await _version(board_runtime) > version  # the cached pages are stale now
    page = await client.get(f"/doi-thoai/{dialogue}")
    shown = text_of(page)
    assert "Kết quả: Tiếp thu một phần" in shown
    assert f"Thay đổi: {CHANGE}" in shown and f"Lý do: {REASON}" in shown
    assert "Kết quả: Đang nghiên cứu" in shown  # the commitment's
    # Each decision sits with what it decides: the proposal's in its article, the
    # commitment's in the commitment.
    tree = lxml.html.fromstring(page.text)
    [article] = tree.xpath(f"//article[@id='q-{ticket.lower()}']")
    [mine] = article.xpath("./div[contains(@class, 'decision')]")
    assert "partly" in mine.get("class") and REASON in mine.text_content()
    [theirs] = tree.xpath(f"//div[@id='c-{commitment}']/div[contains(@class, 'decision')]")
    assert "under_study" in theirs.get("class")
    for secret in (ASKER_NAME, ASKER_CHAT):
        assert secret not in page.text

    english = text_of(await client.get(f"/doi-thoai/{dialogue}", params={"lang": "en"}))
    assert "Decision: Partly adopted" in english and f"Why: {REASON}" in english
    assert "Decision: Under study" in english


async def test_a_refusal_without_its_reason_is_not_recorded(board_runtime: Runtime):
    _dialogue, ticket, _commitment = await _proposal(board_runtime)
    async with board_runtime.sessions() as session, session.begin():
        question = await answers.by_ticket(session, ticket=ticket)
        for decision in ("not_adopted", "not", "partly"):
            with pytest.raises(DecisionError):
                await store.decide_question(
                    session,
                    question=question,
                    decision=decision,
                    reason="  ",
                    change="",
                    on=date(2026, 11, 20),
                )
        with pytest.raises(DecisionError):
            await store.decide_question(
                session, question=question, decision="maybe", reason="", change="", on=date.today()
            )
    async with board_runtime.sessions() as session:
        stored = await session.get(Question, question.id)
        assert stored.decision is None and stored.decided_on is None
