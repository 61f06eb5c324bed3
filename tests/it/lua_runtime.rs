//! `docs/lua.md`, "The runtime": Lua code that never yields is preempted and stopped on time, on one worker thread
//! as on many; what an invocation starts ends with it; waits in user coroutines do not poll; and the CLI's timeouts
//! and signals reach spinning Lua. Most guarantees are tested in Lua (`tests/fixtures/projects/lua_runtime`); these
//! are the ones only the outside can see.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wippy::{CallError, Event, Host, Value};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/lua_runtime")
}

fn host() -> Host {
    crate::support::builder(&project()).build().unwrap_or_else(|e| panic!("the project loads:\n{e}"))
}

fn wippy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(args)
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the wippy binary runs")
}

/// Runs `f` on a runtime with one thread, on a thread of its own, and fails if it has not finished in `limit`: a
/// spinner that starved the runtime would hang the test instead of failing it.
fn on_one_thread<F, Fut>(limit: Duration, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(f())));
        let _ = tx.send(outcome);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("did not finish within {limit:?}: something starved the only thread"),
    }
}

/// The runtime suite checks stop times to tens of milliseconds; the stuck-process test keeps a core busy for a second.
/// The two take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `wippy test` on the fixture project `name`, in its turn, and expects `passed` tests to pass and none to fail.
fn suite(name: &str, passed: usize) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let o = wippy(&["-C", &format!("tests/fixtures/projects/{name}"), "test"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.ends_with(&format!("{passed} passed, 0 failed\n")), "{out}");
}

#[test]
fn wippy_test_runs_the_runtime_suite() {
    suite("lua_runtime", 19);
}

/// A process stuck where Lua cannot yield is ended at `max_unyielding_ms` and its state's other processes go on; run
/// on its own, since the stuck process holds a worker thread meanwhile.
#[test]
fn a_process_that_cannot_yield_is_ended_and_its_state_goes_on() {
    suite("lua_unyielding", 1);
}

