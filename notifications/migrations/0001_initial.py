
import datetime
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('engagements', '0001_initial'),
        ('communications', '0007_notifications_leave_communications'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Notification and NotificationPreference existed in communications with
    # their rows: their tables are renamed, not created, so nothing is lost.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE communications_notification RENAME TO notifications_notification',
                    'ALTER TABLE notifications_notification RENAME TO communications_notification',
                ),
                migrations.RunSQL(
                    'ALTER TABLE communications_notificationpreference RENAME TO notifications_notificationpreference',
                    'ALTER TABLE notifications_notificationpreference RENAME TO communications_notificationpreference',
                ),
            ],
            state_operations=[
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event', models.CharField(choices=[('check_in_reminder', 'A planned check-in of mine is coming up'), ('check_in_missed', 'A planned check-in of mine was missed'), ('follow_up_overdue', 'A follow-up I answer for went overdue'), ('follow_up_escalated', 'A follow-up was escalated to me'), ('sponsor_silent', 'A sponsor or PMO lead I own has gone quiet')], max_length=30)),
                ('key', models.CharField(max_length=100)),
                ('message', models.CharField(max_length=500)),
                ('url', models.CharField(blank=True, max_length=500)),
                ('in_app', models.BooleanField(default=True)),
                ('email', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField()),
                ('read_at', models.DateTimeField(blank=True, null=True)),
                ('engagement', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='engagements.engagement')),
                ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(fields=['recipient', '-created_at'], name='notification_recipient_time'), models.Index(condition=models.Q(('read_at__isnull', True)), fields=['recipient'], name='notification_unread')],
                'constraints': [models.UniqueConstraint(fields=('recipient', 'event', 'key'), name='notification_once_per_event')],
            },
        ),
        migrations.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reminder_lead', models.CharField(choices=[('1h', 'One hour before'), ('4h', 'Four hours before'), ('1wd', 'One working day before'), ('2wd', 'Two working days before')], default='1wd', max_length=3)),
                ('digest_time', models.TimeField(default=datetime.time(8, 0), help_text='When the daily digest arrives, in your time zone.')),
                ('quiet_hours_start', models.TimeField(blank=True, null=True)),
                ('quiet_hours_end', models.TimeField(blank=True, null=True)),
                ('email_on_weekends', models.BooleanField(default=False)),
                ('check_in_reminder_in_app', models.BooleanField(default=True)),
                ('check_in_reminder_email', models.BooleanField(default=True)),
                ('check_in_missed_in_app', models.BooleanField(default=True)),
                ('check_in_missed_email', models.BooleanField(default=True)),
                ('follow_up_overdue_in_app', models.BooleanField(default=True)),
                ('follow_up_overdue_email', models.BooleanField(default=True)),
                ('follow_up_escalated_in_app', models.BooleanField(default=True)),
                ('follow_up_escalated_email', models.BooleanField(default=True)),
                ('sponsor_silent_in_app', models.BooleanField(default=True)),
                ('sponsor_silent_email', models.BooleanField(default=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='notification_preference', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('quiet_hours_end__isnull', True), ('quiet_hours_start__isnull', True)), models.Q(('quiet_hours_end__isnull', False), ('quiet_hours_start__isnull', False)), _connector='OR'), name='preference_quiet_hours_both_or_neither', violation_error_message='Give both ends of the quiet hours, or neither.')],
            },
        ),
            ],
        ),
        migrations.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('check_in_reminder', 'Check-in reminder'), ('overdue_digest', 'Daily digest'), ('escalation', 'Escalation'), ('sponsor_update', 'Sponsor update')], max_length=20)),
                ('transport', models.CharField(choices=[('email', 'Email')], default='email', max_length=10)),
                ('idempotency_key', models.CharField(max_length=200, unique=True)),
                ('to_address', models.CharField(blank=True, max_length=254)),
                ('subject', models.CharField(max_length=998)),
                ('body_text', models.TextField()),
                ('body_html', models.TextField(blank=True)),
                ('headers', models.JSONField(blank=True, default=dict)),
                ('about', models.JSONField(blank=True, default=dict)),
                ('not_before', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Cancelled'), ('expired', 'Expired')], default='pending', max_length=10)),
                ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
                ('engagement', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outbox_messages', to='engagements.engagement')),
                ('recipient', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outbox_messages', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'outbound message',
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(condition=models.Q(('status', 'pending')), fields=['not_before'], name='outbox_pending'), models.Index(fields=['recipient', 'kind', '-created_at'], name='outbox_recipient_kind')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('status', 'sent'), ('sent_at__isnull', False)), models.Q(models.Q(('status', 'sent'), _negated=True), ('sent_at__isnull', True)), _connector='OR'), name='outbox_sent_at_iff_sent')],
            },
        ),
    ]
