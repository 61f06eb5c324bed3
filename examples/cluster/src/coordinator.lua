-- Coordinates on node `a`: spawns monitored workers on every node it knows of and prints their EXITs.

-- The node of a PID `{a@app:processes|0x0001f}`.
local function node_of(pid)
  return pid:match("^{([^@|]+)@")
end

function main()
  local me = node_of(process.pid())
  if me ~= "a" then
    print("idle: node `a` coordinates, this is node `" .. tostring(me) .. "`")
    process.events():receive() -- idle until stopped (CANCEL)
    return
  end
  local membership = events.subscribe("cluster")
  local nodes = {a = true}
  local running = {} -- worker PID -> node
  local job = 0
  local tick = time.ticker("1s")
  print("coordinating; waiting for nodes to join")
  while true do
    local r = channel.select({
      membership:channel():case_receive(),
      process.events():case_receive(),
      tick:channel():case_receive(),
    })
    if r.channel == tick:channel() then
      for node in pairs(nodes) do
        job = job + 1
        local pid, err = process.spawn_monitored("app:worker", node .. "@app:processes", job)
        if pid then
          running[pid] = node
        else
          print("could not start job " .. job .. " on " .. node .. ": " .. tostring(err))
        end
      end
    elseif r.channel == process.events() and r.value.kind == process.event.CANCEL then
      for pid in pairs(running) do
        process.terminate(pid)
      end
      return job
    elseif r.channel == process.events() then
      local e = r.value
      local node = running[e.from] or "?"
      running[e.from] = nil
      if e.result.error then
        print(string.format("job on %s failed: %s", node, tostring(e.result.error)))
      else
        print(string.format("job on %s: %s", node, tostring(e.result.value)))
      end
    else
      local e = r.value
      print(e.kind .. ": " .. e.data.node)
      nodes[e.data.node] = e.kind == "node.up" or nil
    end
  end
end
