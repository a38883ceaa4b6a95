-- wrk's hooks for the load-balancer benchmark (test/bench/lb-bench.mjs): one machine-readable line
-- with the counts and latency percentiles, so nothing depends on wrk's human-readable layout, and the
-- status codes of error answers (with the first such body) so a failing run says what failed.
-- errors.status counts responses with a status above 399; the others are socket errors.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  first = ''
end

function response(status, headers, body)
  if status > 399 then
    codes[status] = (codes[status] or 0) + 1
    if first == '' and body ~= nil then first = body:sub(1, 300) end
  end
end

local function escape(s)
  return (s:gsub('[%c"\\]', function(c) return string.format('\\u%04x', c:byte()) end))
end

done = function(summary, latency, requests)
  local parts = {}
  local sample = ''
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get('codes')) do table.insert(parts, string.format('"%d":%d', code, n)) end
    if sample == '' then sample = t:get('first') end
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"codes":{%s},"sample":"%s"}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    table.concat(parts, ','), escape(sample)))
end
