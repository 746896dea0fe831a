from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        """Emails are case-insensitive logins: stored lower-cased, trimmed."""
        return (email or "").strip().lower()

    def get_by_natural_key(self, email):
        # Emails are stored normalised, so an exact match uses the unique index.
        return self.get(email=self.normalize_email(email))

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who books. ``is_staff`` is the single source of the API role."""

    ROLE_ADMIN = "admin"
    ROLE_USER = "user"

    email = models.EmailField("email address", max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Staff use the admin and are admins in the API."
    )
    date_joined = models.DateTimeField(default=timezone.now, editable=False)
    email_notifications = models.BooleanField(
        default=True,
        help_text="Reminders and mail about others' changes; confirmations of the user's own actions always go.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique", violation_error_message="This email is taken."
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def role(self) -> str:
        return self.ROLE_ADMIN if self.is_staff else self.ROLE_USER

    def clean(self):
        super().clean()
        self.email = User.objects.normalize_email(self.email)


class IdempotencyKey(models.Model):
    """The answer to a write sent with an ``Idempotency-Key``, replayed to a retry (see accounts/idempotency.py).

    Written in the same transaction as the change it guards: a key never exists
    without its change, nor a change without its key.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField(help_text="The JSON answered, byte for byte.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="accounts_idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="accounts_idempotency_age_idx")]

    def __str__(self):
        return f"{self.key} ({self.status_code})"
