from django.db import migrations

# A service's review list is kept under the catalog's version (catalog migration 0004) like
# the service list: every change to what it shows moves the version in the change's
# transaction. The ratings trigger already touches catalog_service for rating changes; a
# comment edit does not, nor does a reviewer's new name, so both move it here.
FORWARD = [
    """
    CREATE TRIGGER reviews_review_bumps_catalog_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reviews_review
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()
    """,
    """
    CREATE TRIGGER accounts_user_name_bumps_catalog_version
    AFTER UPDATE OF full_name ON accounts_user
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_user_name_bumps_catalog_version ON accounts_user",
    "DROP TRIGGER IF EXISTS reviews_review_bumps_catalog_version ON reviews_review",
]


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_service_rating_totals_trigger"),
        ("catalog", "0004_catalog_version"),
        ("accounts", "0002_idempotency_keys"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
