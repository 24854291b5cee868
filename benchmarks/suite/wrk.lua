-- wrk script for benchmarks/run.sh: POSTs the file named by BENCH_BODY (Content-Type BENCH_TYPE)
-- and prints one line "WRKJSON {...}": requests, seconds, latency percentiles (us), 503 answers,
-- other non-2xx answers and socket errors, so that no failure passes for speed; with the first
-- 503's body, so that a refusal says which limit refused it.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*all")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE") or "application/octet-stream"
-- BENCH_HEADER "Name: value", one more header (the Open Inference Protocol's binary extension needs one).
local extra = os.getenv("BENCH_HEADER")
if extra and extra ~= "" then
  local name, value = extra:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unavailable = 0
  failed = 0
  first503 = ""
end

function response(status, headers, body)
  if status == 503 then
    unavailable = unavailable + 1
    if first503 == "" then
      first503 = string.sub(body or "", 1, 300)
    end
  elseif status >= 300 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local n503, other, why = 0, 0, ""
  for _, thread in ipairs(threads) do
    n503 = n503 + thread:get("unavailable")
    other = other + thread:get("failed")
    if why == "" then
      why = thread:get("first503")
    end
  end
  why = string.gsub(why, '[%c"\\]', " ")
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"status_503":%d,"status_other":%d,"socket_errors":%d,"first_503":"%s"}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, n503, other, e.connect + e.read + e.write + e.timeout, why))
end
