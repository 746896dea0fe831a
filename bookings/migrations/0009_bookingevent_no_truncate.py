from django.db import migrations

# The events' trigger of 0004 is row level, and TRUNCATE fires no row triggers: one
# statement emptied the history. This one refuses it, with 0004's function (it only
# raises). The owner of the table can still drop the trigger; the app's role should
# hold no TRUNCATE at all (README, Deployment: least privilege).
TRIGGER = "bookings_event_no_truncate"


class Migration(migrations.Migration):
    dependencies = [("bookings", "0008_feed_ends_with_password")]

    operations = [
        migrations.RunSQL(
            f"CREATE TRIGGER {TRIGGER} BEFORE TRUNCATE ON bookings_bookingevent"
            " FOR EACH STATEMENT EXECUTE FUNCTION bookings_event_is_immutable()",
            f"DROP TRIGGER {TRIGGER} ON bookings_bookingevent",
        ),
    ]
