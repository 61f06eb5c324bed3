//! `docs/supervision.md` with real WASM children, after the cases of Erlang/OTP's `supervisor_SUITE`: each strategy restarts
//! exactly the right children (asserted as the sequence of start and stop events) for each restart type against
//! normal, shutdown and abnormal exits; restart intensity and escalation; a start that keeps failing; a child that
//! ignores stop; backoff with paused time; `requires` ordering.

use std::time::Duration;

use supervision::{ChildState, EventKind, ExitKind, SupervisorEvent};
use wippy::Deployment;
use wippy::{EntryId, Host, Value};

use crate::support::{functions, wasm_fn};

const DEADLINE: Duration = Duration::from_secs(10);

fn process(name: &str, method: &str, extra: &str) -> String {
    wasm_fn(name, "procs.wasm", method, &format!("    imports: [wippy:process]\n{extra}"))
        .replace("kind: function.wasm", "kind: process.wasm")
}

fn service(name: &str, process: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    kind: process.service\n    process: {process}\n    host: processes\n{extra}    lifecycle:\n      stop_timeout: 2s\n      restart: {{initial_delay: 0, jitter: 0}}\n"
    )
}

fn base() -> Vec<String> {
    vec![
        "  - name: processes\n    kind: process.host\n    host: {workers: 2, max_processes: 1000}\n".to_owned(),
        process("wait", "wait", ""),
        process("ignore_cancel", "ignore-cancel", ""),
        process("tiny_memory", "wait", "    limits: {max_memory: 64KiB}\n"),
    ]
}

fn host(extra: Vec<String>) -> Host {
    let mut entries = base();
    entries.extend(extra);
    functions(&entries).host()
}

fn id(s: &str) -> EntryId {
    EntryId::parse(s).expect("valid entry ID")
}

/// A short tag for an event of supervisor `sup`: `b:exited:abnormal`, `c:stopping`, `a:started`.
fn tag(e: &SupervisorEvent) -> String {
    let who = e.child.clone().unwrap_or_else(|| "-".into());
    let who = who.rsplit(':').next().unwrap_or(&who).to_owned();
    let what = match &e.kind {
        EventKind::Starting => "starting".to_owned(),
        EventKind::Started => "started".to_owned(),
        EventKind::StartFailed(_) => "start-failed".to_owned(),
        EventKind::Exited(ExitKind::Normal) => "exited:normal".to_owned(),
        EventKind::Exited(ExitKind::Shutdown) => "exited:shutdown".to_owned(),
        EventKind::Exited(ExitKind::Abnormal(_)) => "exited:abnormal".to_owned(),
        EventKind::RestartScheduled { .. } => "restart".to_owned(),
        EventKind::Stopping => "stopping".to_owned(),
        EventKind::Stopped { killed: false } => "stopped".to_owned(),
        EventKind::Stopped { killed: true } => "killed".to_owned(),
        EventKind::GaveUp(_) => "gave-up".to_owned(),
    };
    format!("{who}:{what}")
}

