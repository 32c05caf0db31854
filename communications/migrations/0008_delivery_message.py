import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communications', '0007_notifications_leave_communications'),
        ('notifications', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='outbox_message',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='delivery', to='notifications.outboxmessage'),
        ),
    ]
