//! Processes (`docs/processes.md`), with the cases of Erlang/OTP's monitor and link suites as the model: EXIT to every monitor,
//! EXIT errors for traps, limits, terminate and cancel, unmonitor, monitors of dead PIDs, LINK_DOWN with and
//! without `trap_links`, names and groups released on exit, dropped sends, FIFO order, `max_processes`, and
//! terminating a spinning guest.

use std::time::{Duration, Instant};

use wippy::{Client, Host, Pid, ProcessError, Value};
use wippy::{Event, Exit, Received};

use crate::support::{functions, wasm_fn};

/// How long a test waits for something that should happen at once before it fails.
const DEADLINE: Duration = Duration::from_secs(10);

fn process(name: &str, file: &str, method: &str, extra: &str) -> String {
    wasm_fn(name, file, method, extra).replace("kind: function.wasm", "kind: process.wasm")
}

fn procs(name: &str, method: &str) -> String {
    process(name, "procs.wasm", method, "    imports: [wippy:process]\n")
}

fn host_with(max_processes: usize, workers: usize) -> Host {
    functions(&[
        format!("  - name: processes\n    kind: process.host\n    host: {{workers: {workers}, max_processes: {max_processes}, cancel_timeout: 5s}}\n"),
        process("compute_worker", "compute.wasm", "compute", ""),
        wasm_fn("compute_fn", "compute.wasm", "compute", ""),
        procs("wait", "wait"),
        procs("echo", "echo-loop"),
        procs("ping", "ping"),
        procs("pong", "pong"),
        procs("collect", "collect"),
        procs("trap_on_message", "trap-on-message"),
        procs("trap_links_wait", "trap-links-wait"),
        procs("cleanup_on_cancel", "cleanup-on-cancel"),
        procs("ignore_cancel", "ignore-cancel"),
        procs("spin", "spin"),
        procs("spawn_child", "spawn-child"),
        procs("register_as", "register-as"),
        procs("self_pid", "self-pid"),
        process("slow_limit", "procs.wasm", "ignore-cancel", "    imports: [wippy:process]\n    limits: {max_execution_ms: 50}\n"),
        process("tiny_memory", "procs.wasm", "wait", "    imports: [wippy:process]\n    limits: {max_memory: 64KiB}\n"),
    ])
    .host()
}

fn host() -> Host {
    host_with(1000, 2)
}

const H: &str = "t:processes";

/// The next event, failing the test after [`DEADLINE`].
async fn event(c: &mut Client) -> Event {
    match tokio::time::timeout(DEADLINE, c.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("the client's mailbox closed"),
        Err(_) => panic!("no event within {DEADLINE:?}"),
    }
}

/// The next EXIT, failing on any other event.
async fn exit(c: &mut Client) -> Exit {
    match event(c).await {
        Event::Exit(e) => e,
        other => panic!("expected EXIT, got {other:?}"),
    }
}

async fn message(c: &mut Client) -> wippy::Message {
    match tokio::time::timeout(DEADLINE, c.next_message()).await {
        Ok(Some(m)) => m,
        _ => panic!("no message within {DEADLINE:?}"),
    }
}

fn error_text(e: &Exit) -> String {
    match &e.error {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => panic!("expected an error EXIT, got value {}", e.value),
    }
}

#[tokio::test]
async fn the_seed_example_delivers_42() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:compute_worker", H, vec![6.into(), 7.into()]).await.expect("spawn");
    assert!(pid.as_str().starts_with("{t:processes|0x"), "{pid}");
    let e = exit(&mut c).await;
    assert_eq!(e.from, pid);
    assert_eq!(e.value, Value::Int(42));
    assert!(e.is_normal());
    // The event as Lua and WASM see it.
    let v = Event::Exit(e).to_value();
    assert_eq!(v.get("kind"), Some(&Value::from("pid.exit")));
    assert_eq!(v.get("type"), Some(&Value::from("EXIT")));
    assert_eq!(v.get("value"), Some(&Value::Int(42)));
    assert_eq!(v.get("result").and_then(|r| r.get("value")), Some(&Value::Int(42)));
    assert_eq!(v.get("from"), Some(&Value::from(pid.as_str())));
}