/// Events of supervisor `sup` until one has tag `last`.
async fn until(d: &mut Deployment, sup: &str, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let e = match tokio::time::timeout(DEADLINE, d.next_event()).await {
            Ok(Some(e)) => e,
            _ => panic!("no `{last}` from `{sup}` within {DEADLINE:?}; saw {seen:?}"),
        };
        if &*e.supervisor != sup {
            continue;
        }
        let t = tag(&e);
        seen.push(t.clone());
        if t == last {
            return seen;
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum How {
    Normal,
    Shutdown,
    Abnormal,
}

/// One case of the matrix: supervisor `t:sup` over services a, b, c; b has `restart_type` and exits by `how`.
async fn case(strategy: &str, restart_type: &str, how: How) {
    let mut extra = vec![
        service("a", "wait", ""),
        service("b", "wait", &format!("    restart_type: {restart_type}\n")),
        service("c", "wait", ""),
    ];
    extra.push(format!(
        "  - name: sup\n    kind: process.supervisor\n    strategy: {strategy}\n    intensity: {{max_restarts: 10, period: 10s}}\n    children: [a, b, c]\n"
    ));
    let h = host(extra);
    let mut d = h.start_deployment(&[id("t:sup")]).await.expect("deployment starts");
    let start = until(&mut d, "t:sup", "c:started").await;
    assert_eq!(start, ["a:starting", "a:started", "b:starting", "b:started", "c:starting", "c:started"]);

    let pid = h.lookup("t:b").expect("the service's process is registered under its name");
    let c = h.client();
    match how {
        How::Normal => c.send(pid.as_str(), "bye", Value::Nil).expect("send"),
        How::Shutdown => c.terminate_with(&pid, "shutdown"),
        How::Abnormal => c.terminate_with(&pid, "boom"),
    }
    drop(c);
    let exited = match how {
        How::Normal => "b:exited:normal",
        How::Shutdown => "b:exited:shutdown",
        How::Abnormal => "b:exited:abnormal",
    };
    let restarts = matches!((restart_type, how), ("permanent", _) | ("transient", How::Abnormal));
    let label = format!("{strategy} / {restart_type} / {how:?}");
    if !restarts {
        assert_eq!(until(&mut d, "t:sup", exited).await, [exited], "{label}");
        let children = d.states().await;
        let b = children.iter().find(|s| s.id == "t:b");
        match restart_type {
            "temporary" => assert!(b.is_none(), "{label}: a temporary child's spec is removed"),
            _ => assert_eq!(b.map(|s| s.state), Some(ChildState::Exited), "{label}"),
        }
        for other in ["t:a", "t:c"] {
            assert_eq!(children.iter().find(|s| s.id == other).map(|s| s.state), Some(ChildState::Running), "{label}");
        }
    } else {
        let expected: Vec<&str> = match strategy {
            "one_for_one" => vec![exited, "b:restart", "b:starting", "b:started"],
            "one_for_all" => vec![
                exited,
                "c:stopping",
                "c:stopped",
                "a:stopping",
                "a:stopped",
                "b:restart",
                "a:starting",
                "a:started",
                "b:starting",
                "b:started",
                "c:starting",
                "c:started",
            ],
            _ => vec![
                exited,
                "c:stopping",
                "c:stopped",
                "b:restart",
                "b:starting",
                "b:started",
                "c:starting",
                "c:started",
            ],
        };
        let last = expected[expected.len() - 1];
        assert_eq!(until(&mut d, "t:sup", last).await, expected, "{label}");
        let states: Vec<ChildState> =
            d.states().await.iter().filter(|s| s.supervisor == "t:sup").map(|s| s.state).collect();
        assert_eq!(states, vec![ChildState::Running; 3], "{label}");
    }
    d.stop().await;
    assert_eq!(h.process_count(), 0, "{label}: every process stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_restarts_only_the_child() {
    for restart in ["permanent", "transient", "temporary"] {
        for how in [How::Normal, How::Shutdown, How::Abnormal] {
            case("one_for_one", restart, how).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_restarts_every_child() {
    for restart in ["permanent", "transient", "temporary"] {
        for how in [How::Normal, How::Shutdown, How::Abnormal] {
            case("one_for_all", restart, how).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_for_one_restarts_the_child_and_those_after_it() {
    for restart in ["permanent", "transient", "temporary"] {
        for how in [How::Normal, How::Shutdown, How::Abnormal] {
            case("rest_for_one", restart, how).await;
        }
    }
}

fn intensity_host(max_restarts: u32, period: &str) -> Host {
    host(vec![
        service("b", "wait", ""),
        format!(
            "  - name: sup\n    kind: process.supervisor\n    intensity: {{max_restarts: {max_restarts}, period: {period}}}\n    children: [b]\n    lifecycle:\n      restart: {{initial_delay: 1h}}\n"
        ),
    ])
}

async fn crash_b(h: &Host) {
    let pid = h.lookup("t:b").expect("b runs");
    h.client().terminate_with(&pid, "boom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_max_restarts_within_period_escalate_to_the_parent() {
    let h = intensity_host(2, "1h");
    let mut d = h.start_deployment(&[id("t:sup")]).await.expect("starts");
    until(&mut d, "t:sup", "b:started").await;
    for _ in 0..2 {
        crash_b(&h).await;
        until(&mut d, "t:sup", "b:started").await;
    }
    crash_b(&h).await;
    assert_eq!(until(&mut d, "t:sup", "-:gave-up").await, ["b:exited:abnormal", "-:gave-up"].map(String::from));
    // The parent (the root) sees its child supervisor fail, with the reason.
    loop {
        let e = tokio::time::timeout(DEADLINE, d.next_event()).await.expect("in time").expect("open");
        if let (Some("t:sup"), EventKind::Exited(exit)) = (e.child.as_deref(), &e.kind) {
            let ExitKind::Abnormal(reason) = exit else { panic!("an abnormal exit, got {exit:?}") };
            assert!(reason.contains("reached its restart intensity: more than 2 restarts"), "{reason}");
            break;
        }
    }
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_same_restarts_spread_wider_than_period_are_fine() {
    let h = intensity_host(2, "1s");
    let mut d = h.start_deployment(&[id("t:sup")]).await.expect("starts");
    until(&mut d, "t:sup", "b:started").await;
    for _ in 0..5 {
        tokio::time::advance(Duration::from_millis(600)).await;
        crash_b(&h).await;
        until(&mut d, "t:sup", "b:started").await;
    }
    assert!(d.states().await.iter().any(|s| s.id == "t:b" && s.state == ChildState::Running && s.restarts == 5));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_whose_start_keeps_failing_does_not_hang_its_supervisor() {
    let h = host(vec![
        service("db", "tiny_memory", ""),
        "  - name: sup\n    kind: process.supervisor\n    intensity: {max_restarts: 3, period: 1h}\n    children: [db]\n    lifecycle:\n      restart: {initial_delay: 1h}\n".to_owned(),
    ]);
    let mut d = h.start_deployment(&[id("t:sup")]).await.expect("the tree starts; the child's failures are retried");
    let events = until(&mut d, "t:sup", "-:gave-up").await;
    assert_eq!(events.iter().filter(|t| *t == "db:start-failed").count(), 4, "{events:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_ignores_stop_is_killed_after_stop_timeout() {
    let h = host(vec![
        "  - name: stubborn\n    kind: process.service\n    process: ignore_cancel\n    host: processes\n    lifecycle:\n      stop_timeout: 100ms\n".to_owned(),
    ]);
    let mut d = h.start_deployment(&[id("t:stubborn")]).await.expect("starts");
    let mut c = h.client();
    let pid = h.lookup("t:stubborn").expect("running");
    c.monitor(&pid).expect("monitor");
    let start = std::time::Instant::now();
    d.stop().await;
    let elapsed = start.elapsed();
    match tokio::time::timeout(DEADLINE, c.next_event()).await {
        Ok(Some(wippy::Event::Exit(e))) => {
            let error = e.error.map(|v| v.to_string()).unwrap_or_default();
            assert!(error.contains("cancelled: did not finish within 100 ms"), "{error}");
        }
        other => panic!("expected the process's EXIT, got {other:?} after {elapsed:?}"),
    }
    assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(h.process_count(), 1, "only the test's client is left");
    // It is reported killed, not stopped.
    let tags: Vec<String> = std::iter::from_fn(|| d.try_event()).map(|e| tag(&e)).collect();
    assert!(tags.contains(&"stubborn:killed".to_owned()) && !tags.contains(&"stubborn:stopped".to_owned()), "{tags:?}");
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_grow_and_reset_once_stable() {
    let h = host(vec![
        "  - name: b\n    kind: process.service\n    process: wait\n    host: processes\n    lifecycle:\n      stable_threshold: 10s\n      restart: {initial_delay: 100ms, backoff_factor: 2.0, max_delay: 300ms, jitter: 0}\n".to_owned(),
    ]);
    let mut d = h.start_deployment(&[id("t:b")]).await.expect("starts");
    until(&mut d, "wippy:root", "b:started").await;
    let mut delays = Vec::new();
    for _ in 0..4 {
        crash_b(&h).await;
        let start = tokio::time::Instant::now();
        until(&mut d, "wippy:root", "b:started").await;
        delays.push(start.elapsed().as_millis());
    }
    assert_eq!(delays, vec![100, 200, 300, 300], "initial_delay * factor^n, capped at max_delay");
    // Running longer than stable_threshold resets the attempts.
    tokio::time::advance(Duration::from_secs(11)).await;
    crash_b(&h).await;
    let start = tokio::time::Instant::now();
    until(&mut d, "wippy:root", "b:started").await;
    assert_eq!(start.elapsed().as_millis(), 100);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requires_orders_start_and_reversed_stop() {
    let h = host(vec![
        service("web", "wait", "")
            .replace("    lifecycle:\n", "    lifecycle:\n      auto_start: true\n      requires: [cache, db]\n"),
        service("cache", "wait", "").replace("    lifecycle:\n", "    lifecycle:\n      requires: [db]\n"),
        service("db", "wait", ""),
    ]);
    let mut d = h.start_services().await.expect("starts");
    let started = until(&mut d, "wippy:root", "web:started").await;
    assert_eq!(
        started,
        ["db:starting", "db:started", "cache:starting", "cache:started", "web:starting", "web:started"]
    );
    d.stop().await;
    let mut stopped = Vec::new();
    while let Some(e) = d.try_event() {
        if matches!(e.kind, EventKind::Stopping) {
            stopped.push(tag(&e));
        }
    }
    assert_eq!(stopped, ["web:stopping", "cache:stopping", "db:stopping"]);
    assert_eq!(h.process_count(), 0);
}

#[test]
fn a_requires_cycle_is_a_load_error_naming_the_cycle() {
    let p = functions(&[
        base().join(""),
        service("a", "wait", "").replace("    lifecycle:\n", "    lifecycle:\n      requires: [b]\n"),
        service("b", "wait", "").replace("    lifecycle:\n", "    lifecycle:\n      requires: [c]\n"),
        service("c", "wait", "").replace("    lifecycle:\n", "    lifecycle:\n      requires: [a]\n"),
    ]);
    let msg = p.build().err().expect("a cycle").to_string();
    assert!(msg.contains("`requires` forms a cycle: `t:a` -> `t:b` -> `t:c` -> `t:a`"), "{msg}");
}

#[test]
fn service_input_is_checked_at_load() {
    let p = functions(&[
        base().join(""),
        process("pinger", "ping", ""),
        "  - name: s\n    kind: process.service\n    process: pinger\n    host: processes\n    input: [1, 2]\n"
            .to_owned(),
    ]);
    let msg = p.build().err().expect("bad input").to_string();
    assert!(msg.contains("`input` does not fit `t:pinger`") && msg.contains("`peer`"), "{msg}");
}