/// On a single thread, a function that never yields runs next to one that works: the working one completes, and
/// the spinner ends at its deadline with the limit's error.
#[test]
fn a_spinner_does_not_starve_its_thread() {
    on_one_thread(Duration::from_secs(30), || async {
        let h = host();
        let started = Instant::now();
        let spin = h.call("rt:spin_fn", vec![]);
        let work = async {
            for i in 0..20i64 {
                assert_eq!(h.call("rt:echo", vec![Value::Int(i)]).await, Ok(Value::Int(i)));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            started.elapsed()
        };
        let (spun, worked) = tokio::join!(spin, work);
        let took = started.elapsed();
        match spun {
            Err(CallError::Limit { ref entry, .. }) if entry.as_str() == "rt:spin_fn" => {}
            other => panic!("expected the time limit, got {other:?}"),
        }
        let msg = spun.unwrap_err().to_string();
        assert!(msg.contains("limit `max_execution_ms` exceeded"), "{msg}");
        assert!(worked < Duration::from_millis(200), "the working function needed {worked:?} next to the spinner");
        assert!(took < Duration::from_millis(250), "the spinner was stopped after {took:?}; its limit is 200 ms");
    });
}

/// On a single thread, a spinning process is terminated, and a catastrophic pattern ends at its deadline.
#[test]
fn terminate_and_deadlines_reach_spinning_lua_on_one_thread() {
    on_one_thread(Duration::from_secs(30), || async {
        let h = host();
        let mut me = h.client();
        let pid = me.spawn_monitored("rt:spinner", "rt:processes", vec![]).await.expect("spawns");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t = Instant::now();
        me.terminate(&pid);
        match me.next_event().await {
            Some(Event::Exit(x)) => assert_eq!(x.error, Some(Value::from("terminated"))),
            other => panic!("expected EXIT, got {other:?}"),
        }
        assert!(t.elapsed() < Duration::from_millis(200), "terminate took {:?}", t.elapsed());

        let t = Instant::now();
        let e = h.call("rt:catastrophic", vec![]).await.expect_err("past its deadline");
        assert!(e.to_string().contains("`rt:catastrophic`: limit `max_execution_ms` exceeded"), "{e}");
        assert!(t.elapsed() < Duration::from_millis(400), "stopped after {:?}", t.elapsed());
    });
}

/// Timers, tickers and calls an invocation started stop when it returns: the runtime's task count goes back down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_invocation_starts_ends_with_it() {
    let h = host();
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    // One call first, so whatever the host starts once is running before the baseline is taken.
    assert_eq!(h.call("rt:echo", vec![Value::Int(1)]).await, Ok(Value::Int(1)));
    let before = tasks();
    let n = 2000;
    assert_eq!(h.call("rt:leave_things_running", vec![Value::Int(n)]).await, Ok(Value::Int(n)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while tasks() > before {
        assert!(Instant::now() < deadline, "{} tasks still alive after the call returned ({before} before)", tasks());
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes into the struct we pass; RUSAGE_THREAD is Linux's per-thread usage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// A wait inside a user coroutine suspends the invocation; it does not poll. The whole call runs on this thread,
/// so its CPU time is what the wait cost.
#[test]
fn waits_in_user_coroutines_do_not_poll() {
    on_one_thread(Duration::from_secs(30), || async {
        let h = host();
        assert_eq!(h.call("rt:echo", vec![Value::Int(1)]).await, Ok(Value::Int(1)));
        let (cpu, wall) = (thread_cpu(), Instant::now());
        let r = h.call("rt:sleep_in_coroutines", vec![Value::Int(400)]).await;
        let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
        assert_eq!(r, Ok(Value::from("slept")));
        assert!(wall >= Duration::from_millis(400), "{wall:?}");
        assert!(cpu < Duration::from_millis(100), "{cpu:?} of CPU time for a 400 ms wait");
    });
}

/// A test that never yields is stopped by `wippy test --timeout`.
#[test]
fn wippy_test_timeout_stops_a_spinning_test() {
    let p = crate::support::Project::with_files(&[
        (
            "src/_index.yaml",
            "namespace: t\nentries:\n  - name: spins\n    kind: function.lua\n    source: file://t.lua\n    method: test_spins\n    meta: {type: test}\n  - name: works\n    kind: function.lua\n    source: file://t.lua\n    method: test_works\n    meta: {type: test}\n",
        ),
        ("src/t.lua", "function test_spins() while true do end end\nfunction test_works() return true end\n"),
    ]);
    let t = Instant::now();
    let o = wippy(&["-C", p.path().to_str().expect("utf-8"), "test", "--timeout", "300ms"]);
    let took = t.elapsed();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL t:spins") && out.contains("did not finish within 300 ms"), "{out}");
    assert!(out.contains("PASS t:works") && out.ends_with("1 passed, 1 failed\n"), "{out}");
    assert!(took < Duration::from_secs(20), "wippy test took {took:?}");
}

/// `wippy start` with a service that spins stops on SIGTERM: the service is cancelled, terminated after its
/// `stop_timeout`, and the host exits.
#[test]
fn wippy_start_stops_a_spinning_service_on_sigterm() {
    let p = crate::support::Project::with_files(&[
        (
            "src/_index.yaml",
            concat!(
                "namespace: t\nentries:\n",
                "  - name: processes\n    kind: process.host\n    host: {workers: 1, max_processes: 10}\n",
                "  - name: spinner\n    kind: process.lua\n    source: file://spin.lua\n    method: main\n",
                "  - name: spinning\n    kind: process.service\n    process: spinner\n    host: processes\n",
                "    lifecycle: {auto_start: true, stop_timeout: 300ms}\n",
            ),
        ),
        ("src/spin.lua", "function main() local n = 0 while true do n = n + 1 end end\n"),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", p.path().to_str().expect("utf-8"), "start"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wippy start runs");
    let mut lines = crate::support::StderrLines::of(&mut child);
    lines.wait_for("t:spinning: running");
    let t = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    lines.wait_for("wippy: stopped");
    let status = child.wait().expect("exits");
    let took = t.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "stopping took {took:?} with a stop_timeout of 300 ms");
}

/// `max_fuel` counts WASM instructions; Lua has no fuel, so the field is a load error on a Lua entry.
#[test]
fn max_fuel_on_lua_is_a_load_error() {
    let p = crate::support::Project::with_files(&[
        (
            "src/_index.yaml",
            "namespace: t\nentries:\n  - name: f\n    kind: function.lua\n    source: file://f.lua\n    method: f\n    limits: {max_fuel: 1000}\n",
        ),
        ("src/f.lua", "function f() return 1 end\n"),
    ]);
    let e = p.build().err().expect("max_fuel on Lua does not load");
    let shown = crate::support::shown_load(&e);
    assert!(shown.contains("`t:f`") && shown.contains("max_fuel"), "{shown}");
}
