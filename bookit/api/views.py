from django.db import connection
from django.db.utils import DatabaseError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from bookit.db import replicas

QueueSerializer = inline_serializer(
    "QueueHealth",
    required=False,
    help_text="Absent when the database does not answer.",
    fields={
        "waiting": serializers.IntegerField(help_text="Jobs due and not yet taken by a worker."),
        "oldest_waiting_seconds": serializers.FloatField(
            allow_null=True, help_text="How long the oldest of them has been due; null when none waits."
        ),
    },
)
HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "database": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "queue": QueueSerializer,
        "replicas": serializers.DictField(
            child=inline_serializer(
                "ReplicaHealth",
                {
                    "lag_seconds": serializers.FloatField(
                        allow_null=True, help_text="seconds behind the primary; null when unknown or unreachable"
                    ),
                    "serving": serializers.BooleanField(
                        help_text="whether it serves reads: reachable and at most REPLICA_MAX_LAG_SECONDS behind"
                    ),
                },
            ),
            required=False,
            help_text="with DATABASE_REPLICA_URLS only: each replica (replica1, ...) as this worker saw it "
            "at most a second ago",
        ),
    },
)

# Jobs due now and waiting for a worker (a reminder scheduled for later is not waiting), and since
# when the oldest has been due: when it was scheduled for, else when it was deferred.
QUEUE_WAITING = """
SELECT count(*), extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at)))::float8
FROM procrastinate_jobs j
LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' AND j.scheduled_at IS NULL
WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
"""


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[], tags=["health"])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])  # probes from load balancers and Docker must never be throttled
def health(request):
    """Liveness, database reachability and the job queue: 200 when the database answers, 503 otherwise.

    ``queue`` shows the jobs waiting for a worker, so monitoring sees a stopped
    or stuck worker (the count and the age grow) while the API itself is fine.
    With read replicas, each one's lag and whether it serves reads; a lagging or
    unreachable replica does not make the instance unhealthy (its reads go to the primary).
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(QUEUE_WAITING)
            waiting, oldest = cursor.fetchone()
    except DatabaseError:
        return Response({"status": "unavailable", "database": "unavailable"}, status=503)
    queue = {"waiting": waiting, "oldest_waiting_seconds": None if oldest is None else round(max(oldest, 0.0), 1)}
    body = {"status": "ok", "database": "ok", "queue": queue}
    if replicas.replicas():
        body["replicas"] = replicas.replica_report()
    return Response(body)


@extend_schema(exclude=True)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def index(request):
    """A map for people who open the root URL."""
    return Response(
        {
            "name": "BookIt API",
            "docs": request.build_absolute_uri("/docs"),
            "redoc": request.build_absolute_uri("/redoc"),
            "schema": request.build_absolute_uri("/openapi.json"),
            "admin": request.build_absolute_uri("/admin/"),
        }
    )


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    """Unknown paths get the JSON 404 in debug mode too (Django's handler404 only runs with DEBUG off)."""
    raise NotFound(f"No endpoint at {request.path}.")
