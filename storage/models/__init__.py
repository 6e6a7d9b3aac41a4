"""The tables, as typed SQLAlchemy 2 models, one module by domain. Alembic's migrations under
migrations/ build them.

Every model is re-exported here, so `from storage.models import Question` works and importing
this package registers every table on `Base.metadata` (which Alembic's env.py reads).
"""

from storage.models.base import NAMING, Base, UTCDateTime
from storage.models.consultations import (
    Consultation,
    ConsultationOpinion,
    ConsultationResponse,
    ConsultationTheme,
)
from storage.models.delivery import (
    Account,
    ChannelToken,
    Conversation,
    DailyJob,
    Heartbeat,
    IncomingEvent,
    OutboxMessage,
    ProcessedUpdate,
    RateBudget,
    RecipientPace,
)
from storage.models.dialogues import (
    Agency,
    Answer,
    BoardContribution,
    BoardCount,
    Commitment,
    Decided,
    Dialogue,
    Feedback,
    Question,
    QuestionEvent,
    Staff,
    Support,
    VoiceNote,
)
from storage.models.households import (
    Household,
    HouseholdLink,
    Invitation,
    LinkAttempt,
    Reminder,
    UnconsentedChat,
)

__all__ = [
    "NAMING",
    "Account",
    "Agency",
    "Answer",
    "Base",
    "BoardContribution",
    "BoardCount",
    "ChannelToken",
    "Commitment",
    "Consultation",
    "ConsultationOpinion",
    "ConsultationResponse",
    "ConsultationTheme",
    "Conversation",
    "DailyJob",
    "Decided",
    "Dialogue",
    "Feedback",
    "Heartbeat",
    "Household",
    "HouseholdLink",
    "IncomingEvent",
    "Invitation",
    "LinkAttempt",
    "OutboxMessage",
    "ProcessedUpdate",
    "Question",
    "QuestionEvent",
    "RateBudget",
    "RecipientPace",
    "Reminder",
    "Staff",
    "Support",
    "UTCDateTime",
    "UnconsentedChat",
    "VoiceNote",
]
