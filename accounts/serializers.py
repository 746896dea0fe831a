from django.conf import settings
from rest_framework import serializers

from accounts.models import User
from accounts.selectors import user_has_calendar_feed
from bookit.api.fields import datetime_json
from bookit.api.serializers import InputSerializer


class UserSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=[User.ROLE_ADMIN, User.ROLE_USER], read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "date_joined", "email_notifications"]
        read_only_fields = fields


def user_json(user: User) -> dict:
    """``UserSerializer``'s output, without building a ModelSerializer's fields on every request (a test compares)."""
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "date_joined": datetime_json(user.date_joined),
        "email_notifications": user.email_notifications,
    }


class MeSerializer(UserSerializer):
    """The caller's own profile: the user, and whether they have a calendar feed."""

    calendar_feed = serializers.SerializerMethodField(
        help_text="Whether you have a calendar feed (`POST /me/calendar-token`; `DELETE` ends it). "
        "A new password or a deactivation ends it."
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "calendar_feed"]
        read_only_fields = fields

    def get_calendar_feed(self, user: User) -> bool:
        return user_has_calendar_feed(user)


def me_json(user: User, *, calendar_feed: bool) -> dict:
    """``MeSerializer``'s output, as ``user_json`` is ``UserSerializer``'s (a test compares)."""
    return {**user_json(user), "calendar_feed": calendar_feed}


class RegisterSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150, allow_blank=True, default="")


class MeUpdateSerializer(InputSerializer):
    """Only these fields can change; anything else in the body (role, is_staff, id) is ignored."""

    email = serializers.EmailField(max_length=254, required=False)
    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    email_notifications = serializers.BooleanField(
        required=False, help_text="false: no reminders, no mail about others' changes (your own actions still mail)."
    )
    password = serializers.CharField(write_only=True, max_length=128, required=False)
    current_password = serializers.CharField(write_only=True, max_length=128, required=False)


class LoginSerializer(serializers.Serializer):
    """simplejwt's pair, plus the token type and the access token's lifetime in seconds."""

    email = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    token_type = serializers.CharField(read_only=True)
    expires_in = serializers.IntegerField(read_only=True)
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


def login_json(pair: dict[str, str]) -> dict:
    """The login's answer: the token pair of ``accounts.services.token_obtain``, its type and lifetime."""
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return {**pair, "token_type": "Bearer", "expires_in": int(lifetime.total_seconds())}


class RefreshSerializer(InputSerializer):
    """A refresh token to trade for a new pair; it works once."""

    refresh = serializers.CharField(write_only=True)


class RefreshResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutSerializer(InputSerializer):
    refresh = serializers.CharField()
