-- The coordinator: one WASM worker process per job, all at once; an EXIT with an error is retried with the next
-- attempt number, up to MAX_ATTEMPTS. Returns {results, failures, attempts}, keyed by job.
local time = require("time")

local HOST = "orch:processes"
local MAX_ATTEMPTS = 3

function main(...)
  -- `wippy run orchestrate 1 2 7` passes the words as strings; a Lua caller may pass one list of numbers.
  local jobs = {...}
  if #jobs == 1 and type(jobs[1]) == "table" then
    jobs = jobs[1]
  end
  for i, job in ipairs(jobs) do
    jobs[i] = tonumber(job) or error("job `" .. tostring(job) .. "` is not a number")
  end
  local running = {}
  local results, failures, attempts = {}, {}, {}

  local function start(job, attempt)
    local pid, err = process.spawn_monitored("orch:worker", HOST, job, attempt)
    if not pid then
      error("cannot start job " .. tostring(job) .. ": " .. err)
    end
    running[pid] = {job = job, attempt = attempt}
    attempts[tostring(job)] = attempt
  end

  for _, job in ipairs(jobs) do
    start(job, 1)
  end
  local pending = #jobs
  while pending > 0 do
    local event = process.receive(time.seconds(30))
    if event == nil then
      error(pending .. " jobs did not finish within 30 s")
    end
    local w = type(event) == "table" and event.type == "EXIT" and running[event.from]
    if w then
      running[event.from] = nil
      if event.result.error == nil then
        results[tostring(w.job)] = event.value
        pending = pending - 1
      elseif w.attempt < MAX_ATTEMPTS then
        print("job " .. w.job .. " failed: " .. tostring(event.result.error) .. "; retrying")
        start(w.job, w.attempt + 1)
      else
        failures[tostring(w.job)] = tostring(event.result.error)
        pending = pending - 1
      end
    end
  end
  return {results = results, failures = failures, attempts = attempts}
end
