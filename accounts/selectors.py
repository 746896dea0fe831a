"""Reads of accounts."""

from django.db import connection

from accounts.models import User
from bookit.db.replicas import read_connection

# Every column of a user, in the model's order: what User.objects.get(pk=...) would read.
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_USER_BY_ID = "SELECT {} FROM accounts_user WHERE id = %s".format(  # noqa: S608 (column names from the model)
    ", ".join(connection.ops.quote_name(field.column) for field in User._meta.concrete_fields)
)


def user_by_id(pk: int) -> User | None:
    """The user with this id, or None: every authenticated request asks, so one fixed query, no ORM to build it."""
    with read_connection(User).cursor() as cursor:
        cursor.execute(_USER_BY_ID, [pk])
        row = cursor.fetchone()
    return None if row is None else User.from_db(connection.alias, _USER_FIELDS, row)


def user_has_calendar_feed(user: User) -> bool:
    """Whether ``user`` has a calendar feed (``GET /me``).

    The feed is the bookings app's, above this one: read by its relation name
    (``calendar_feed``), without importing it. From the primary, as every
    read of accounts is: a feed just ended is gone at once.
    """
    return User.objects.filter(pk=user.pk, calendar_feed__isnull=False).exists()
