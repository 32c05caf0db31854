"""Store every existing role's relationship health once, so pages read a value from the upgrade on.

Reads the signals with the historical models, one query per 200 engagements
(the same subqueries as communications.selectors), applies the pure rule
``communications.health.relationship_health`` and writes in batches. No
previous colour is recorded: nothing dropped before it was first computed.
"""

from django.db import migrations
from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from communications.health import relationship_health
from stakeholders.models import LEVEL_ORDER

BATCH = 200


def _rank(field):
    return Case(
        *(When(**{field: value}, then=Value(order)) for value, order in LEVEL_ORDER.items()),
        output_field=IntegerField(),
    )


def backfill(apps, schema_editor):
    Engagement = apps.get_model("engagements", "Engagement")
    StakeholderRole = apps.get_model("stakeholders", "StakeholderRole")
    CheckIn = apps.get_model("communications", "CheckIn")
    Channel = apps.get_model("communications", "Channel")
    FollowUp = apps.get_model("communications", "FollowUp")
    as_of = timezone.now()
    met = CheckIn.objects.filter(engagement_id=OuterRef("engagement_id"), attendees=OuterRef("stakeholder_id"))
    next_due = (
        Channel.objects.filter(
            status="active",
            engagement_id=OuterRef("engagement_id"),
            stakeholder_id=OuterRef("stakeholder_id"),
            next_due_at__isnull=False,
        )
        .order_by("next_due_at")
        .values("next_due_at")[:1]
    )
    overdue = (
        FollowUp.objects.filter(
            status="open",
            due_at__lt=as_of,
            engagement_id=OuterRef("engagement_id"),
            owner_stakeholder_id=OuterRef("stakeholder_id"),
        )
        .order_by()
        .values("owner_stakeholder")
        .annotate(n=Count("pk"))
        .values("n")
    )
    ids = list(Engagement.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        roles = (
            StakeholderRole.objects.filter(engagement_id__in=ids[start : start + BATCH])
            .annotate(
                last_contact_at=Subquery(met.order_by("-occurred_at").values("occurred_at")[:1]),
                latest_sentiment=Subquery(met.order_by("-occurred_at", "-pk").values("sentiment")[:1]),
                next_due_at=Subquery(next_due),
                overdue=Coalesce(Subquery(overdue), 0),
                level_gap=_rank("desired_level") - _rank("current_level"),
            )
            .order_by("pk")
        )
        rows = []
        for role in roles:
            assessment = relationship_health(
                as_of=as_of,
                last_contact_at=role.last_contact_at,
                next_due_at=role.next_due_at,
                overdue_follow_ups=role.overdue,
                latest_sentiment=role.latest_sentiment,
                level_gap=role.level_gap,
                engagement_id=role.engagement_id,
            )
            role.relationship_health = assessment.status
            role.relationship_health_factors = [factor.as_json() for factor in assessment.factors]
            role.relationship_health_computed_at = as_of
            role.relationship_health_since = as_of
            rows.append(role)
        StakeholderRole.objects.bulk_update(
            rows,
            [
                "relationship_health",
                "relationship_health_factors",
                "relationship_health_computed_at",
                "relationship_health_since",
            ],
            batch_size=BATCH,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0022_api_list_order_indexes"),
        ("stakeholders", "0003_relationship_health"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
