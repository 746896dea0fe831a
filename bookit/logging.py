"""JSON log lines: one object per line on stdout, for BookIt, Django and gunicorn alike.

    {"time": "2026-11-01T09:30:00.123Z", "level": "INFO", "logger": "bookit.access",
     "message": "GET /services 200", "request_id": "4f0c...", "method": "GET", "path": "/services",
     "status": 200, "duration_ms": 3.1, "user_id": 7}

Every line written while a request is being handled carries its ``request_id``
(set by ``bookit.middleware.RequestLogMiddleware``), so an error's traceback can
be found from the request id a client reports. Only stdlib imports: gunicorn's
master process loads this module before Django is configured.

A calendar feed's URL (``/calendar/<token>.ics``) is its only key, so no line
shows the token: ``redact_paths`` writes ``/calendar/<redacted>.ics``. The
access line redacts its path where it is made, and the formatter scrubs every
line it writes (Django's "Internal Server Error: /calendar/...", gunicorn's
"Error handling request /calendar/...", a traceback naming the path).
"""

import contextvars
import json
import logging
import re
import time

# The id of the request this thread is handling, or None outside a request.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# What no JSON line shows, so not collected for every record: the caller's frame, thread and
# process names (the "Optimization" knobs of the logging HOWTO). Every request writes a line.
logging._srcfile = None
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_JSON_SCALARS = (str, int, float, bool, type(None))

# The segment after "calendar/" (bookings/urls.py: the feed's token), up to the end of the path or of the
# quoted string it stands in ('path': 'calendar/...' in a Resolver404's text, "..." in a JSON line).
# Case-sensitive, as the route is: the URL handed out is lowercase.
_FEED_TOKEN = re.compile(r"\bcalendar/[^/?#\s\"'\\]+")
REDACTED_FEED = "calendar/<redacted>.ics"


def redact_paths(text: str) -> str:
    """``text`` with every calendar feed token replaced: ``/calendar/<redacted>.ics``."""
    if "calendar/" not in text:  # nearly every line: a substring search, no regex
        return text
    return _FEED_TOKEN.sub(REDACTED_FEED, text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with its scalar ``extra`` fields.

    Objects passed as extras (Django puts the whole ``request`` there) are left
    out: they are not JSON, and a request carries headers with tokens. It runs
    for every request's access line, so the time's text is made once a second.
    """

    _second, _stamp = -1, ""  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line = {
            "time": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := request_id_var.get()) is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and isinstance(value, _JSON_SCALARS):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # After encoding: the redaction has no quote or backslash to escape, and covers every field at once.
        return redact_paths(json.dumps(line, default=str))


class RedactFeedTokens(logging.Filter):
    """Redacts feed tokens in a record's message, for loggers whose lines another formatter writes.

    gunicorn's access logger is off (``gunicorn.conf.py``: BookIt writes the
    access line); should it ever be switched on, with gunicorn's own format, its
    request line and path still show no token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "calendar/" in message:
            record.msg, record.args = redact_paths(message), None
        return True


class DropResponseEchoes(logging.Filter):
    """Drops Django's "Not Found: /x" / "Internal Server Error: /x" lines that only repeat a status.

    ``RequestLogMiddleware`` already writes one access line per request, and the
    API's exception handler logs unhandled errors with their traceback; Django
    would log each of those responses a second time (``django.request``, and
    ``django.server`` under runserver). Records with a traceback (an exception
    that escaped a non-API view) are kept: that is their only log line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (hasattr(record, "status_code") and not record.exc_info)


class JobArguments(logging.Filter):
    """Keeps jobs' arguments out of the queue's lines: ``booking_event[12]`` instead of its call with every argument.

    Procrastinate writes each job's call (``send_booking_mail[7](booking={...})``)
    into its messages; the arguments hold bookings' notes, and nothing personal is
    logged. The job id leads to the row in ``procrastinate_jobs`` when needed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        job = getattr(record, "job", None)
        if isinstance(job, dict) and job.get("call_string"):
            short = f"{job.get('task_name')}[{job.get('id')}]"
            record.msg = record.getMessage().replace(job["call_string"], short)
            record.args = None
            del record.job
        return True
