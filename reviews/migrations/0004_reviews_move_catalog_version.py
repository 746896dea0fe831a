from django.db import migrations

# A service's review list is kept under the catalog's version (catalog migration 0004) like
# the service list: every change to what it shows moves the version at the change's commit.
# The ratings trigger already touches catalog_service for rating changes; a comment edit
# does not, nor does a reviewer's new name, so both move it here.
FORWARD = [
    """
    CREATE CONSTRAINT TRIGGER reviews_review_bumps_catalog_version
    AFTER INSERT OR UPDATE OR DELETE ON reviews_review DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_bump_version()
    """,
    """
    CREATE TRIGGER reviews_review_truncate_bumps_catalog_version
    AFTER TRUNCATE ON reviews_review FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()
    """,
    """
    CREATE CONSTRAINT TRIGGER accounts_user_name_bumps_catalog_version
    AFTER UPDATE OF full_name ON accounts_user DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name)
    EXECUTE FUNCTION catalog_bump_version()
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_user_name_bumps_catalog_version ON accounts_user",
    "DROP TRIGGER IF EXISTS reviews_review_truncate_bumps_catalog_version ON reviews_review",
    "DROP TRIGGER IF EXISTS reviews_review_bumps_catalog_version ON reviews_review",
]


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0003_review_belongs_to_booking_and_service"),
        ("catalog", "0004_catalog_version"),
        ("accounts", "0003_revoke_refresh_tokens_trigger"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
