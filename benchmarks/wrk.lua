-- wrk script for benchmarks/bench.py: counts responses by status and reports one JSON line.
--
-- Configured through the environment (bench.py sets it):
--   BENCH_SLOT_BASE   unset: wrk sends its fixed request (-H, wrk.method, wrk.body).
--                     set: every request is a POST /bookings for a fresh slot, starting at this
--                     Unix time and BENCH_SLOT_STEP seconds apart, on the services of
--                     BENCH_SERVICE_IDS (comma-separated) in turn; threads interleave (thread k
--                     takes slots k, k + n, k + 2n, ...), so no two requests of a run ask for the
--                     same slot. BENCH_RESOURCE_ID set: each asks for that resource ("resource_id").
--   BENCH_METHOD, BENCH_BODY   method and body of the fixed request (the all-409 POST).
--   BENCH_THREADS     wrk's -t, to interleave the slots.

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

if os.getenv("BENCH_METHOD") then
    wrk.method = os.getenv("BENCH_METHOD")
end
if os.getenv("BENCH_BODY") then
    wrk.body = os.getenv("BENCH_BODY")
    wrk.headers["Content-Type"] = "application/json"
end

function init(args)
    statuses = {}
    sent = 0
end

if os.getenv("BENCH_SLOT_BASE") then
    local base = tonumber(os.getenv("BENCH_SLOT_BASE"))
    local step = tonumber(os.getenv("BENCH_SLOT_STEP"))
    local stride = tonumber(os.getenv("BENCH_THREADS"))
    local services = {}
    for service in string.gmatch(os.getenv("BENCH_SERVICE_IDS"), "%d+") do
        table.insert(services, tonumber(service))
    end
    local resource = os.getenv("BENCH_RESOURCE_ID")
    local extra = resource and string.format(', "resource_id": %d', tonumber(resource)) or ""
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"

    function request()
        local n = sent * stride + id
        local slot = base + n * step
        sent = sent + 1
        local body = string.format(
            '{"service_id": %d, "start_time": "%s"%s}',
            services[n % #services + 1], os.date("!%Y-%m-%dT%H:%M:%SZ", slot), extra
        )
        return wrk.format(nil, nil, nil, body)
    end
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local counts = {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            counts[status] = (counts[status] or 0) + n
        end
    end
    local parts = {}
    for status, n in pairs(counts) do
        table.insert(parts, string.format('"%d": %d', status, n))
    end
    local e = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, '
            .. '"max_us": %d, "socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
            .. '"statuses": {%s}}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
        latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")
    ))
end
