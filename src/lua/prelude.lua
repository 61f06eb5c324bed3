-- The Lua half of every state's setup (src/lua/state.rs): the trampolines that run an invocation, the driver that
-- resumes it, and the coroutine library. Runs once per state. Nothing here is reachable by user code except the
-- coroutine table.
--
-- Every invocation runs in two coroutines: the driver (resumed by the host, through mlua) and the invocation's
-- own coroutine, which the driver resumes with `slice_resume`, Lua's own resume plus the bookkeeping preemption
-- needs (src/lua/preempt.rs). A preempted coroutine is therefore only ever resumed by Lua's resume, which leaves
-- its stack exactly as it was; the driver passes the preemption to the scheduler (`pause`) and a waiting host call
-- (its PENDING marker) to the host. `slice_resume` returns `true, ...` or `false, err` like `coroutine.resume`, and
-- `nil` when the coroutine was preempted.
local FAIL, native, slice_resume, preempt_yield, pause, probe, join_env, waiting_locally, local_flag, deadlock = ...
local xpcall, rawget, type, error, select = xpcall, rawget, type, error, select
local create, status, yield, isyieldable = native.create, native.status, native.yield, native.isyieldable

-- The marker a host call that has to wait yields with (learned from a host call that never finishes).
local PENDING = select(2, native.resume(create(probe)))

-- Keeps the raised value as it is: a string with its position, a table, an error object.
local function keep(e) return e end

local function finish(ok, ...)
  if ok then return ... end
  return FAIL, (...)
end

-- An entry's compiled chunk is loaded once per state and run by every invocation there, each in its own
-- environment: `join_env` points the chunk's `_ENV` at a fresh upvalue holding `env` (what the chunk's closures
-- capture), and once the top level has run, at an empty table, so an idle state keeps no invocation's globals.
local NO_ENV = {}
local function unbound() return NO_ENV end

-- Runs an entry's chunk in its environment and finds its method (SPEC 5.1): the chunk's first return value if it
-- is a function, else that value's field `name` if it is a table holding a function there, else the global
-- `name`. FAIL, why on failure.
local function resolve(chunk, env, name, chunkname)
  join_env(chunk, function() return env end)
  local ok, ret = xpcall(chunk, keep)
  join_env(chunk, unbound)
  if not ok then return FAIL, ret end
  if type(ret) == "function" then return ret end
  local f = type(ret) == "table" and rawget(ret, name) or nil
  if type(f) == "function" then return f end
  f = rawget(env, name)
  if type(f) == "function" then return f end
  return FAIL, 'method "' .. name .. '" not found in module (`' .. chunkname .. '`)'
end

-- Calls a method; FAIL, the raised value on failure.
local function call(f, ...)
  return finish(xpcall(f, keep, ...))
end

-- A whole function call: chunk, method, call.
local function invoke(chunk, env, name, chunkname, ...)
  local f, err = resolve(chunk, env, name, chunkname)
  if f == FAIL then return FAIL, err end
  return finish(xpcall(f, keep, ...))
end

-- The coroutines invocations run in are reused: a runner calls a trampoline and yields DONE with its results; the
-- driver then resumes it once with nothing, so it waits for its next trampoline in a frame that holds nothing of
-- the invocation that ended (whose objects, and their finalizers, must not outlive its release). A runner that
-- did not finish (its invocation was dropped mid-way) is never reused.
local DONE, idle, IDLE_RUNNERS = {}, {}, 4
local function run(f, ...)
  if f == nil then return run(yield()) end
  return run(yield(DONE, f(...)))
end

-- Coroutines started by `coroutine.spawn` in the running invocation (SPEC 5.7). They run when the invocation's
-- main coroutine waits on the host: each in turn until it waits too, yields, or ends. An error in one fails the
-- invocation; when the main coroutine returns, the rest are dropped.
-- `dirty` says that the last drive spawned coroutines or saw local waits, so the next one must reset them.
local tasks, ntasks, dirty = {}, 0, false

-- The deadlock rule (SPEC 5.1): when every coroutine of the invocation waits on local channels only, nothing but
-- another of them could wake one. The driver then polls them all once more; if no local wait ended meanwhile
-- (`suspect` holds the count from before), the invocation fails.
local suspect

local function spawn(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(f) .. ")", 2)
  end
  local t = create(function() return finish(xpcall(f, keep)) end)
  ntasks = ntasks + 1
  tasks[ntasks] = t
  dirty = true
  return t
end

