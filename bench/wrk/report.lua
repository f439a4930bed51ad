-- wrk script for `cargo xtask bench http`: after wrk's own report, prints one line
-- `wrk-json {...}` with what the text report leaves out (p99.9, every error counter).
-- Latencies are in microseconds, as wrk records them (wrk's SCRIPTING, "done").
--
-- Usage: wrk -t1 -cN -dS --latency -s bench/wrk/report.lua URL

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'wrk-json {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"status_errors":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.2f}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.timeout, errors.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end
