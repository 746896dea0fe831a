from django.db import migrations

# Every refresh token of a user is revoked (blacklisted) when the user's password
# hash changes or the user is deactivated, in the same transaction, whatever
# wrote it: accounts.services, the admin's forms, `manage.py changepassword`,
# set_password() and save() in code, QuerySet.update(), raw SQL. See the
# docstring of accounts.services for why a trigger rather than a Python hook.
FORWARD = [
    """
    CREATE FUNCTION accounts_revoke_refresh_tokens() RETURNS trigger AS $$
    BEGIN
        INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at)
        SELECT id, now() FROM token_blacklist_outstandingtoken
         WHERE user_id = NEW.id AND expires_at > now()
        ON CONFLICT (token_id) DO NOTHING;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER accounts_user_revoke_refresh_tokens
    AFTER UPDATE OF password, is_active ON accounts_user
    FOR EACH ROW
    WHEN (OLD.password IS DISTINCT FROM NEW.password OR (OLD.is_active AND NOT NEW.is_active))
    EXECUTE FUNCTION accounts_revoke_refresh_tokens()
    """,
]
REVERSE = [
    "DROP TRIGGER IF EXISTS accounts_user_revoke_refresh_tokens ON accounts_user",
    "DROP FUNCTION IF EXISTS accounts_revoke_refresh_tokens()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_idempotency_keys"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
