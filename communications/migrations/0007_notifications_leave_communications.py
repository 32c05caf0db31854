from django.db import migrations


class Migration(migrations.Migration):
    """Notification and NotificationPreference move to the notifications app with their tables.

    Only the migration state forgets them here; notifications.0001 takes the
    tables over by renaming them.
    """

    dependencies = [
        ('communications', '0006_overdue_stamps'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Notification'),
                migrations.DeleteModel(name='NotificationPreference'),
            ],
        ),
    ]
