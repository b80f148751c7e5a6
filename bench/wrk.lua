-- bench/wrk.lua: wrk replays the requests wrkgen wrote (one a line:
-- "<path?query> <body>"), each once, in order. Set REQUESTS to the file.
-- Past the end it starts over, and done() says so: the server would
-- answer duplicates, which are cheaper, so such a run does not count.
local reqs, n, i = {}, 0, 0

local function load()
  for line in io.lines(os.getenv("REQUESTS")) do
    n = n + 1
    reqs[n] = line
  end
end

-- init runs in the thread once wrk knows the Host header; the requests
-- are formatted here, before the clock starts.
init = function(args)
  load()
  for k = 1, n do
    local line = reqs[k]
    local sp = line:find(" ", 1, true)
    reqs[k] = wrk.format("POST", line:sub(1, sp - 1), { ["Content-Type"] = "text/xml" }, line:sub(sp + 1))
  end
end

request = function()
  i = i + 1
  if i > n then
    i = 1
  end
  return reqs[i]
end

done = function(summary, latency, requests)
  local lines = 0
  for _ in io.lines(os.getenv("REQUESTS")) do lines = lines + 1 end
  io.write(string.format("p50_us %d\np99_us %d\n", latency:percentile(50), latency:percentile(99)))
  if summary.requests > lines then
    io.write(string.format("WRAPPED: %d requests, %d distinct callbacks; raise N\n", summary.requests, lines))
  end
end
