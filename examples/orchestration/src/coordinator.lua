-- The coordinator: one WASM worker process per job, all at once; an EXIT with an error is retried with the next
-- attempt number, up to MAX_ATTEMPTS. Returns {results, failures, attempts}, keyed by job, and announces every
-- finished job on the event bus (`orch.jobs`, kind `done` or `failed`).
--
-- Written the way Wippy programs are: a module table, typed syntax, `errors`, `events`, and `process` as a global.

type Job = number
type Running = {job: Job, attempt: number}

local HOST = "orch:processes"
local MAX_ATTEMPTS = 3
local WAIT = time.seconds(30)

local function parse_jobs(...): {Job}
  -- `wippy run orchestrate 1 2 7` passes the words as strings; a Lua caller may pass one list of numbers.
  local jobs = {...}
  if #jobs == 1 and type(jobs[1]) == "table" then
    jobs = jobs[1]
  end
  for i, job in ipairs(jobs) do
    jobs[i] = tonumber(job) or error(errors.new({
      message = "job `" .. tostring(job) .. "` is not a number",
      kind = errors.INVALID,
    }))
  end
  return jobs
end

local function main(...): ({results: {[string]: number}, failures: {[string]: string}, attempts: {[string]: number}})
  local jobs = parse_jobs(...)
  local running: {[string]: Running} = {}
  local results, failures, attempts = {}, {}, {}

  local function start(job: Job, attempt: number)
    local pid, err = process.spawn_monitored("orch:worker", HOST, job, attempt)
    if not pid then
      error(errors.wrap(err, "cannot start job " .. tostring(job)))
    end
    running[pid] = {job = job, attempt = attempt}
    attempts[tostring(job)] = attempt
  end

  for _, job in ipairs(jobs) do
    start(job, 1)
  end
  local pending = #jobs
  while pending > 0 do
    local event = process.receive(WAIT)
    if event == nil then
      error(errors.new({message = pending .. " jobs did not finish within 30 s", kind = errors.TIMEOUT}))
    end
    local w = type(event) == "table" and event.type == "EXIT" and running[event.from]
    if w then
      running[event.from] = nil
      local failure = event.result.error
      if failure == nil then
        results[tostring(w.job)] = event.value
        pending = pending - 1
        events.send("orch.jobs", "done", "/jobs/" .. w.job, {job = w.job, result = event.value})
      elseif w.attempt < MAX_ATTEMPTS then
        print("job " .. w.job .. " failed: " .. tostring(failure) .. "; retrying")
        start(w.job, w.attempt + 1)
      else
        failures[tostring(w.job)] = tostring(failure)
        pending = pending - 1
        events.send("orch.jobs", "failed", "/jobs/" .. w.job, {job = w.job, error = failure})
      end
    end
  end
  return {results = results, failures = failures, attempts = attempts}
end

return { main = main }
