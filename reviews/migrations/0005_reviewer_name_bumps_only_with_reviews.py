from django.db import migrations

# A user's new name moved the catalog's version (migration 0004) whether or not the name
# is shown anywhere: any account could empty every worker's kept answers by renaming itself
# in a loop. The name shows only beside the user's reviews, so the rename moves the version
# only when the user has one. The check runs at commit, with the bump (a deferred
# constraint trigger, as every bump); the UPDATE is catalog_bump_version()'s (catalog 0004).
#
# The check cannot see a first review committing in the instant between it and the
# rename's commit: that review would move the version, be read with the old name, and the
# rename would then commit without a bump, leaving the old name kept. So a review takes a
# share lock on its reviewer's row as it is written: a rename in flight (which holds the
# row) is committed before the review can be, and a rename that comes after the review
# waits for the review's commit and then sees it. Under READ COMMITTED, Django's default.
FORWARD = [
    "DROP TRIGGER accounts_user_name_bumps_catalog_version ON accounts_user",
    """
    CREATE FUNCTION reviews_reviewer_name_bumps_catalog_version() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM reviews_review WHERE user_id = NEW.id) THEN
            UPDATE catalog_version SET version = nextval('catalog_version_seq')
            WHERE xmin <> pg_current_xact_id()::xid;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER accounts_user_name_bumps_catalog_version
    AFTER UPDATE OF full_name ON accounts_user DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name)
    EXECUTE FUNCTION reviews_reviewer_name_bumps_catalog_version()
    """,
    """
    CREATE FUNCTION reviews_review_locks_reviewer() RETURNS trigger AS $$
    BEGIN
        PERFORM 1 FROM accounts_user WHERE id = NEW.user_id FOR SHARE;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER reviews_review_locks_reviewer
    BEFORE INSERT OR UPDATE OF user_id ON reviews_review
    FOR EACH ROW EXECUTE FUNCTION reviews_review_locks_reviewer()
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS reviews_review_locks_reviewer ON reviews_review",
    "DROP FUNCTION IF EXISTS reviews_review_locks_reviewer()",
    "DROP TRIGGER IF EXISTS accounts_user_name_bumps_catalog_version ON accounts_user",
    "DROP FUNCTION IF EXISTS reviews_reviewer_name_bumps_catalog_version()",
    """
    CREATE CONSTRAINT TRIGGER accounts_user_name_bumps_catalog_version
    AFTER UPDATE OF full_name ON accounts_user DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name)
    EXECUTE FUNCTION catalog_bump_version()
    """,
]


class Migration(migrations.Migration):
    dependencies = [("reviews", "0004_reviews_move_catalog_version")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
