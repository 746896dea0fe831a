"""Every booking history event defers its notification job in the event's own transaction.

A statement-level trigger on ``bookings_bookingevent`` inserts one
``booking_event`` job per new event into procrastinate's queue (at priority
20: ahead of the deliveries and mails it leads to), with the event's own
fields and the booking as it is right after the change (its row as JSON, with
the service's name and zone; null once deleted). Every path that writes
history (the one-statement INSERT of a new booking, the ORM's events, the
maintenance commands' bulk events) therefore defers notifications, with no
extra round trip on the write path; a rolled-back change leaves no job.
Procrastinate's own trigger on its table then NOTIFYs the workers.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION notifications_defer_booking_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args)
    SELECT 'notifications', 'booking_event', 20, jsonb_build_object(
        'event_id', e.id,
        'booking_id', e.booking_id,
        'action', e.action,
        'actor_id', e.actor_id,
        'owner_id', e.owner_id,
        'at', e.at,
        'booking', (
            SELECT to_jsonb(b) || jsonb_build_object('service_name', s.name, 'service_timezone', s.timezone)
            FROM bookings_booking b JOIN catalog_service s ON s.id = b.service_id
            WHERE b.id = e.booking_id
        )
    )
    FROM new_events e
    ORDER BY e.id;
    RETURN NULL;
END $$;
CREATE TRIGGER notifications_booking_event_jobs AFTER INSERT ON bookings_bookingevent
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION notifications_defer_booking_events();
"""

# Jobs due and waiting, counted by /health (its other jobs are reminders due later).
DUE_JOBS_INDEX = (
    "CREATE INDEX notifications_due_jobs ON procrastinate_jobs (scheduled_at) WHERE status = 'todo'",
    "DROP INDEX notifications_due_jobs",
)

REVERSE = """
DROP TRIGGER notifications_booking_event_jobs ON bookings_bookingevent;
DROP FUNCTION notifications_defer_booking_events();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("bookings", "0007_user_period_gist"),
        ("catalog", "0005_notification_preferences"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE), migrations.RunSQL(*DUE_JOBS_INDEX)]
