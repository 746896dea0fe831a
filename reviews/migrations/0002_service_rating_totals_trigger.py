from django.db import migrations

# catalog_service.review_count and rating_sum follow every insert, delete and
# rating change of a review, in the same transaction, whatever wrote it (the
# API, the admin, seed_demo's bulk inserts).
FORWARD = [
    """
    CREATE FUNCTION reviews_keep_service_rating_totals() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE catalog_service
               SET review_count = review_count - 1, rating_sum = rating_sum - OLD.rating
             WHERE id = OLD.service_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE catalog_service
               SET review_count = review_count + 1, rating_sum = rating_sum + NEW.rating
             WHERE id = NEW.service_id;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER reviews_service_rating_totals
    AFTER INSERT OR DELETE OR UPDATE OF rating, service_id ON reviews_review
    FOR EACH ROW EXECUTE FUNCTION reviews_keep_service_rating_totals()
    """,
    # The reviews written before this migration.
    """
    UPDATE catalog_service AS s
       SET review_count = totals.count, rating_sum = totals.sum
      FROM (SELECT service_id, count(*) AS count, sum(rating) AS sum FROM reviews_review GROUP BY service_id) AS totals
     WHERE s.id = totals.service_id
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS reviews_service_rating_totals ON reviews_review",
    "DROP FUNCTION IF EXISTS reviews_keep_service_rating_totals()",
    "UPDATE catalog_service SET review_count = 0, rating_sum = 0",
]


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("catalog", "0002_service_rating_totals"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