#[tokio::test]
async fn exit_reaches_every_monitor() {
    let h = host();
    let mut owner = h.client();
    let pid = owner.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    let mut others: Vec<Client> = (0..3).map(|_| h.client()).collect();
    for o in &others {
        o.monitor(&pid).expect("monitor");
    }
    owner.send(pid.as_str(), "go", Value::Nil).expect("send");
    assert_eq!(exit(&mut owner).await.value, Value::from("go"));
    for o in &mut others {
        let e = exit(o).await;
        assert_eq!((e.from.clone(), e.value.clone()), (pid.clone(), Value::from("go")));
    }
}

#[tokio::test]
async fn exit_errors_name_the_cause() {
    let h = host();
    let mut c = h.client();

    let trap = c.spawn_monitored("t:trap_on_message", H, vec![]).await.expect("spawn");
    c.send(trap.as_str(), "boom", Value::Nil).expect("send");
    let e = exit(&mut c).await;
    assert!(error_text(&e).contains("trapped") && error_text(&e).contains("unreachable"), "{e:?}");

    let limited = c.spawn_monitored("t:slow_limit", H, vec![]).await.expect("spawn");
    let e = exit(&mut c).await;
    assert_eq!(e.from, limited);
    assert!(error_text(&e).contains("limit `max_execution_ms` exceeded"), "{e:?}");

    let waiting = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    c.terminate(&waiting);
    let e = exit(&mut c).await;
    assert_eq!((e.from.clone(), error_text(&e)), (waiting, "terminated".to_owned()));

    let stubborn = c.spawn_monitored("t:ignore_cancel", H, vec![]).await.expect("spawn");
    c.cancel(&stubborn, "shutting down", Some(Duration::from_millis(50))).expect("cancel");
    let e = exit(&mut c).await;
    assert!(error_text(&e).contains("cancelled: did not finish within 50 ms"), "{e:?}");
}

#[tokio::test]
async fn cancel_lets_the_process_clean_up() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:cleanup_on_cancel", H, vec![c.pid().as_str().into()]).await.expect("spawn");
    c.cancel(&pid, "please stop", None).expect("cancel");
    let m = message(&mut c).await;
    assert_eq!((m.topic.as_str(), m.from.as_ref()), ("cleaned", Some(&pid)));
    let e = exit(&mut c).await;
    assert_eq!(e.value, Value::from("cancelled"));
    assert!(e.is_normal(), "cleaning up in time is a normal exit: {e:?}");
}

#[tokio::test]
async fn unmonitor_stops_delivery() {
    let h = host();
    let mut quitter = h.client();
    let mut keeper = h.client();
    let pid = quitter.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    keeper.monitor(&pid).expect("monitor");
    quitter.unmonitor(&pid);
    quitter.terminate(&pid);
    // Once the keeper has the EXIT, the process is finalized: an EXIT for the quitter would already be queued.
    assert_eq!(exit(&mut keeper).await.from, pid);
    assert_eq!(quitter.try_event(), None);
}

#[tokio::test]
async fn monitoring_a_dead_pid_delivers_exit_at_once() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:compute_worker", H, vec![1.into(), 1.into()]).await.expect("spawn");
    exit(&mut c).await;
    c.monitor(&pid).expect("monitoring a dead PID is not an error");
    let e = c.try_event().expect("the EXIT is already queued");
    let Event::Exit(e) = e else { panic!("EXIT expected") };
    assert_eq!(e.from, pid);
    assert!(error_text(&e).contains("no such process"), "{e:?}");
    let bogus = Pid::new("t:processes", 0xfffff);
    c.monitor(&bogus).expect("never-existing PIDs too");
    assert!(matches!(c.try_event(), Some(Event::Exit(_))));
}

