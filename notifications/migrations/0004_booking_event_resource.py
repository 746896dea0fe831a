"""The booking snapshot of a ``booking_event`` job names its resource too (issue 20: mails and webhooks show it).

The same trigger function as 0002's, with ``resource_name`` beside the
service's name and zone (``to_jsonb`` of the row already carries
``resource_id`` and ``seat``).
"""

import importlib

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION notifications_defer_booking_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
            SELECT to_jsonb(b) || jsonb_build_object(
                'service_name', s.name, 'service_timezone', s.timezone, 'resource_name', r.name
            )
            FROM bookings_booking b
            JOIN catalog_service s ON s.id = b.service_id
            JOIN catalog_resource r ON r.id = b.resource_id
            WHERE b.id = e.booking_id
        )
    )
    FROM new_events e
    ORDER BY e.id;
    RETURN NULL;
END $$;
"""
# Backwards: 0002's function as it was (its text, without the trigger it also creates).
_BEFORE_RESOURCES = importlib.import_module("notifications.migrations.0002_booking_event_jobs").FORWARD
BEFORE = _BEFORE_RESOURCES.split("CREATE TRIGGER")[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_delivery_attempt_once"),
        ("bookings", "0010_resources"),
    ]

    operations = [migrations.RunSQL(FUNCTION, BEFORE)]
