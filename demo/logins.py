"""The demo's published logins: for a try-out (`make run`) and the benchmark, never in production."""

DEMO_ADMIN = ("admin@bookit.local", "admin-demo-pass")
DEMO_USER = ("user@bookit.local", "user-demo-pass")
# Generated demo users share DEMO_USER's password.
DEMO_USER_DOMAIN = "demo.bookit.local"