#[tokio::test]
async fn an_abnormal_exit_kills_linked_processes() {
    let h = host();
    let mut c = h.client();
    // The survivor is a second participant that links itself to the crasher and does not trap links.
    let survivor = h.client();
    let crasher = c.spawn_monitored("t:trap_on_message", H, vec![]).await.expect("spawn");
    survivor.link(&crasher).expect("link");
    c.monitor(survivor.pid()).expect("monitor");
    c.send(crasher.as_str(), "boom", Value::Nil).expect("send");
    let mut exits = [exit(&mut c).await, exit(&mut c).await];
    exits.sort_by_key(|e| e.from != crasher);
    assert_eq!(exits[0].from, crasher);
    assert_eq!(&exits[1].from, survivor.pid());
    assert!(!h.is_alive(survivor.pid()), "the survivor was terminated");
    let reason = error_text(&exits[1]);
    assert!(reason.contains(&format!("linked process {crasher} exited")) && reason.contains("trapped"), "{reason}");
}

#[tokio::test]
async fn trap_links_turns_link_down_into_an_event() {
    let h = host();
    let mut c = h.client();
    let crasher = c.spawn_monitored("t:trap_on_message", H, vec![]).await.expect("spawn");
    let trapper = c
        .spawn_monitored("t:trap_links_wait", H, vec![crasher.as_str().into(), c.pid().as_str().into()])
        .await
        .expect("spawn");
    assert_eq!(message(&mut c).await.topic, "linked");
    c.send(crasher.as_str(), "boom", Value::Nil).expect("send");
    let mut exits = [exit(&mut c).await, exit(&mut c).await];
    exits.sort_by_key(|e| e.from != crasher);
    assert_eq!(exits[1].from, trapper);
    assert!(exits[1].is_normal(), "the trapping process survived and returned: {:?}", exits[1]);
    let payload = wippy::Value::from_json(exits[1].value.as_str().expect("JSON text")).expect("JSON");
    assert_eq!(payload.get("kind"), Some(&Value::from("pid.link.down")));
    assert_eq!(payload.get("from"), Some(&Value::from(crasher.as_str())));
}

#[tokio::test]
async fn a_normal_exit_sends_no_link_down() {
    let h = host();
    let mut c = h.client();
    let quiet = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    let watcher = c
        .spawn_monitored("t:trap_links_wait", H, vec![quiet.as_str().into(), c.pid().as_str().into()])
        .await
        .expect("spawn");
    assert_eq!(message(&mut c).await.topic, "linked");
    c.send(quiet.as_str(), "bye", Value::Nil).expect("send");
    let e = exit(&mut c).await;
    assert_eq!((e.from, e.value), (quiet, Value::from("bye")));
    // The watcher got nothing: it is still waiting, and ends only when we terminate it.
    assert!(h.is_alive(&watcher));
    c.terminate(&watcher);
    let e = exit(&mut c).await;
    assert_eq!((e.from.clone(), error_text(&e)), (watcher, "terminated".to_owned()));
}

#[tokio::test]
async fn names_are_released_on_exit() {
    let h = host();
    let mut c = h.client();
    let pid =
        c.spawn_monitored("t:register_as", H, vec!["worker".into(), c.pid().as_str().into()]).await.expect("spawn");
    assert_eq!(message(&mut c).await.topic, "registered");
    assert_eq!(c.lookup("worker"), Some(pid.clone()));
    let err = c.register("worker", c.pid()).expect_err("taken");
    assert!(matches!(err, ProcessError::NameTaken { .. }), "{err}");
    c.send("worker", "hello", Value::from("by name")).expect("send by name");
    let e = exit(&mut c).await;
    assert_eq!(e.value, Value::from("\"by name\""));
    // Released before the EXIT was delivered.
    assert_eq!(c.lookup("worker"), None);
    c.register("worker", c.pid()).expect("the name is free again");
    let err = c.send("nobody", "x", Value::Nil).expect_err("unknown name");
    assert!(err.to_string().contains("could not resolve `nobody`"), "{err}");
}

