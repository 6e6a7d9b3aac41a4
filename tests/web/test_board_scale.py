"""The board at province scale: counts kept in the transaction that changes them and equal to a
recount from scratch, pages and feeds bounded with links to the rest, pages rendered once per
version of the data, and a reader that never makes the bot wait.

The clock of the tests (tests/conftest.py) starts on Friday 20/11/2026, 09:00 in Hà Nội.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import lxml.html
import pytest
from sqlalchemy import select

from bot.board import create_board_app
from bot.board_cache import PageCache
from bot.runtime import Runtime
from storage import (
    answers,
    board_agencies,
    board_counts,
    board_dialogues,
    board_tallies,
    followup,
    moderation,
    staff,
    support,
)
from storage import board as store
from storage.db import reading
from storage.dialogues import create_dialogue, general_intake
from storage.models import Answer, Commitment, Question, Staff
from storage.questions import add_question
from tests.conftest import make_settings
from tests.web.board_support import local

TODAY = date(2026, 11, 20)
AGENCIES = ("ldtbxh", "nhcsxh", "ubnd")


@pytest.fixture
async def service(database_url: str, clock) -> AsyncIterator[Runtime]:
    runtime = Runtime(make_settings(database_url), clock=clock)
    yield runtime
    await runtime.close()


async def _officials(runtime: Runtime) -> dict[str, int]:
    async with runtime.sessions() as session, session.begin():
        found = {}
        for agency in AGENCIES:
            official, _code = await staff.invite(
                session,
                role="official",
                name=f"Cán bộ {agency}",
                agency=agency,
                now=runtime.clock(),
                valid_for=timedelta(days=7),
            )
            found[agency] = official.id
    return found


# The oracle: the figures from every row, as the board defines them


async def recount(runtime: Runtime, *, today: date) -> dict[tuple[str, object], dict[str, int]]:
    """Asked, answered, commitments, on time and overdue, by dialogue and by agency, from every
    question, answer and commitment (what the board computed on each request before)."""
    async with runtime.sessions() as session:
        questions = list(await session.scalars(select(Question)))
        answered_ids = set(await session.scalars(select(Answer.question_id)))
        commitments = list(await session.scalars(select(Commitment)))
    published = {
        q.id: q
        for q in questions
        if q.status in ("approved", "answered", "committed", "fulfilled", "reopened")
        and q.merged_into is None
    }
    figures: dict[tuple[str, object], Counter[str]] = {}

    def add(scope: tuple[str, object], name: str) -> None:
        figures.setdefault(scope, Counter())[name] += 1

    for q in published.values():
        public = not q.sensitive or q.id in answered_ids
        answered = public and (
            q.id in answered_ids
            or q.answered_in_room
            or q.status in ("answered", "committed", "fulfilled")
        )
        late = public and not answered and q.status == "approved" and q.due_on is not None
        for scope in (("dialogue", q.dialogue_id), ("agency", q.agency)):
            add(scope, "asked")
            if answered:
                add(scope, "answered")
            if late and q.due_on < today:
                add(scope, "overdue")
    for c in commitments:
        if c.question_id is not None and c.question_id not in published:
            continue
        for scope in (("dialogue", c.dialogue_id), ("agency", c.agency)):
            add(scope, "commitments")
            if c.status == "fulfilled" and c.fulfilled_on <= c.due_on:
                add(scope, "on_time")
            if c.status == "open" and c.due_on < today:
                add(scope, "overdue")
    return {scope: dict(counts) for scope, counts in figures.items()}


async def kept_figures(
    runtime: Runtime, *, dialogue_ids: list[int], today: date
) -> dict[tuple[str, object], dict[str, int]]:
    """The same figures as the pages read them: from the kept counts."""
    found: dict[tuple[str, object], dict[str, int]] = {}
    async with reading(runtime.sessions) as session:
        for ident, t in (
            await board_tallies.tallies(session, dialogue_ids=dialogue_ids, today=today)
        ).items():
            found[("dialogue", ident)] = {
                "asked": t.asked,
                "answered": t.answered,
                "commitments": t.commitments,
                "on_time": t.kept_on_time,
                "overdue": t.overdue_questions + t.overdue_commitments,
            }
        for agency in AGENCIES:
            board = await board_agencies.agency_board(session, code=agency, today=today)
            assert board is not None
            found[("agency", agency)] = {
                "asked": board.questions,
                "answered": board.answered,
                "commitments": board.commitment_count,
                "on_time": sum(1 for a in board.by_state["fulfilled"] if a.commitment.kept_on_time),
                "overdue": board.overdue_questions + board.section_counts["overdue"],
            }
    return {scope: {k: v for k, v in counts.items() if v} for scope, counts in found.items()}


async def _random_history(runtime: Runtime, rng: random.Random, steps: int) -> list[int]:
    """Questions asked, moderated, answered, committed, fulfilled, reopened, merged, made
    sensitive, forwarded, supported and given deadlines, in a random order, each step in its
    own transaction as the bot makes them (a few together, one rolled back)."""
    officials = await _officials(runtime)
    moderator = officials["ubnd"]
    async with runtime.sessions() as session, session.begin():
        one = await create_dialogue(
            session,
            title="Đối thoại 1",
            starts_at=local(2026, 10, 21, 8, 30),
            wards=["Phường 7"],
            venue="Hội trường",
        )
        two = await create_dialogue(
            session,
            title="Đối thoại 2",
            starts_at=local(2026, 11, 2, 8, 30),
            wards=["Phường 8"],
            venue="Hội trường",
        )
        general = await general_intake(session)
        dialogues = [one.id, two.id, general.id]

    def day(spread: int = 20) -> date:
        return TODAY + timedelta(days=rng.randint(-spread, spread))

    async def pick(session, *statuses: str) -> Question | None:
        rows = list(
            await session.scalars(
                select(Question).where(Question.status.in_(statuses)).order_by(Question.id)
            )
        )
        return rng.choice(rows) if rows else None

    async def step(session) -> None:
        action = rng.choice(
            [
                "ask",
                "ask",
                "ask",
                "approve",
                "approve",
                "approve",
                "reject",
                "merge",
                "sensitive",
                "forward",
                "answer",
                "in_room",
                "commit",
                "progress",
                "fulfil",
                "reopen",
                "general",
                "support",
                "deadlines",
                "due",
            ]
        )
        now = runtime.clock()
        if action == "ask":
            await add_question(
                session,
                dialogue_id=rng.choice(dialogues),
                topic=rng.choice(["giamngheo", "tindung", "yte"]),
                agency=rng.choice(AGENCIES),
                text="Câu hỏi số " + str(rng.randint(1, 10**6)),
                submitted_on=TODAY,
                account_id=None,
                asker_hash="a" * 64,
                reply_handle=b"sealed",
            )
        elif action == "approve" and (q := await pick(session, "new", "reopened")):
            await moderation.approve(
                session, question=q, staff_id=moderator, on=TODAY, due_on=rng.choice([None, day()])
            )
        elif action == "reject" and (q := await pick(session, "new")):
            await moderation.reject(
                session, question=q, reason="trùng", staff_id=moderator, on=TODAY
            )
        elif action == "merge" and (q := await pick(session, "new", "approved")):
            kept = await session.scalar(
                select(Question).where(
                    Question.dialogue_id == q.dialogue_id,
                    Question.status == "approved",
                    Question.id != q.id,
                )
            )
            if kept is not None:
                await moderation.merge(
                    session, duplicate=q, kept=kept, staff_id=moderator, on=TODAY
                )
        elif action == "sensitive" and (q := await pick(session, "approved", "answered")):
            await moderation.set_sensitive(
                session, question=q, sensitive=not q.sensitive, staff_id=moderator, on=TODAY
            )
        elif action == "forward" and (q := await pick(session, "approved", "answered")):
            await moderation.change_agency(
                session, question=q, agency=rng.choice(AGENCIES), staff_id=moderator, on=TODAY
            )
        elif action == "answer" and (q := await pick(session, "approved", "committed")):
            official = await session.get(Staff, officials[q.agency])
            await answers.add_answer(
                session, question=q, staff=official, text="Trả lời.", now=now, today=TODAY
            )
        elif action == "in_room" and (q := await pick(session, "approved")):
            await followup.answered_in_room(
                session,
                question=q,
                staff_id=officials[q.agency],
                summary=rng.choice(["", "Đã trả lời tại hội nghị."]),
                now=now,
                today=TODAY,
            )
        elif action == "commit" and (q := await pick(session, "approved", "answered")):
            official = await session.get(Staff, officials[rng.choice(AGENCIES)])
            await answers.add_commitment(
                session,
                question=q,
                staff=official,
                content="Cam kết.",
                due_on=day(),
                responsible="Tổ công tác",
                now=now,
                today=TODAY,
            )
        elif action in ("progress", "fulfil"):
            c = await session.scalar(
                select(Commitment).where(Commitment.status == "open").order_by(Commitment.id)
            )
            if c is None:
                return
            official = await session.get(Staff, officials[c.agency])
            if action == "progress":
                await answers.update_progress(
                    session,
                    commitment=c,
                    staff=official,
                    progress="Đang làm.",
                    now=now,
                    today=TODAY,
                )
            else:
                await answers.fulfil(session, commitment=c, staff=official, now=now, today=day(10))
        elif action == "reopen" and (
            q := await pick(session, "answered", "committed", "fulfilled")
        ):
            await answers.give_feedback(
                session,
                question=q,
                about="a0",
                giver_hash=f"{rng.random():.12f}",
                satisfied=False,
                today=TODAY,
                reason="Chưa rõ",
            )
        elif action == "general":
            await followup.record_commitment(
                session,
                dialogue_id=rng.choice(dialogues),
                question=None,
                agency=rng.choice(AGENCIES),
                content="Cam kết chung.",
                due_on=day(),
                responsible="UBND",
                staff_id=officials["ubnd"],
                now=now,
                today=TODAY,
            )
        elif action == "support" and (q := await pick(session, "approved", "answered")):
            await support.add_support(
                session,
                question=q,
                supporter_hash=f"{rng.random():.12f}",
                reply_handle=b"handle",
                today=TODAY,
            )
        elif action == "due" and (q := await pick(session, "approved")):
            q.due_on = day()  # set on the object, flushed only by the commit
        elif action == "deadlines":
            await followup.send_unanswered(
                session, dialogue_id=rng.choice(dialogues), due_on=day(), today=TODAY
            )

    for number in range(steps):
        if number % 17 == 5:

            class Undone(Exception):
                pass

            with pytest.raises(Undone):  # a transaction that fails changes no count
                async with runtime.sessions() as session, session.begin():
                    await step(session)
                    await step(session)
                    await session.flush()
                    raise Undone
            continue
        async with runtime.sessions() as session, session.begin():
            for _ in range(1 if number % 5 else 3):
                await step(session)
    return dialogues


@pytest.mark.parametrize("seed", [7, 2026])
async def test_the_kept_counts_equal_a_recount_from_scratch_after_a_random_history(
    service: Runtime, seed: int
):
    dialogues = await _random_history(service, random.Random(seed), steps=120)

    for today in (TODAY, TODAY + timedelta(days=30), TODAY - timedelta(days=30)):
        expected = await recount(service, today=today)
        kept = await kept_figures(service, dialogue_ids=dialogues, today=today)
        for scope in set(expected) | set(kept):
            assert kept.get(scope, {}) == expected.get(scope, {}), (scope, today)
    assert any(figures.get("commitments") for figures in expected.values())

    # Each filter's kept number is the number of questions it lists.
    async with reading(service.sessions) as session:
        for today in (TODAY, TODAY + timedelta(days=30)):
            for ident in dialogues:
                for state in (None, *store.STATES):
                    for agency in (None, *AGENCIES):
                        board = await board_dialogues.dialogue_board(
                            session,
                            dialogue_id=ident,
                            today=today,
                            state=state,
                            agency=agency,
                            size=1000,
                        )
                        assert board is not None
                        assert board.matching == len(board.questions), (ident, state, agency)
                        assert all(q.state(today) == state for q in board.questions if state)

    # What each subject adds, counted again from scratch, is what is kept.
    async with service.engine.connect() as connection:
        before = await connection.run_sync(board_counts.kept)
    async with service.engine.begin() as connection:
        await connection.run_sync(board_counts.recount_all)
        after = await connection.run_sync(board_counts.kept)
    assert before == after


# Bounded pages


async def _many_questions(runtime: Runtime, count: int) -> int:
    async with runtime.sessions() as session, session.begin():
        facilitator, _code = await staff.invite(
            session,
            role="facilitator",
            name="Chị Mặt trận",
            ward="Phường 7",
            now=runtime.clock(),
            valid_for=timedelta(days=7),
        )
        moderator = facilitator.id
        dialogue = await create_dialogue(
            session,
            title="Đối thoại lớn",
            starts_at=local(2026, 10, 21, 8, 30),
            wards=["Phường 7"],
            venue="Hội trường",
        )
        for number in range(count):
            question = await add_question(
                session,
                dialogue_id=dialogue.id,
                topic="giamngheo" if number % 2 else "tindung",
                agency="ubnd",
                text=f"Câu hỏi thứ {number + 1}",
                submitted_on=TODAY,
                account_id=None,
                asker_hash="a" * 64,
                reply_handle=b"sealed",
            )
            question.supporters = number  # the most supported first: 74, 73, …
            await moderation.approve(session, question=question, staff_id=moderator, on=TODAY)
    return dialogue.id


@pytest.fixture
async def client(service: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, PageCache]]:
    cache = PageCache()
    transport = httpx.ASGITransport(app=create_board_app(service, cache))
    async with httpx.AsyncClient(transport=transport, base_url="http://board.test") as http:
        yield http, cache


def _questions_on(response: httpx.Response) -> list[str]:
    page = lxml.html.fromstring(response.text)
    return [
        " ".join(q.text_content().split())
        for q in page.xpath('//article[contains(@class, "question")]//blockquote')
    ]


def _link(response: httpx.Response, rel: str) -> str | None:
    found = lxml.html.fromstring(response.text).xpath(f'//nav[@class="pages"]/a[@rel="{rel}"]')
    return found[0].get("href") if found else None


async def test_a_dialogue_page_shows_thirty_questions_and_links_to_the_next_pages(
    service: Runtime, client
):
    http, _cache = client
    ident = await _many_questions(service, 75)

    first = await http.get(f"/doi-thoai/{ident}")
    assert first.status_code == 200
    assert _questions_on(first) == [f"Câu hỏi thứ {n}" for n in range(75, 45, -1)]
    assert "Tất cả (75)" in " ".join(lxml.html.fromstring(first.text).text_content().split())
    assert "Trang 1/3" in first.text
    assert _link(first, "prev") is None
    assert _link(first, "next") == f"/doi-thoai/{ident}?trang=2"

    last = await http.get(_link(await http.get(_link(first, "next")), "next"))
    assert _questions_on(last) == [f"Câu hỏi thứ {n}" for n in range(15, 0, -1)]
    assert _link(last, "next") is None
    assert _link(last, "prev") == f"/doi-thoai/{ident}?trang=2"

    # A filter stays in the page links; past the last page there is nothing, not an error.
    topic = await http.get(f"/doi-thoai/{ident}", params={"chu-de": "giamngheo"})
    assert len(_questions_on(topic)) == 30
    assert _link(topic, "next") == f"/doi-thoai/{ident}?trang=2&chu-de=giamngheo"
    beyond = await http.get(f"/doi-thoai/{ident}", params={"trang": "99"})
    assert beyond.status_code == 200 and _questions_on(beyond) == []
    for nonsense in ("0", "-1", "abc", "9" * 40):
        assert (
            await http.get(f"/doi-thoai/{ident}", params={"trang": nonsense})
        ).status_code == 200


async def test_the_feeds_carry_the_last_hundred_entries_and_link_to_older_ones(
    service: Runtime, client
):
    http, _cache = client
    officials = await _officials(service)
    ident = await _many_questions(service, 105)
    async with service.sessions() as session, session.begin():
        official = await session.get(Staff, officials["ubnd"])
        rows = await session.scalars(select(Question).where(Question.dialogue_id == ident))
        for number, question in enumerate(rows):
            await answers.add_answer(
                session,
                question=question,
                staff=official,
                text=f"Trả lời {number}",
                now=service.clock() + timedelta(minutes=number),
                today=TODAY,
            )

    feed = (await http.get("/feed.json")).json()
    assert len(feed["items"]) == 100
    assert feed["next_url"].endswith("/feed.json?trang=2")
    older = (await http.get(feed["next_url"])).json()
    assert len(older["items"]) == 5 and "next_url" not in older
    assert not {i["id"] for i in feed["items"]} & {i["id"] for i in older["items"]}

    atom = lxml.etree.fromstring((await http.get("/feed.atom")).content)
    links = {link.get("rel"): link.get("href") for link in atom.findall("{*}link")}
    assert links["next"].endswith("/feed.atom?trang=2")
    assert len(atom.findall("{*}entry")) == 100


# Rendered once per version of the data


async def test_an_unchanged_page_is_rendered_once_and_a_change_is_shown_at_once(
    service: Runtime, client
):
    http, cache = client
    ident = await _many_questions(service, 3)
    path = f"/doi-thoai/{ident}"

    first = await http.get(path)
    renders = cache.renders
    many = await asyncio.gather(*(http.get(path) for _ in range(20)))
    assert cache.renders == renders
    assert {r.content for r in many} == {first.content}
    assert {r.headers["etag"] for r in many} == {first.headers["etag"]}

    async with service.sessions() as session, session.begin():
        question = await session.scalar(select(Question).where(Question.dialogue_id == ident))
        await support.add_support(
            session,
            question=question,
            supporter_hash="someone",
            reply_handle=b"handle",
            today=TODAY,
        )
    changed = await http.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert cache.renders == renders + 1
    assert changed.headers["etag"] != first.headers["etag"]


# Readers never make the bot wait


async def test_a_board_reader_holding_its_transaction_does_not_make_the_bot_wait(
    service: Runtime,
):
    ident = await _many_questions(service, 5)
    reader_open, write_done = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def reader() -> None:
        async with reading(service.sessions) as session:
            board = await board_dialogues.dialogue_board(session, dialogue_id=ident, today=TODAY)
            assert board is not None and board.tally.asked == 5
            reader_open.set()
            await write_done.wait()  # held open until the bot has written
            order.append("reader closes")

    async def bot() -> None:
        await reader_open.wait()
        # The bot records a question, and a facilitator publishes one (counts change).
        async with service.sessions() as session, session.begin():
            question = await add_question(
                session,
                dialogue_id=ident,
                topic="yte",
                agency="yte",
                text="Câu hỏi mới trong lúc có người đọc",
                submitted_on=TODAY,
                account_id=None,
                asker_hash="a" * 64,
                reply_handle=b"sealed",
            )
        async with service.sessions() as session, session.begin():
            moderator = await session.scalar(select(Staff.id))
            await moderation.approve(
                session, question=await session.merge(question), staff_id=moderator, on=TODAY
            )
        order.append("bot committed")
        write_done.set()

    await asyncio.gather(reader(), bot())

    assert order == ["bot committed", "reader closes"]
    async with reading(service.sessions) as session:
        board = await board_dialogues.dialogue_board(session, dialogue_id=ident, today=TODAY)
    assert board is not None and board.tally.asked == 6


async def test_the_cached_home_page_follows_a_cancelled_dialogue_and_the_clock(
    service: Runtime, client, clock
):
    http, _cache = client
    async with service.sessions() as session, session.begin():
        soon = await create_dialogue(
            session,
            title="Đối thoại về nước sạch",
            starts_at=local(2026, 11, 20, 14, 0),
            duration=timedelta(minutes=120),
            venue="Nhà văn hóa khóm 2",
            wards=["Phường 7"],
        )
        later = await create_dialogue(
            session,
            title="Đối thoại về đất ở",
            starts_at=local(2026, 12, 3, 14, 0),
            venue="Hội trường Phường 8",
            wards=["Phường 8"],
        )

    def section(response: httpx.Response, ident: str) -> str:
        found = lxml.html.fromstring(response.text).get_element_by_id(ident)
        return " ".join(found.text_content().split())

    first = await http.get("/")
    assert "Đối thoại về đất ở" in section(first, "sap-toi")
    assert "Đối thoại về nước sạch" in section(first, "sap-toi")

    # The organiser cancels one (as `doithoai dialogue cancel` does): shown at once.
    async with service.sessions() as session, session.begin():
        (await session.get(type(later), later.id)).status = "cancelled"
    cancelled = await http.get("/")
    assert "Đối thoại về đất ở" not in section(cancelled, "sap-toi")
    assert "Đối thoại về đất ở" in section(cancelled, "da-huy")

    # Nothing changes in the data, but the first dialogue ends: it moves to the results.
    clock.at(local(2026, 11, 20, 16, 30))
    ended = await http.get("/")
    assert "Đối thoại về nước sạch" not in section(ended, "sap-toi")
    assert "Đối thoại về nước sạch" in section(ended, "ket-qua")
    assert soon.id
