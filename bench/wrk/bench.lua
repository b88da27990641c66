-- The wrk script of `deno task bench` (bench/wrk.ts). Arguments after `--`:
--   get                  plain GET of the URL (static: wrk's fastest path)
--   pipeline DEPTH       DEPTH GETs sent at once per request() (default 16);
--                        wrk counts every response it parses, so its figures
--                        count requests, not batches
--   upload SIZE          POST of SIZE bytes of "x" (default 1048576 = 1 MiB);
--                        wrk adds the Content-Length
-- At the end it prints one line `WRK_JSON {...}`: the totals, the socket and
-- status errors, the 50th and 99th latency percentiles in microseconds, and
-- the CPU time wrk used (user + system clock ticks of /proc/self/stat, all
-- threads; -1 when unreadable).

init = function(args)
  local mode = args[1] or "get"
  local n = tonumber(args[2])
  if mode == "pipeline" then
    local r = {}
    for i = 1, n or 16 do
      r[i] = wrk.format()
    end
    local batch = table.concat(r)
    -- A global request() makes wrk ask for every batch (and count its requests).
    request = function()
      return batch
    end
  elseif mode == "upload" then
    wrk.method = "POST"
    wrk.body = string.rep("x", n or 1048576)
    wrk.headers["Content-Type"] = "application/octet-stream"
  elseif mode ~= "get" then
    error("bench.lua: the mode must be get, pipeline or upload, not " .. mode)
  end
end

local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if not f then
    return -1
  end
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for field in stat:match("%) (.*)$"):gmatch("%S+") do
    fields[#fields + 1] = field
  end
  return tonumber(fields[12]) + tonumber(fields[13])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p99":%d},"cpuTicks":%d}\n',
    summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), cpu_ticks()))
end