#[tokio::test]
async fn a_dead_process_leaves_its_groups() {
    let h = host();
    let mut c = h.client();
    let a = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    let b = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    c.join("workers", &a).expect("join");
    c.join("workers", &b).expect("join");
    assert_eq!(c.members("workers"), vec![a.clone(), b.clone()]);
    c.terminate(&a);
    assert_eq!(exit(&mut c).await.from, a);
    assert_eq!(c.members("workers"), vec![b.clone()]);
    assert_eq!(c.broadcast("workers", "go", Value::Nil).expect("broadcast"), 1);
    assert_eq!(exit(&mut c).await.value, Value::from("go"));
    assert!(c.members("workers").is_empty());
}

#[tokio::test]
async fn a_send_to_a_dead_pid_is_not_found() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:compute_worker", H, vec![2.into(), 3.into()]).await.expect("spawn");
    exit(&mut c).await;
    let err = c.send(pid.as_str(), "late", Value::Nil).expect_err("a dead destination is an error (SPEC §4)");
    assert!(matches!(err, ProcessError::NoProcess { .. }) && err.to_string().contains("not found"), "{err}");
    let err = c.send("{not a pid", "x", Value::Nil).expect_err("malformed");
    assert!(matches!(err, ProcessError::BadPid { .. }), "{err}");
    let err = c.send(pid.as_str(), "@exit", Value::Nil).expect_err("reserved");
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_per_sender_over_ten_thousand_messages() {
    let h = host();
    let mut c = h.client();
    const N: i64 = 10_000;
    let pid = c.spawn_monitored("t:collect", H, vec![Value::Int(N)]).await.expect("spawn");
    for i in 0..N {
        c.send(pid.as_str(), "n", Value::Int(i)).expect("send");
    }
    let e = exit(&mut c).await;
    let expected: Vec<Value> = (0..N).map(Value::Int).collect();
    assert_eq!(e.value, Value::List(expected));
}

