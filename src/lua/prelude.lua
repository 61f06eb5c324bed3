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
local FAIL, native, slice_resume, preempt_yield, pause, probe, join_env, waiting_locally, local_flag, deadlock,
  env_meta, resolved = ...
local xpcall, rawget, type, error, select, load, setmetatable = xpcall, rawget, type, error, select, load, setmetatable
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
-- Processes share states, and a top level may wait on the host (or be preempted) half-way: while one invocation
-- runs the chunk (`top`), another runs a copy of its own, loaded from the bytecode with its environment.
local NO_ENV = {}
local function unbound() return NO_ENV end
-- `top[1]`: the coroutine running the chunk's top level now (a state serves one entry, so one chunk). Weak, so a top
-- level whose invocation was dropped half-way stops counting once its coroutine is collected.
local top = setmetatable({false}, {__mode = "v"})
local running = native.running
-- The coroutine of the drive that runs now (its invocation's main coroutine): the driver sets it wherever another
-- drive may have run since.
local cur

-- Runs an entry's chunk in a fresh environment (its globals fall back to the sandboxed base through `env_meta`,
-- filled in by src/lua/sandbox.rs; `_G` is the environment) and finds its method (SPEC 5.1): the chunk's first
-- return value if it is a function, else that value's field `name` if it is a table holding a function there, else
-- the global `name`. FAIL, why on failure.
local function resolve(chunk, name, chunkname, bytecode)
  -- Room for `_G` and three globals without a resize (nil fields only size the table).
  local env = setmetatable({_G = false, _1 = nil, _2 = nil, _3 = nil}, env_meta)
  env._G = env
  local ok, ret
  if top[1] then
    local copy, err = load(bytecode, chunkname, "b", env)
    if not copy then return FAIL, err end
    ok, ret = xpcall(copy, keep)
  else
    top[1] = cur
    join_env(chunk, function() return env end)
    ok, ret = xpcall(chunk, keep)
    join_env(chunk, unbound)
    top[1] = false -- kept in the table: the next top level sets an existing slot
  end
  if not ok then return FAIL, ret end
  local f
  if ret ~= nil then
    if type(ret) == "function" then return ret end
    f = type(ret) == "table" and rawget(ret, name) or nil
    if type(f) == "function" then return f end
  end
  f = rawget(env, name)
  if type(f) == "function" then return f end
  return FAIL, 'method "' .. name .. '" not found in module (`' .. chunkname .. '`)'
end

-- The trampolines of an entry, made once per state when its chunk is loaded there (so an invocation passes only
-- its own arguments):
-- - `invoke(...)`: a whole function call: chunk, method, call;
-- - `start()`: a whole process in one drive. Init runs the top level and finds the method, then yields RESOLVED
--   (the driver tells the host, see `step`); Step resumes the drive with the method's arguments.
local RESOLVED = {}
local function bind(chunk, name, chunkname, bytecode)
  local function invoke(...)
    local f, err = resolve(chunk, name, chunkname, bytecode)
    if f == FAIL then return FAIL, err end
    return finish(xpcall(f, keep, ...))
  end
  local function start()
    local f, err = resolve(chunk, name, chunkname, bytecode)
    if f == FAIL then return FAIL, err end
    return finish(xpcall(f, keep, yield(RESOLVED)))
  end
  return invoke, start
end

-- The coroutines invocations run in are reused: a runner calls a trampoline and yields DONE with its results, and
-- waits there for its next trampoline. Its frame then holds the trampoline and the arguments it was called with;
-- when there were any (`park`), the driver resumes it once with nothing, so it waits in a frame that holds nothing
-- of the invocation that ended (whose objects must not outlive it). A runner that did not finish (its invocation
-- was dropped mid-way) is never reused.
local DONE, idle, IDLE_RUNNERS = {}, {}, 4
-- Runners user code has seen (`coroutine.running()` in a main coroutine): never reused, since the invocation that
-- saw one may hold on to it, and another invocation of the state would run in it next.
local seen, any_seen = setmetatable({}, {__mode = "k"}), false
local function run(f, ...)
  if f == nil then return run(yield()) end
  return run(yield(DONE, f(...)))
end

-- Several invocations can share a state and interleave wherever one waits on the host, so what a drive keeps is
-- its own, in `drives[co]` (`co`: the coroutine its invocation runs in), made on first need:
-- - `d.tasks`, `d.n`: the coroutines started by `coroutine.spawn` in the invocation (SPEC 5.7). They run when the
--   invocation's main coroutine waits on the host: each in turn until it waits too, yields, or ends. An error in
--   one fails the invocation; when the main coroutine returns, the rest are dropped;
-- - `d.waits`: a wait on local channels began in the drive. The host sets `local_flag[1]` when one begins, during
--   the drive's own slice, and the driver moves it here (`claim`) at its next step or before it lets any other
--   drive run;
-- - `d.suspect`: the deadlock rule (SPEC 5.1): when every coroutine of the invocation waits on local channels only,
--   nothing but another of them could wake one. The driver then polls them all once more; if no local wait ended
--   meanwhile (`suspect` holds the count from before), the invocation fails.
-- A drive that never spawns nor waits on local channels makes no table.
local drives = setmetatable({}, {__mode = "k"})
-- How many drive tables were made and not ended (a drive dropped half-way is never ended: its table goes with its
-- coroutine, and the count only stays high); while 0, no drive has one to look up.
local ndrives = 0

