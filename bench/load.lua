-- wrk script for bench/load.py: every request a fresh JWT and hookInstance.
-- Arguments: body template, credentials file (JWT <tab> hookInstance per line),
-- the placeholder hookInstance in the template, and the number of wrk threads.
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local template = file:read("*a")
  file:close()
  local from, to = template:find(args[3], 1, true)
  prefix, suffix = template:sub(1, from - 1), template:sub(to + 1)
  local threads, mine = tonumber(args[4]), index
  credentials, next_one = {}, 1
  local line_number = 0
  for line in io.lines(args[2]) do
    if line_number % threads == mine then
      local jwt, instance = line:match("^([^\t]+)\t(.+)$")
      credentials[#credentials + 1] = { jwt, instance }
    end
    line_number = line_number + 1
  end
end

function request()
  local jwt, instance = credentials[next_one][1], credentials[next_one][2]
  next_one = next_one % #credentials + 1
  local headers = { ["Authorization"] = "Bearer " .. jwt, ["Content-Type"] = "application/json" }
  return wrk.format("POST", nil, headers, prefix .. instance .. suffix)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50": %d, "p90": %d, "p99": %d, "failed": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), failed))
end
