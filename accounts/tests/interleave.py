"""Two transactions in a chosen order, to prove what a lock decides (tests with ``transaction=True`` only).

``paused_after(target, name, call)`` runs ``call()`` in another thread, on its own
database connection, and holds it inside ``target.name`` (just after the real
one returned) with its transaction still open, until a statement of this thread
waits for one of its locks; then it lets it finish. Whatever this thread does
inside the ``with`` block therefore meets the other call midway. If nothing
waits for it, the other call goes on after ``patience`` seconds and
``blocked_someone`` stays false.
"""

import threading
import time
from contextlib import contextmanager

from django.db import connection

WAITING_FOR_ME = "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"


class Paused:
    def __init__(self):
        self.reached = threading.Event()
        self.blocked_someone = False
        self.result = None
        self.error: BaseException | None = None


@contextmanager
def paused_after(target, name: str, call, *, patience: float = 5.0):
    real, own = getattr(target, name), name in vars(target)
    paused = Paused()

    def pausing(*args, **kwargs):
        value = real(*args, **kwargs)
        if threading.current_thread() is other and not paused.reached.is_set():
            paused.reached.set()
            deadline = time.monotonic() + patience
            with connection.cursor() as cursor:
                while time.monotonic() < deadline and not paused.blocked_someone:
                    cursor.execute(WAITING_FOR_ME)
                    paused.blocked_someone = cursor.fetchone()[0] > 0
                    time.sleep(0.01)
        return value

    def run():
        try:
            paused.result = call()
        except BaseException as exc:  # handed to the test
            paused.error = exc
        finally:
            paused.reached.set()
            connection.close()

    setattr(target, name, pausing)
    other = threading.Thread(target=run)
    try:
        other.start()
        assert paused.reached.wait(30), "the other call never got to the pause"
        yield paused
    finally:
        other.join(30)
        if own:
            setattr(target, name, real)
        else:
            delattr(target, name)
