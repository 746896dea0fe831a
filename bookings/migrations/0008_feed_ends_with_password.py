from django.db import migrations

# A new password or a deactivation ends the user's calendar feed, in the trigger that
# already revokes the user's refresh tokens (accounts/migrations/0003_*): the same
# condition (a new password hash, or is_active turning false), the same transaction,
# whatever wrote the row. Without it, whoever held an access token for its fifteen
# minutes could mint a feed and read every booking and note for ever. The feed is this
# app's table and bookings sits above accounts, so the function is replaced from here;
# its name stays (0003's trigger and reverse SQL name it). A reactivation revives nothing.
ENDS_FEEDS = """
CREATE OR REPLACE FUNCTION accounts_revoke_refresh_tokens() RETURNS trigger AS $$
BEGIN
    INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at)
    SELECT id, now() FROM token_blacklist_outstandingtoken
     WHERE user_id = NEW.id AND expires_at > now()
    ON CONFLICT (token_id) DO NOTHING;
    DELETE FROM bookings_calendarfeed WHERE user_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

# accounts/migrations/0003_*'s function, exactly.
REVOKES_TOKENS_ONLY = """
CREATE OR REPLACE FUNCTION accounts_revoke_refresh_tokens() RETURNS trigger AS $$
BEGIN
    INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at)
    SELECT id, now() FROM token_blacklist_outstandingtoken
     WHERE user_id = NEW.id AND expires_at > now()
    ON CONFLICT (token_id) DO NOTHING;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0007_user_period_gist"),
        # Unapplying accounts' trigger unapplies this first, so it drops the function it made.
        ("accounts", "0003_revoke_refresh_tokens_trigger"),
    ]

    operations = [
        migrations.RunSQL(ENDS_FEEDS, REVOKES_TOKENS_ONLY),
        # Feeds of users deactivated before the trigger ended feeds: already 404 (the feed reads only
        # active users'), but a reactivation would revive them. Nothing to restore going back.
        migrations.RunSQL(
            "DELETE FROM bookings_calendarfeed WHERE user_id IN (SELECT id FROM accounts_user WHERE NOT is_active)",
            migrations.RunSQL.noop,
        ),
    ]
