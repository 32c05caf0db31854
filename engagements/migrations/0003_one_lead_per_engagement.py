"""An engagement has at most one lead.

Before this, a second lead could be added, so the earliest lead to join each
engagement keeps the role and any later one becomes a consultant; then the
database holds the rule.
"""

from django.conf import settings
from django.db import migrations, models


def keep_the_first_lead(apps, schema_editor):
    Membership = apps.get_model("engagements", "Membership")
    kept = set()
    extra = []
    for membership_id, engagement_id in (
        Membership.objects.filter(role="lead").order_by("joined_at", "pk").values_list("pk", "engagement_id")
    ):
        if engagement_id in kept:
            extra.append(membership_id)
        kept.add(engagement_id)
    Membership.objects.filter(pk__in=extra).update(role="consultant")


class Migration(migrations.Migration):

    dependencies = [
        ('engagements', '0002_client_sharing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(keep_the_first_lead, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(condition=models.Q(('role', 'lead')), fields=('engagement',), name='membership_one_lead_per_engagement', violation_error_message='An engagement has one lead; hand the role over instead.'),
        ),
    ]
