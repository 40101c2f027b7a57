-- POST rotating bodies read from files named in the BODIES env var (space separated).
-- PACE_MS, if set, delays each request of a connection by that many ms (paced load).
local bodies = {}
local counter = 0
local pace = tonumber(os.getenv("PACE_MS") or "0")
local path = os.getenv("POST_PATH") or "/v1/events?key=bench"

for name in string.gmatch(os.getenv("BODIES") or "", "%S+") do
  local f = assert(io.open(name, "rb"))
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

request = function()
  counter = counter + 1
  return wrk.format(nil, path, nil, bodies[(counter % #bodies) + 1])
end

if pace > 0 then
  delay = function() return pace end
end

done = function(summary, latency, requests)
  local statuses = summary.errors.status
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, statuses, latency:percentile(50), latency:percentile(99)))
end
