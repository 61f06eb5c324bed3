-- The orchestration's own test suite: `wippy -C examples/orchestration test`.

local function orchestrate(jobs: {number}): any
  local pid = assert(process.spawn_monitored("orch:coordinator", "orch:processes", jobs))
  while true do
    local e = process.receive(time.seconds(30))
    assert(e, "the coordinator did not finish")
    if type(e) == "table" and e.type == "EXIT" and e.from == pid then
      assert(e.result.error == nil, "the coordinator failed: " .. tostring(e.result.error))
      return e.value
    end
  end
end

local function test_all_jobs_succeed(): boolean
  local out = orchestrate({1, 2, 3, 4, 5})
  for job = 1, 5 do
    assert(out.results[tostring(job)] == job * job, "job " .. job)
    assert(out.attempts[tostring(job)] == 1)
  end
  return next(out.failures) == nil
end

local function test_transient_failures_are_retried(): boolean
  local out = orchestrate({7, 14, 2})
  assert(out.results["7"] == 49 and out.results["14"] == 196 and out.results["2"] == 4)
  assert(out.attempts["7"] == 2 and out.attempts["14"] == 2 and out.attempts["2"] == 1)
  return next(out.failures) == nil
end

local function test_permanent_failures_are_reported(): boolean
  local finished = events.subscribe("orch.jobs", "failed")
  local out = orchestrate({13, 3})
  assert(out.results["3"] == 9)
  assert(string.find(out.failures["13"], "cannot be done"), tostring(out.failures["13"]))
  -- The failure was announced on the event bus, with the worker's error.
  local e = finished:channel():receive()
  assert(e.path == "/jobs/13" and string.find(e.data.error, "cannot be done"), tostring(e.data.error))
  return out.attempts["13"] == 3
end

local function test_two_hundred_jobs_at_once(): boolean
  local jobs = {}
  for i = 1, 200 do
    jobs[i] = i
  end
  local out = orchestrate(jobs)
  local done = 0
  for _ in pairs(out.results) do
    done = done + 1
  end
  -- 13 is the one that never succeeds.
  return done == 199 and out.failures["13"] ~= nil
end

-- A bad job is an INVALID error, which reaches a caller through a future with its kind.
local function test_a_bad_job_is_invalid(): boolean
  local f = funcs.async("orch:orchestrate_fn", {"x"})
  local item = f:response():receive()
  assert(errors.is(item, errors.INVALID) and item:message():find("job `x` is not a number", 1, true), tostring(item))
  return true
end

return {
  test_all_jobs_succeed = test_all_jobs_succeed,
  test_transient_failures_are_retried = test_transient_failures_are_retried,
  test_permanent_failures_are_reported = test_permanent_failures_are_reported,
  test_two_hundred_jobs_at_once = test_two_hundred_jobs_at_once,
  test_a_bad_job_is_invalid = test_a_bad_job_is_invalid,
}
