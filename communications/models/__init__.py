"""The communication domain's models, a module per area; importable from here as one."""

from communications.models.check_ins import (
    CheckIn,
    CheckInDeletion,
    CheckInDeletionQuerySet,
    CheckInQuerySet,
    CheckInRevision,
    CheckInRevisionQuerySet,
    Sentiment,
    names_as_recorded,
)
from communications.models.follow_ups import (
    FollowUp,
    FollowUpComment,
    FollowUpCommentQuerySet,
    FollowUpOverdue,
    FollowUpOverdueQuerySet,
    FollowUpQuerySet,
    FollowUpRedate,
    FollowUpRedateQuerySet,
)
from communications.models.obligations import (
    CommunicationObligation,
    CommunicationObligationQuerySet,
)
from communications.models.occurrences import (
    Occurrence,
    OccurrenceQuerySet,
)
from communications.models.plan import (
    DEFAULT_DURATION,
    DEFAULT_GRACE_PERIOD,
    LONGEST_DURATION,
    SHORTEST_DURATION,
    Channel,
    ChannelKind,
    ChannelQuerySet,
)
from communications.models.raid import (
    STATUS_WORDS,
    RaidItem,
    RaidItemQuerySet,
    RaidKind,
    RaidRiskReview,
    RaidRiskReviewQuerySet,
    RaidSeverity,
    RaidTrend,
    RaidValidation,
)
from communications.models.rollups import (
    ConsultantWeeklyRollup,
    ConsultantWeeklyRollupQuerySet,
    WeeklyRollup,
    WeeklyRollupQuerySet,
)
from communications.models.silence import (
    SilenceFlag,
    SilenceFlagQuerySet,
)
from communications.models.subscriptions import (
    Delivery,
    DeliveryQuerySet,
    SponsorSubscription,
    SponsorSubscriptionQuerySet,
)

__all__ = [
    "Channel",
    "ChannelKind",
    "ChannelQuerySet",
    "CheckIn",
    "CheckInDeletion",
    "CheckInDeletionQuerySet",
    "CheckInQuerySet",
    "CheckInRevision",
    "CheckInRevisionQuerySet",
    "CommunicationObligation",
    "CommunicationObligationQuerySet",
    "ConsultantWeeklyRollup",
    "ConsultantWeeklyRollupQuerySet",
    "DEFAULT_DURATION",
    "DEFAULT_GRACE_PERIOD",
    "Delivery",
    "DeliveryQuerySet",
    "FollowUp",
    "FollowUpComment",
    "FollowUpCommentQuerySet",
    "FollowUpOverdue",
    "FollowUpOverdueQuerySet",
    "FollowUpQuerySet",
    "FollowUpRedate",
    "FollowUpRedateQuerySet",
    "LONGEST_DURATION",
    "Occurrence",
    "OccurrenceQuerySet",
    "SHORTEST_DURATION",
    "RaidItem",
    "RaidItemQuerySet",
    "RaidKind",
    "RaidRiskReview",
    "RaidRiskReviewQuerySet",
    "RaidSeverity",
    "RaidTrend",
    "RaidValidation",
    "STATUS_WORDS",
    "Sentiment",
    "SilenceFlag",
    "SilenceFlagQuerySet",
    "SponsorSubscription",
    "SponsorSubscriptionQuerySet",
    "WeeklyRollup",
    "WeeklyRollupQuerySet",
    "names_as_recorded",
]
