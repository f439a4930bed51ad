-- wrk script for the HTTP smoke test of `cargo xtask test`: every request is a POST of
-- BODY, and every response must be `200` with BODY echoed back. Any other status or body
-- is counted, and `done` prints one line `wrk-check {...}` with the counts, wrk's error
-- counters and the first wrong response, for xtask to assert on.
--
-- Usage: wrk -t1 -cN -dS -s bench/wrk/check.lua URL -- BODY

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   expected = args[1] or ""
   responses = 0
   wrong = 0
   first_wrong = ""
   wrk.method = "POST"
   wrk.body = expected
   wrk.headers["Content-Type"] = "application/octet-stream"
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 or body ~= expected then
      wrong = wrong + 1
      if first_wrong == "" then
         first_wrong = "status " .. status .. ", body " .. string.format("%q", body or "")
      end
   end
end

local function json_string(text)
   return '"' .. text:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function done(summary, latency, requests)
   local total, total_wrong, example = 0, 0, ""
   for _, thread in ipairs(threads) do
      total = total + thread:get("responses")
      total_wrong = total_wrong + thread:get("wrong")
      if example == "" then
         example = thread:get("first_wrong")
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'wrk-check {"requests":%d,"responses":%d,"wrong":%d,"first_wrong":%s,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"status_errors":%d}\n',
      summary.requests, total, total_wrong, json_string(example),
      errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
