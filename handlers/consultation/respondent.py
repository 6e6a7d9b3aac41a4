"""Who is answering a consultation: a keyed hash of their address finds their response again;
no account is stored with it."""

from __future__ import annotations

from handlers.context import Context
from storage import consultations as store
from storage.links import household_of
from storage.models import Consultation, ConsultationResponse, Household


async def household_now(ctx: Context) -> Household | None:
    return await household_of(ctx.session, channel=ctx.address.channel, user_id=ctx.address.user_id)


def respondent_hash(ctx: Context, consultation_id: int) -> str:
    assert ctx.account is not None
    salt = ctx.account.asker_salt + f"consultation:{consultation_id}".encode()
    return ctx.sealer.asker_hash(salt, ctx.address)


async def response_of(ctx: Context, consultation: Consultation) -> ConsultationResponse | None:
    return await store.response_of(
        ctx.session,
        consultation_id=consultation.id,
        respondent_hash=respondent_hash(ctx, consultation.id),
    )


async def ensure_response(ctx: Context, consultation: Consultation) -> ConsultationResponse:
    household = await household_now(ctx)
    return await store.start_response(
        ctx.session,
        consultation_id=consultation.id,
        respondent_hash=respondent_hash(ctx, consultation.id),
        reply_handle=ctx.sealer.seal(ctx.address),
        group=household.category if household else store.UNLINKED,
        ward=household.ward if household else "",
    )
