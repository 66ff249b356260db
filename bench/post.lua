-- wrk script: POST /api/execute with a small DolphinDB-shaped JSON body.
-- BENCH_CONNECTION_CLOSE=1 adds "Connection: close": the proxy answers and
-- closes, and wrk opens a new connection for every request.
-- done() prints one machine-readable line that bench/run.sh collects.
wrk.method = "POST"
wrk.path = "/api/execute"
wrk.body = '{"script":"select count(*) from loadTable(\\"dfs://bench\\", \\"t\\")"}'
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_CONNECTION_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
