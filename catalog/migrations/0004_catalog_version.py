from django.db import migrations

# catalog_version.version changes in the transaction of every change to what the catalog
# shows (services with their policies and rating totals, working hours, exceptions),
# whatever made it: the services, the admin, the reviews' rating trigger, raw SQL. Cached
# answers are keyed by it, so a change is seen by every reader once it commits, never
# before and never later. Each value comes from a sequence, so a version that a rolled-back
# transaction took is never taken again.
#
# The bump runs at commit (a deferred constraint trigger), not where the change happens: the
# version's one row is then the last lock any transaction takes, so two transactions that
# lock catalog rows in different orders (an edit and a delete of one service) can never
# deadlock through it. Once per transaction: later bumps find the row already theirs (xmin).
# TRUNCATE (no constraint trigger exists for it) bumps at once.
TABLES = ["catalog_service", "catalog_workinghours", "catalog_scheduleexception"]
FORWARD = [
    "CREATE SEQUENCE catalog_version_seq",
    "CREATE TABLE catalog_version (version bigint NOT NULL)",
    "INSERT INTO catalog_version VALUES (nextval('catalog_version_seq'))",
    """
    CREATE FUNCTION catalog_bump_version() RETURNS trigger AS $$
    BEGIN
        UPDATE catalog_version SET version = nextval('catalog_version_seq') WHERE xmin <> pg_current_xact_id()::xid;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    *(
        f"""
        CREATE CONSTRAINT TRIGGER {table}_bumps_catalog_version
        AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION catalog_bump_version()
        """
        for table in TABLES
    ),
    *(
        f"""
        CREATE TRIGGER {table}_truncate_bumps_catalog_version
        AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()
        """
        for table in TABLES
    ),
]
REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {table}_bumps_catalog_version ON {table}" for table in TABLES),
    *(f"DROP TRIGGER IF EXISTS {table}_truncate_bumps_catalog_version ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS catalog_bump_version()",
    "DROP TABLE IF EXISTS catalog_version",
    "DROP SEQUENCE IF EXISTS catalog_version_seq",
]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_booking_policy")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
