"""What notifications cost the write path, and how fast a worker delivers (``make bench``'s last part).

1. ``POST /bookings`` (201, one service) through wrk, as the main table's
   scenario, four ways in one run: the history's notification trigger
   disabled (the write path before notifications: the denominator); enabled
   with no endpoint; enabled with two webhook endpoints and mail on (SMTP to a
   local aiosmtpd), no worker running (the write path's own cost: the job
   rows); and the same with one worker delivering meanwhile (what a 2-core
   machine shares between the API and the worker). Target: the third at least
   0.9 of the first.
2. Delivery runs: 1,000 bookings (100 with ``--smoke``) posted by 4 client
   threads with one worker running, paced at 25 a second in all, then as fast
   as the clients can (a burst, which measures the worker's capacity: beyond
   it, jobs wait their turn); every ``booking.created`` webhook must reach the
   receiver (an HTTP server in this process). Latency is from the booking's 201
   (its commit is just before) to the webhook's arrival. Targets: p50 < 1 s,
   p99 < 5 s.
"""

import http.client
import json
import statistics
import threading
import time
from datetime import timedelta

from benchmarks import load, scenarios
from benchmarks.scenarios import FAR_FUTURE, Result
from bookit.testing.jobs import HttpReceiver, QueueWorker, SmtpServer

TRIGGER = "notifications_booking_event_jobs"
DELIVERY_CLIENTS = 4
PACED_RATE = 25  # bookings a second: a busy booking site's peak, well below one worker's capacity
DELIVERY_FROM = FAR_FUTURE + timedelta(days=365 * 60)  # an era of its own, cleaned up with the others


def _trigger(enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE bookings_bookingevent {'ENABLE' if enabled else 'DISABLE'} TRIGGER {TRIGGER}")


def _clear_queue() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status <> 'doing'")


def _endpoints(receiver: HttpReceiver, count: int) -> None:
    from notifications.models import WebhookEndpoint

    WebhookEndpoint.objects.all().delete()
    for n in range(count):  # created directly: the benchmark's receiver is on loopback
        WebhookEndpoint.objects.create(url=f"{receiver.url}?n={n}", description="benchmark")


def run(args, data, start_server, log_path) -> dict:
    """The four POST runs and the delivery run; returns their figures (and prints them)."""
    post = next(s for s in scenarios.SCENARIOS if s.name == scenarios.POST_201)
    results: dict[str, Result] = {}
    with SmtpServer() as smtp, HttpReceiver() as receiver:
        worker_env = {  # over this process's environment: the benchmark's database and settings
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.controller.port}",
            "WEBHOOK_ALLOW_PRIVATE": "true",
        }
        worker_log = log_path.with_name(log_path.name.replace("gunicorn-", "worker-"))
        server = start_server({"EMAIL_URL": worker_env["EMAIL_URL"], "WEBHOOK_ALLOW_PRIVATE": "true"})
        try:
            runs = [
                ("notifications off (trigger disabled)", False, 0, False),
                ("notifications on, no endpoint", True, 0, False),
                ("2 webhook endpoints + mail, no worker", True, 2, False),
                ("2 webhook endpoints + mail, 1 worker running", True, 2, True),
            ]
            for name, enabled, endpoints, with_worker in runs:
                _trigger(enabled)
                _endpoints(receiver, endpoints)
                _clear_queue()
                worker = QueueWorker(worker_env, log_path=worker_log).start() if with_worker else None
                try:
                    result = load.wrk_scenario(args, server, post, data)
                finally:
                    if worker:
                        worker.stop()
                result.scenario = f"POST /bookings, {name}"
                results[name] = result
                print(f"  {result.scenario:<66} {result.rps:>7.0f} req/s  p99 {result.p99_ms:6.1f} ms", flush=True)
            _trigger(True)
            _clear_queue()
            count = 100 if args.smoke else 1000
            delivery = _delivery_run(server, data, receiver, worker_env, worker_log, count, rate=PACED_RATE)
            _clear_queue()
            burst = _delivery_run(server, data, receiver, worker_env, worker_log, count, rate=None, era=1)
        finally:
            _trigger(True)
            server.stop()
            _endpoints(receiver, 0)
            _clear_queue()
            scenarios.delete_benchmark_rows()
            scenarios.keep_conflict_slot(data)
    base = results["notifications off (trigger disabled)"].rps
    for result in results.values():
        result.ratio = {"notifications off": result.rps / base}
    share = results["2 webhook endpoints + mail, no worker"].rps / base
    print(f"  POST share with 2 endpoints + mail (no worker) / notifications off: {share:.2f} (target >= 0.9)")
    for name, run_ in (("paced", delivery), ("burst", burst)):
        print(
            f"  delivery run ({name}, {run_['posted_per_s']:.0f} bookings/s posted): {run_['delivered']}/"
            f"{run_['bookings']} webhooks delivered in {run_['seconds']:.1f} s; commit-to-delivery p50 "
            f"{run_['p50_s']:.2f} s, p99 {run_['p99_s']:.2f} s (targets: all delivered, p50 < 1 s, p99 < 5 s)",
            flush=True,
        )
    return {"post": results, "share": share, "delivery": delivery, "burst": burst}


def _delivery_run(
    server, data, receiver: HttpReceiver, worker_env: dict, log_path, bookings: int, *, rate: float | None, era=0
) -> dict:
    """``bookings`` by 4 clients (at ``rate`` a second in all, or as fast as they can), one worker
    delivering; when each 201 came and when its webhook arrived."""
    _endpoints(receiver, 1)
    receiver.received.clear()
    arrived: dict[int, float] = {}

    def record(request) -> None:  # the receiver thread's arrival time of each booking.created
        body = json.loads(request.body)
        if body["type"] == "booking.created":
            arrived[body["data"]["id"]] = time.monotonic()

    receiver.on_receive = record
    committed: dict[int, float] = {}
    lock = threading.Lock()
    token = data.tokens["user"]

    began = time.monotonic()

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for n in range(offset, bookings, DELIVERY_CLIENTS):
            if rate:
                time.sleep(max(0.0, began + n / rate - time.monotonic()))
            start = DELIVERY_FROM + timedelta(days=365 * 20 * era) + n * scenarios.SLOT_STEP
            body = json.dumps({"service_id": data.service_id, "start_time": scenarios.iso(start)})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            connection.request("POST", "/bookings", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status == 201:
                with lock:
                    committed[answer["id"]] = time.monotonic()
        connection.close()

    with QueueWorker(worker_env, log_path=log_path):
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(DELIVERY_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        posting = time.monotonic() - began
        deadline = time.monotonic() + 120
        while len(arrived.keys() & committed.keys()) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.1)
        seconds = time.monotonic() - started
    latencies = sorted(arrived[i] - committed[i] for i in committed if i in arrived)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {
        "bookings": len(committed),
        "posted_per_s": len(committed) / posting,
        "delivered": len(latencies),
        "seconds": seconds,
        "p50_s": cuts[49],
        "p99_s": cuts[98],
        "max_s": latencies[-1] if latencies else float("nan"),
    }
