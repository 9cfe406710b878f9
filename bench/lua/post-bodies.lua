-- wrk script of the serving benchmark (bench/serve-load.ts): POSTs the request bodies of
-- a file (one per line) in turn to one path, and prints wrk's summary as one JSON line.
-- usage: wrk -s post-bodies.lua URL -- PATH BODIES-FILE [HEADER:VALUE]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local prepared = {}
local next_one = 0

function init(args)
  for line in io.lines(args[2]) do
    prepared[#prepared + 1] = wrk.format(nil, args[1], nil, line)
  end
end

function request()
  next_one = next_one % #prepared + 1
  return prepared[next_one]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"socketErrors":%d,"statusErrors":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