-- Resumes the drive of `co` with what the host passed back (the driver's yield returns here).
local function back(co, ...)
  cur = co
  return slice_resume(co, ...)
end

local function state_of(co)
  local d = ndrives > 0 and drives[co]
  if not d then
    d = {n = 0}
    drives[co] = d
    ndrives = ndrives + 1
  end
  return d
end

-- A wait on local channels that began in this drive's slice belongs to this drive: claimed before anything that lets
-- another drive run (a pause, a yield to the host).
local function claim(co)
  if local_flag[1] then
    local_flag[1] = nil
    state_of(co).waits = true
  end
end

local function end_drive(co)
  if ndrives > 0 and drives[co] then
    drives[co] = nil
    ndrives = ndrives - 1
  end
end

local function spawn(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(f) .. ")", 2)
  end
  if not cur then error("coroutine.spawn: no invocation is running", 2) end
  local d = state_of(cur)
  local t = create(function() return finish(xpcall(f, keep)) end)
  local tasks = d.tasks
  if not tasks then tasks = {}; d.tasks = tasks end
  d.n = d.n + 1
  tasks[d.n] = t
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

-- Runs every spawned coroutine of the drive of `co` once (until it waits); FAIL, err when one failed, else whether
-- one was preempted. After a preemption a PENDING is not trusted (see `step` below): the coroutine is resumed once
-- more.
local function run_tasks(co, d)
  local i, tasks, paused = 1, d.tasks, false
  while tasks[i] do
    local t, fresh = tasks[i], false
    cur = co
    local state, detail = task_step(t, slice_resume(t))
    while state == "pause" or (fresh and state == "wait" and detail) do
      if state == "pause" then
        claim(co)
        pause()
        paused = true
      end
      fresh = state == "pause"
      cur = co
      state, detail = task_step(t, slice_resume(t))
    end
    if state == FAIL then return FAIL, detail end
    if state == "end" then
      for j = i, d.n do tasks[j] = tasks[j + 1] end
      d.n = d.n - 1
    else
      i = i + 1
    end
  end
  return paused
end

-- The driver: after each resume of the invocation's coroutine, either return its results, or pass a preemption to
-- the scheduler, or pass what it yielded (a PENDING host call) up to the host, and resume it afterwards.
--
-- `fresh` is true for the first resume after a preemption. A host call preempted between polling its future and
-- yielding PENDING yields a PENDING decided before the pause; the wake-up it was waiting for may have come and
-- gone during the pause. So the first PENDING after a pause is not passed up: the coroutine is resumed once more,
-- and the host call polls its future again before it waits.
local function step(co, park, fresh, ok, ...)
  if ok == nil then
    claim(co)
    pause()
    cur = co
    return step(co, park, true, slice_resume(co))
  end
  -- When the drive ends (or, for RESOLVED, its Init does), a local wait that began in its last slice ends with it.
  if not ok then
    if local_flag[1] then local_flag[1] = nil end
    if ndrives > 0 then end_drive(co) end
    return FAIL, (...)
  end
  local first = ...
  if first == DONE then
    if local_flag[1] then local_flag[1] = nil end
    if ndrives > 0 then end_drive(co) end
    if #idle < IDLE_RUNNERS and not (any_seen and seen[co]) and (not park or slice_resume(co)) then
      idle[#idle + 1] = co
    end
    return select(2, ...)
  end
  if first == RESOLVED then
    -- A process's Init is done: what its top level spawned ends with it (as when a drive ends), the host learns
    -- (`resolved`) that the PENDING below is not a wait, and the next resume (Step) brings the method's arguments.
    if local_flag[1] then local_flag[1] = nil end
    if ndrives > 0 then end_drive(co) end
    resolved()
    return step(co, park, false, back(co, yield(PENDING)))
  end
  if fresh then
    return step(co, park, false, slice_resume(co))
  end
  local d = ndrives > 0 and drives[co]
  if d and d.n > 0 then
    local failed, err = run_tasks(co, d)
    if failed == FAIL then
      end_drive(co)
      return FAIL, err
    end
    if failed then
      -- A spawned coroutine was preempted: the task's next poll after the pause is the only wake-up the host
      -- gives, and it may have been meant for the main coroutine or a coroutine run before (their PENDING was
      -- decided earlier), so all of them are polled once more before a PENDING goes up.
      cur = co
      return step(co, park, false, slice_resume(co))
    end
  end
  if local_flag[1] then
    claim(co)
    d = drives[co]
  end
  if d and d.waits then
    local progress = waiting_locally(d.n + 1)
    if progress then
      if progress == d.suspect then
        end_drive(co)
        return FAIL, deadlock()
      end
      d.suspect = progress
      cur = co
      return step(co, park, false, slice_resume(co))
    end
    d.suspect = nil
  end
  return step(co, park, false, back(co, yield(...)))
end

-- `park`: whether the trampoline `f` has arguments (see `run`).
local function drive(park, f, ...)
  local n = #idle
  local co = idle[n]
  if co then idle[n] = nil else co = create(run) end
  cur = co
  return step(co, park, false, slice_resume(co, f, ...))
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

-- The invocation's main coroutine (`cur`) belongs to its driver: resuming or closing it from a coroutine it spawned
-- would hand the driver's markers to user code.
local MAIN = "cannot resume the invocation's main coroutine"
local function co_resume(co, ...)
  if co == cur then return false, MAIN end
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
  running = function()
    local co, main = running()
    seen[co], any_seen = true, true
    return co, main
  end,
  isyieldable = isyieldable,
  close = function(co)
    if co == cur then error("cannot close the invocation's main coroutine", 2) end
    return native.close(co)
  end,
  spawn = spawn,
}

return bind, drive, coroutine
