"""The app's database role with the least it needs: what the README's Deployment section shows and a test runs.

Migrations run as the owner of the tables; the app connects as another role
that reads and writes rows and nothing more: no schema changes, and no UPDATE,
DELETE or TRUNCATE of the bookings' history, which is only ever appended to.
The history's triggers refuse those too (``bookings/migrations/0004_*`` and
``0009_*``), but an owner can drop a trigger; a role without the privilege
cannot even try. Triggers run with the privileges of the role whose statement
fires them, and every trigger of BookIt writes only what the app may write
(refresh tokens revoked and the calendar feed ended, a service's rating totals).
"""

# Run in the app's database as its owner (or a superuser); idempotent. Default privileges
# give the app the tables and sequences later migrations create; the history table exists
# already, so its REVOKE holds.
APP_ROLE_GRANTS = """\
GRANT CONNECT ON DATABASE {database} TO {app};
GRANT USAGE ON SCHEMA public TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO {app};
REVOKE UPDATE, DELETE, TRUNCATE ON bookings_bookingevent FROM {app};
"""


def app_role_grants(*, database: str, owner: str, app: str) -> str:
    """``APP_ROLE_GRANTS`` for these names (identifiers, quoted by the caller where they need it)."""
    return APP_ROLE_GRANTS.format(database=database, owner=owner, app=app)


def statements(sql: str) -> list[str]:
    """``sql`` as one statement each (a prepared statement holds only one)."""
    return [statement.strip() for statement in sql.split(";") if statement.strip()]