-- One resume of a spawned coroutine: "wait" (it waits or yielded), "end", "pause" (preempted), or FAIL.
local function task_step(t, ok, ...)
  if ok == nil then return "pause" end
  if not ok then return FAIL, (...) end
  if status(t) == "dead" then
    if (...) == FAIL then return FAIL, (select(2, ...)) end
    return "end"
  end
  return "wait", select("#", ...) == 1 and (...) == PENDING
end

-- Runs every spawned coroutine once (until it waits); FAIL, err when one failed. After a preemption a PENDING is
-- not trusted (see `step` below): the coroutine is resumed once more.
local function run_tasks()
  local i = 1
  while tasks[i] do
    local t, fresh = tasks[i], false
    local state, detail = task_step(t, slice_resume(t))
    while state == "pause" or (fresh and state == "wait" and detail) do
      if state == "pause" then pause() end
      fresh = state == "pause"
      state, detail = task_step(t, slice_resume(t))
    end
    if state == FAIL then return FAIL, detail end
    if state == "end" then
      for j = i, ntasks do tasks[j] = tasks[j + 1] end
      ntasks = ntasks - 1
    else
      i = i + 1
    end
  end
end

-- The driver: after each resume of the invocation's coroutine, either return its results, or pass a preemption to
-- the scheduler, or pass what it yielded (a PENDING host call) up to the host, and resume it afterwards.
--
-- `fresh` is true for the first resume after a preemption. A host call preempted between polling its future and
-- yielding PENDING yields a PENDING decided before the pause; the wake-up it was waiting for may have come and
-- gone during the pause. So the first PENDING after a pause is not passed up: the coroutine is resumed once more,
-- and the host call polls its future again before it waits.
local function step(co, fresh, ok, ...)
  if ok == nil then
    pause()
    return step(co, true, slice_resume(co))
  end
  if not ok then
    if ntasks > 0 then tasks, ntasks = {}, 0 end
    return FAIL, (...)
  end
  if (...) == DONE then
    if ntasks > 0 then tasks, ntasks = {}, 0 end
    if #idle < IDLE_RUNNERS and slice_resume(co) then idle[#idle + 1] = co end
    return select(2, ...)
  end
  if status(co) == "dead" then
    if ntasks > 0 then tasks, ntasks = {}, 0 end
    return ...
  end
  if fresh then
    return step(co, false, slice_resume(co))
  end
  if ntasks > 0 then
    local failed, err = run_tasks()
    if failed == FAIL then
      if ntasks > 0 then tasks, ntasks = {}, 0 end
      return FAIL, err
    end
  end
  local progress
  if local_flag[1] then
    dirty = true
    progress = waiting_locally(ntasks + 1)
  end
  if progress then
    if progress == suspect then
      suspect = nil
      if ntasks > 0 then tasks, ntasks = {}, 0 end
      return FAIL, deadlock()
    end
    suspect = progress
    return step(co, false, slice_resume(co))
  end
  suspect = nil
  return step(co, false, slice_resume(co, yield(...)))
end

local function drive(f, ...)
  if dirty then
    tasks, ntasks, suspect, dirty = {}, 0, nil, false
    local_flag[1] = nil
  end
  local n = #idle
  local co = idle[n]
  if co then idle[n] = nil else co = create(run) end
  return step(co, false, slice_resume(co, f, ...))
end

-- coroutine.create: the body runs under xpcall, so an error keeps its value through resume.
local function co_create(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'create' (function expected, got " .. type(f) .. ")", 2)
  end
  return create(function(...) return finish(xpcall(f, keep, ...)) end)
end

-- After a resume of a user coroutine: its results, its error, its own yield, or (a preemption, a PENDING host
-- call) something to pass up before resuming it again where it stopped.
local function resumed(co, ok, ...)
  if ok == nil then
    if isyieldable() then preempt_yield() end
    return resumed(co, slice_resume(co))
  end
  if not ok then return false, (...) end
  if status(co) == "dead" then
    if (...) == FAIL then return false, (select(2, ...)) end
    return true, ...
  end
  if select("#", ...) == 1 and (...) == PENDING then
    if isyieldable() then
      return resumed(co, slice_resume(co, yield(...)))
    end
    return resumed(co, slice_resume(co))
  end
  return true, ...
end

local function co_resume(co, ...)
  return resumed(co, slice_resume(co, ...))
end

local function rethrow(ok, ...)
  if ok then return ... end
  error((...), 0)
end

local coroutine = {
  create = co_create,
  resume = co_resume,
  wrap = function(f)
    local co = co_create(f)
    return function(...) return rethrow(co_resume(co, ...)) end
  end,
  yield = yield,
  status = status,
  running = native.running,
  isyieldable = isyieldable,
  close = native.close,
  spawn = spawn,
}

return resolve, call, invoke, drive, coroutine
