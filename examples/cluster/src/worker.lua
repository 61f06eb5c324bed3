-- A job: waits 2 s (so a node can be stopped mid-job), then returns n squared.
function main(n)
  time.sleep("2s")
  return n * n
end