#[tokio::test]
async fn max_processes_refuses_the_next_spawn() {
    let h = host_with(2, 2);
    let mut c = h.client();
    let a = c.spawn_monitored("t:wait", H, vec![]).await.expect("first");
    let _b = c.spawn_monitored("t:wait", H, vec![]).await.expect("second");
    let err = c.spawn("t:wait", H, vec![]).await.expect_err("third is over the limit");
    assert!(matches!(err, ProcessError::MaxProcesses { max: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("process host `t:processes` is at its limit of 2 processes"), "{err}");
    c.terminate(&a);
    exit(&mut c).await;
    // The slot is free by the time the EXIT arrives.
    c.spawn("t:wait", H, vec![]).await.expect("room again");
}

#[tokio::test]
async fn terminate_stops_a_spinning_guest_promptly() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:spin", H, vec![]).await.expect("spawn");
    let start = Instant::now();
    c.terminate(&pid);
    let e = exit(&mut c).await;
    assert_eq!((e.from.clone(), error_text(&e)), (pid, "terminated".to_owned()));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn spawn_errors_say_what_is_wrong() {
    let h = host();
    let c = h.client();
    let e = c.spawn("t:compute_wroker", H, vec![]).await.expect_err("typo");
    assert!(
        crate::support::shown(&e).contains("no entry `t:compute_wroker`")
            && crate::support::shown(&e).contains("did you mean `t:compute_worker`?"),
        "{e}"
    );
    let e = c.spawn("t:compute_fn", H, vec![]).await.expect_err("a function");
    assert!(crate::support::shown(&e).contains("is a `function.wasm`, not a process"), "{e}");
    let e = c.spawn("t:compute_worker", "t:nowhere", vec![]).await.expect_err("no host");
    assert!(
        crate::support::shown(&e).contains("no process host `t:nowhere`")
            && crate::support::shown(&e).contains("t:processes"),
        "{e}"
    );
    let e = c.spawn("t:compute_worker", H, vec![1.into()]).await.expect_err("one argument short");
    assert!(crate::support::shown(&e).contains("expected 2 argument(s), got 1"), "{e}");
    let e = c.spawn("t:compute_worker", H, vec!["x".into(), 1.into()]).await.expect_err("wrong type");
    assert!(crate::support::shown(&e).contains("`a`: expected an integer"), "{e}");
    let e = c.spawn("t:tiny_memory", H, vec![]).await.expect_err("Init fails");
    assert!(matches!(e, ProcessError::Init(_)) && e.to_string().contains("max_memory"), "{e}");
    assert_eq!(h.process_count(), 1, "only the client is alive: failed spawns leave nothing behind");
}

#[tokio::test]
async fn wasm_processes_spawn_and_monitor_wasm_processes() {
    let h = host();
    let mut c = h.client();
    c.spawn_monitored("t:spawn_child", H, vec!["t:compute_worker".into(), H.into(), "[6, 7]".into()])
        .await
        .expect("spawn");
    let e = exit(&mut c).await;
    let event = wippy::Value::from_json(e.value.as_str().expect("JSON text")).expect("JSON");
    assert_eq!(event.get("type"), Some(&Value::from("EXIT")));
    assert_eq!(event.get("value"), Some(&Value::Int(42)));
}

#[tokio::test]
async fn two_wasm_processes_play_ping_pong() {
    let h = host();
    let mut c = h.client();
    let pong = c.spawn_monitored("t:pong", H, vec![]).await.expect("spawn pong");
    let ping = c.spawn_monitored("t:ping", H, vec![pong.as_str().into(), 100.into()]).await.expect("spawn ping");
    let e = exit(&mut c).await;
    assert_eq!((e.from, e.value), (ping, Value::Int(100)));
    c.send(pong.as_str(), "stop", Value::Nil).expect("stop");
    let e = exit(&mut c).await;
    assert_eq!((e.from, e.value), (pong, Value::Int(100)));
}

#[tokio::test]
async fn a_process_knows_its_pid() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:self_pid", H, vec![]).await.expect("spawn");
    assert_eq!(exit(&mut c).await.value, Value::from(pid.as_str()));
}

#[tokio::test]
async fn a_waiting_process_holds_no_worker() {
    // One worker: a process blocked in `receive` must not keep the next one from running.
    let h = host_with(10, 1);
    let mut c = h.client();
    let waiting = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    c.spawn_monitored("t:compute_worker", H, vec![3.into(), 4.into()]).await.expect("spawn");
    assert_eq!(exit(&mut c).await.value, Value::Int(12));
    c.terminate(&waiting);
    exit(&mut c).await;
}

#[tokio::test]
async fn hosts_do_not_see_each_other() {
    let (h1, h2) = (host(), host());
    let mut c1 = h1.client();
    let c2 = h2.client();
    let pid = c1.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    c1.register("shared-name", &pid).expect("register on host 1");
    assert_eq!(c2.lookup("shared-name"), None);
    assert!(!h2.is_alive(&pid));
    c2.register("shared-name", c2.pid()).expect("the same name on host 2");
    c1.terminate(&pid);
    exit(&mut c1).await;
}

#[tokio::test]
async fn the_client_receives_messages_and_events_in_one_stream() {
    let h = host();
    let mut c = h.client();
    let echo = c.spawn_monitored("t:echo", H, vec![]).await.expect("spawn");
    c.send(echo.as_str(), "hi", Value::map([("n", Value::Int(1))])).expect("send");
    match tokio::time::timeout(DEADLINE, c.recv()).await {
        Ok(Some(Received::Message(m))) => {
            assert_eq!((m.topic.as_str(), m.payload.to_value()), ("hi", Value::map([("n", Value::Int(1))])));
        }
        other => panic!("expected the echo, got {other:?}"),
    }
    c.send(echo.as_str(), "stop", Value::Nil).expect("send");
    match tokio::time::timeout(DEADLINE, c.recv()).await {
        Ok(Some(Received::Event(Event::Exit(e)))) => assert_eq!(e.value, Value::Int(1)),
        other => panic!("expected EXIT, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_host_terminates_its_processes() {
    let h = host();
    let mut c = h.client();
    let pid = c.spawn_monitored("t:wait", H, vec![]).await.expect("spawn");
    drop(h);
    let e = exit(&mut c).await;
    assert_eq!(e.from, pid);
    assert!(error_text(&e).contains("host shut down"), "{e:?}");
    assert!(!c.is_alive(&pid));
}
