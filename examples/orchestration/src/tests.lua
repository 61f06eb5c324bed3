-- The orchestration's own test suite: `wippy -C examples/orchestration test`.
local process = require("process")
local time = require("time")

local function orchestrate(jobs)
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

function test_all_jobs_succeed()
  local out = orchestrate({1, 2, 3, 4, 5})
  for job = 1, 5 do
    assert(out.results[tostring(job)] == job * job, "job " .. job)
    assert(out.attempts[tostring(job)] == 1)
  end
  return next(out.failures) == nil
end

function test_transient_failures_are_retried()
  local out = orchestrate({7, 14, 2})
  assert(out.results["7"] == 49 and out.results["14"] == 196 and out.results["2"] == 4)
  assert(out.attempts["7"] == 2 and out.attempts["14"] == 2 and out.attempts["2"] == 1)
  return next(out.failures) == nil
end

function test_permanent_failures_are_reported()
  local out = orchestrate({13, 3})
  assert(out.results["3"] == 9)
  assert(out.failures["13"] and out.failures["13"]:find("cannot be done"), tostring(out.failures["13"]))
  return out.attempts["13"] == 3
end

function test_two_hundred_jobs_at_once()
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
