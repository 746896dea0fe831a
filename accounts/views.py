from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenViewBase

from accounts import selectors, serializers, services
from accounts.models import User
from bookit.api import throttling
from bookit.domain_errors import DomainError

AUTH_TAG = ["auth"]


class RegisterView(GenericAPIView):
    """Create an ordinary user account. Django's password rules apply."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [throttling.RegisterThrottle]
    serializer_class = serializers.RegisterSerializer

    @extend_schema(responses={201: serializers.UserSerializer}, tags=AUTH_TAG, auth=[])
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(serializers.user_json(user), status=status.HTTP_201_CREATED)


class LoginView(TokenViewBase):
    """Exchange email and password for an access and a refresh token.

    Every attempt counts against the per-IP ``login`` rate; a wrong password
    also against the limits on failed password checks (``PasswordGuesses``).
    """

    serializer_class = serializers.LoginSerializer
    authentication_classes: list = []
    throttle_classes = [throttling.LoginThrottle]

    @extend_schema(tags=AUTH_TAG, auth=[])
    def post(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        with throttling.PasswordGuesses(request, email=data.validated_data["email"]) as guesses:
            try:
                pair = services.token_obtain(**data.validated_data)
            except AuthenticationFailed:
                guesses.fail()
                raise
        return Response(serializers.login_json(pair))


class RefreshView(TokenViewBase):
    """Trade a refresh token for a new pair; the old refresh token stops working."""

    serializer_class = serializers.RefreshSerializer
    authentication_classes: list = []

    @extend_schema(responses={200: serializers.RefreshResponseSerializer}, tags=AUTH_TAG, auth=[])
    def post(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(GenericAPIView):
    """Revoke a refresh token of the calling user."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.LogoutSerializer

    @extend_schema(responses={204: None}, tags=AUTH_TAG)
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(user=request.user, refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _me_json(user: User) -> dict:
    return serializers.me_json(user, calendar_feed=selectors.user_has_calendar_feed(user))


class MeView(GenericAPIView):
    """The caller's profile, and whether they have a calendar feed. `role`, `is_staff` and `id` are not writable."""

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.MeSerializer

    @extend_schema(tags=["me"])
    def get(self, request):
        return Response(_me_json(request.user))

    @extend_schema(request=serializers.MeUpdateSerializer, responses={200: serializers.MeSerializer}, tags=["me"])
    def patch(self, request):
        """A new email counts like a registration (both answer whether an email is taken); a wrong
        ``current_password`` counts like a failed login, so an access token is no password oracle."""
        data = serializers.MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes, user = data.validated_data, request.user
        if changes.get("email") is not None and User.objects.normalize_email(changes["email"]) != user.email:
            throttling.enforce(throttling.RegisterThrottle(), request, self)
        if changes.get("current_password") is None:
            return Response(_me_json(services.user_update(user=user, **changes)))
        with throttling.PasswordGuesses(request, email=user.email) as guesses:
            try:
                user = services.user_update(user=user, **changes)
            except DomainError as exc:
                if exc.code == "wrong_password":
                    guesses.fail()
                raise
        return Response(_me_json(user))
