from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communications', '0008_delivery_message'),
        # The outbox holds what these columns and rows recorded before they go.
        ('notifications', '0002_outbox_from_reminders_notices_and_deliveries'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='delivery',
            name='delivery_sent_at_iff_sent',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_pending',
        ),
        migrations.RemoveIndex(
            model_name='occurrence',
            name='occurrence_unreminded',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='attempts',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='last_attempt_at',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='last_error',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='message_id',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='sent_at',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='status',
        ),
        migrations.RemoveField(
            model_name='occurrence',
            name='reminder_attempts',
        ),
        migrations.RemoveField(
            model_name='occurrence',
            name='reminder_delivered_at',
        ),
        migrations.RemoveField(
            model_name='occurrence',
            name='reminder_error',
        ),
        migrations.RemoveField(
            model_name='occurrence',
            name='reminder_sent_at',
        ),
        migrations.AddIndex(
            model_name='occurrence',
            index=models.Index(condition=models.Q(('status__in', ['upcoming', 'due'])), fields=['due_at'], name='occurrence_open_due'),
        ),
        migrations.DeleteModel(
            name='FollowUpNotice',
        ),
    ]
