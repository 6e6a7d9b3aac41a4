"""A named question asked on Zalo carries the person's name: Zalo's events carry none, so the
channel reads the follower's profile (GET /v3.0/oa/user/detail) and keeps its display name."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Account, Question
from tests.zalo.conftest import options

LAN = "8401000000000000301"
BINH = "8401000000000000302"


async def test_a_named_question_on_zalo_shows_the_name_of_the_persons_zalo_profile(zalo):
    zalo.fake.set_profile(LAN, display_name="Nguyễn Thị Lan", gender=2)
    lan = await zalo.consenting(LAN)
    await lan.say("/hoi")
    await lan.press("Rà soát")
    [how] = await lan.say("Xin hỏi khi nào khóm 3 rà soát hộ cận nghèo năm nay?")
    assert "Nguyễn Thị Lan" in how.text
    assert options(how)[:2] == ["🕶 Ẩn danh", "👤 Ghi tên tôi"]
    [check] = await lan.press("Ghi tên tôi")
    assert "Cách gửi: Ghi tên" in check.text
    [receipt] = await lan.press("✅ Gửi")
    assert "Nguyễn Thị Lan" in receipt.text

    async with zalo.runtime.sessions() as session:
        [account] = list(await session.scalars(select(Account)))
        [question] = list(await session.scalars(select(Question)))
    assert account.display_name == "Nguyễn Thị Lan"
    assert question.account_id == account.id and not question.anonymous
    # Asked once for the person, not for each of their events.
    assert zalo.fake.profile_requests == 1


async def test_an_account_made_before_its_name_was_known_gets_it_when_the_person_writes(zalo):
    binh = await zalo.consenting(BINH)
    async with zalo.runtime.sessions() as session, session.begin():
        account = await session.scalar(select(Account).where(Account.user_id == BINH))
        assert account.display_name.startswith("Zalo ")  # the fake's default profile name
        account.display_name = ""  # as the accounts made before the profile was read
    zalo.channel._names.clear()  # a restarted process
    zalo.fake.set_profile(BINH, display_name="Trần Văn Bình")
    await binh.say("/cauhoi")
    async with zalo.runtime.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_id == BINH))
    assert account.display_name == "Trần Văn Bình"


async def test_a_profile_zalo_will_not_give_leaves_the_conversation_going_without_a_name(zalo):
    zalo.fake.fail_next("/v3.0/oa/user/detail", code=-201, user_id=LAN, times=10)
    lan = await zalo.consenting(LAN)
    [menu] = await lan.say("/trogiup")
    assert menu.text
    async with zalo.runtime.sessions() as session:
        [account] = list(await session.scalars(select(Account)))
    assert account.display_name == ""
