//! Calls: traps and limits end the call with an error that names the cause while the host keeps serving;
//! ungranted imports trap with the capability message; sleeping guests yield; pools bound concurrency;
//! core modules called through WIT signatures; the compiled-code cache.

use std::time::{Duration, Instant};

use wippy::LimitExceeded;
use wippy::{CallError, Host, Value};

use crate::support::{functions, wasm_fn, Project};

fn behave(name: &str, method: &str, extra: &str) -> String {
    wasm_fn(name, "behave.wasm", method, extra)
}

fn host() -> Host {
    functions(&[
        behave("plain", "plain", ""),
        behave("trap", "trap", ""),
        behave("spin", "spin", "    limits: {max_execution_ms: 50}\n"),
        behave("grow", "grow", "    limits: {max_memory: 4MiB}\n"),
        behave("burn", "burn", "    limits: {max_fuel: 100000}\n"),
        behave("random", "random-u64", ""),
        behave("random_granted", "random-u64", "    imports: [wasi:random]\n"),
        behave("sleep", "test-sleep#sleep-ms", "    imports: [wasi:clocks, wasi:poll]\n"),
        behave("sleep_no_poll", "test-sleep#sleep-ms", "    imports: [wasi:clocks]\n"),
        behave(
            "sleep_one",
            "test-sleep#sleep-ms",
            "    imports: [wasi:clocks, wasi:poll]\n    pool: {type: static, workers: 1, buffer: 0}\n",
        ),
    ])
    .host()
}

async fn still_serves(h: &Host) {
    assert_eq!(h.call("t:plain", vec![]).await, Ok(Value::from("plain")), "the next call on the same host works");
}

#[tokio::test]
async fn a_trap_is_an_error_and_the_host_goes_on() {
    let h = host();
    let e = h.call("t:trap", vec![]).await.expect_err("traps");
    assert!(matches!(&e, CallError::Trap { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("`t:trap` trapped") && msg.contains("unreachable"), "{msg}");
    still_serves(&h).await;
}

#[tokio::test]
async fn an_endless_loop_hits_max_execution_ms() {
    let h = host();
    let start = Instant::now();
    let e = h.call("t:spin", vec![]).await.expect_err("never returns");
    assert!(matches!(e, CallError::Limit { limit: LimitExceeded::Time { ms: 50 }, .. }), "{e:?}");
    assert!(e.to_string().contains("limit `max_execution_ms` exceeded"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "the loop was stopped: {:?}", start.elapsed());
    still_serves(&h).await;
}

#[tokio::test]
async fn growing_past_max_memory_is_an_error() {
    let h = host();
    assert_eq!(h.call("t:grow", vec![1.into()]).await, Ok(Value::Int(1 << 20)), "1 MiB fits under 4 MiB");
    let e = h.call("t:grow", vec![16.into()]).await.expect_err("16 MiB does not fit");
    assert!(matches!(e, CallError::Limit { limit: LimitExceeded::Memory { limit: 4194304, .. }, .. }), "{e:?}");
    assert!(e.to_string().contains("`t:grow`: limit `max_memory` exceeded"), "{e}");
    still_serves(&h).await;
}

#[tokio::test]
async fn running_out_of_fuel_is_an_error() {
    let h = host();
    assert_eq!(h.call("t:burn", vec![10.into()]).await, Ok(Value::Int(45)));
    let e = h.call("t:burn", vec![100_000_000.into()]).await.expect_err("out of fuel");
    assert!(matches!(e, CallError::Limit { limit: LimitExceeded::Fuel { fuel: 100000 }, .. }), "{e:?}");
    still_serves(&h).await;
}

#[tokio::test]
async fn an_ungranted_import_traps_only_when_called() {
    let h = host();
    // `plain` lives in a component that imports wasi:random, wasi:cli, wasi:filesystem... and runs with none granted.
    still_serves(&h).await;
    let e = h.call("t:random", vec![]).await.expect_err("wasi:random is not granted");
    assert!(matches!(e, CallError::Capability(_)), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("capability `wasi:random` is not granted to `t:random`: add it to imports"), "{msg}");
    assert!(msg.contains("wasi:random/random@0.2"), "names the import: {msg}");
    let r = h.call("t:random_granted", vec![]).await;
    assert!(r.is_ok(), "granted, it works: {r:?}");

    let e = h.call("t:sleep_no_poll", vec![1.into()]).await.expect_err("wasi:poll is not granted");
    assert!(e.to_string().contains("capability `wasi:poll` is not granted to `t:sleep_no_poll`"), "{e}");
}

#[tokio::test]
async fn sleeping_guests_yield() {
    let h = host();
    // A current-thread runtime: if a sleeping guest blocked its thread, 100 sleeps would take 10 s.
    let start = Instant::now();
    let calls = (0..100).map(|_| h.call("t:sleep", vec![100.into()]));
    let results = futures_join_all(calls).await;
    let elapsed = start.elapsed();
    for r in results {
        let slept = r.expect("sleep works").as_int().expect("an integer");
        assert!(slept >= 100, "each guest saw its 100 ms pass: {slept}");
    }
    assert!(elapsed < Duration::from_secs(3), "100 x 100 ms sleeps overlapped: {elapsed:?}");
}

#[tokio::test]
async fn a_full_pool_refuses_instead_of_hanging() {
    let h = host();
    let (a, b) = tokio::join!(h.call("t:sleep_one", vec![50.into()]), h.call("t:sleep_one", vec![1.into()]));
    assert!(a.is_ok(), "{a:?}");
    let e = b.expect_err("the only slot is taken and the queue holds nothing");
    assert!(matches!(e, CallError::Busy { .. }), "{e:?}");
    assert!(e.hint().is_some_and(|h| h.contains("raise `pool.max_size`")), "{e:?}");
    assert!(!e.to_string().contains("hint"), "the message is bare: {e}");
}

#[tokio::test]
async fn core_modules_through_wit_signatures() {
    let p = Project::new(concat!(
        "namespace: t\nentries:\n",
        "  - name: add\n    kind: function.wat\n    method: add\n    wit: \"add: func(a: s32, b: s32) -> s32;\"\n",
        "    source: '(module (func (export \"add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'\n",
        "  - name: inferred\n    kind: function.wat\n    method: twice\n",
        "    source: '(module (func (export \"twice\") (param i64) (result i64) local.get 0 i64.const 2 i64.mul))'\n",
        "  - name: unsigned\n    kind: function.wat\n    method: max\n    wit: \"max: func() -> u32;\"\n",
        "    source: '(module (func (export \"max\") (result i32) i32.const -1))'\n",
        "  - name: strlen\n    kind: function.wat\n    method: strlen\n    wit: \"strlen: func(s: string) -> u32;\"\n",
        "    source: |\n",
        "      (module\n",
        "        (memory (export \"memory\") 1)\n",
        "        (global $bump (mut i32) (i32.const 1024))\n",
        "        (func (export \"cabi_realloc\") (param i32 i32 i32 i32) (result i32) (local $p i32)\n",
        "          global.get $bump local.set $p\n",
        "          global.get $bump local.get 3 i32.add global.set $bump\n",
        "          local.get $p)\n",
        "        (func (export \"strlen\") (param i32 i32) (result i32) local.get 1))\n",
        "  - name: loop\n    kind: function.wat\n    method: loop\n    limits: {max_execution_ms: 50}\n",
        "    source: '(module (func (export \"loop\") (loop (br 0))))'\n",
    ));
    let h = p.host();
    assert_eq!(h.call("t:add", vec![6.into(), 7.into()]).await, Ok(Value::Int(13)));
    assert_eq!(h.call("t:inferred", vec![21.into()]).await, Ok(Value::Int(42)));
    assert_eq!(h.call("t:unsigned", vec![]).await, Ok(Value::Int(4294967295)));
    assert_eq!(h.call("t:strlen", vec!["héllo".into()]).await, Ok(Value::Int(6)), "componentized: strings work");
    let e = h.call("t:add", vec![Value::Int(1 << 40), 1.into()]).await.expect_err("out of s32 range");
    assert!(e.to_string().contains("`a`") && e.to_string().contains("out of range"), "{e}");
    let e = h.call("t:loop", vec![]).await.expect_err("endless");
    assert!(matches!(e, CallError::Limit { limit: LimitExceeded::Time { .. }, .. }), "{e:?}");
    assert_eq!(h.call("t:add", vec![1.into(), 1.into()]).await, Ok(Value::Int(2)));
}

/// SPEC §1: core export names are what C and Rust produce, not WIT identifiers.
#[tokio::test]
async fn core_export_names_as_c_and_rust_write_them() {
    let p = Project::new(concat!(
        "namespace: t\nentries:\n",
        "  - name: add\n    kind: function.wat\n    method: add_numbers\n",
        "    wit: \"add_numbers: func(a: s32, b: s32) -> s32;\\n_start: func();\"\n",
        "    source: '(module (func (export \"add_numbers\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add) (func (export \"_start\")))'\n",
        "  - name: start\n    kind: function.wat\n    method: _start\n",
        "    wit: \"export add_numbers: func(a: s32, b: s32) -> s32;\\n_start: func();\"\n",
        "    source: '(module (func (export \"add_numbers\") (param i32 i32) (result i32) local.get 0) (func (export \"_start\")))'\n",
    ));
    let h = p.host();
    assert_eq!(h.call("t:add", vec![6.into(), 7.into()]).await, Ok(Value::Int(13)));
    assert_eq!(h.call("t:start", vec![]).await, Ok(Value::Nil));
}

/// SPEC §1: several results (`-> (s32, s32)`, named or not) are a core function returning several values; the
/// caller gets them as a list. Without `wit`, several core results are inferred the same way.
#[tokio::test]
async fn core_functions_with_several_results() {
    let src = r#"'(module (func (export "div_mod") (param i32 i32) (result i32 i32) local.get 0 local.get 1 i32.div_s local.get 0 local.get 1 i32.rem_s))'"#;
    let entry = |name: &str, wit: &str| {
        let wit = if wit.is_empty() { String::new() } else { format!("    wit: \"{wit}\"\n") };
        format!("  - name: {name}\n    kind: function.wat\n    method: div_mod\n{wit}    source: {src}\n")
    };
    let p = Project::new(&format!(
        "namespace: t\nentries:\n{}{}{}",
        entry("plain", "div_mod: func(a: s32, b: s32) -> (s32, s32);"),
        entry("named", "div_mod: func(a: s32, b: s32) -> (q: s32, r: u32);"),
        entry("inferred", ""),
    ));
    let h = p.host();
    let want = Ok(Value::List(vec![Value::Int(3), Value::Int(2)]));
    for id in ["t:plain", "t:named", "t:inferred"] {
        assert_eq!(h.call(id, vec![17.into(), 5.into()]).await, want, "{id}");
    }
    let e = h.call("t:plain", vec![17.into(), 0.into()]).await.expect_err("division by zero traps");
    assert!(e.to_string().contains("trapped"), "{e}");
    let wrong = Project::new(&format!(
        "namespace: t\nentries:\n{}",
        entry("wrong", "div_mod: func(a: s32, b: s32) -> (s32, s32, s32);")
    ));
    let msg = wrong.build().err().expect("three results declared, two exported").to_string();
    assert!(msg.contains("(i32, i32) -> (i32, i32)") && msg.contains("(i32, i32) -> (i32, i32, i32)"), "{msg}");
}

#[test]
fn a_wit_signature_that_does_not_match_the_export_is_a_load_error() {
    let p = Project::new(concat!(
        "namespace: t\nentries:\n",
        "  - name: add\n    kind: function.wat\n    method: add\n    wit: \"add: func(a: s64) -> s32;\"\n",
        "    source: '(module (func (export \"add\") (param i32 i32) (result i32) local.get 0))'\n",
    ));
    let msg = p.build().err().expect("mismatch").to_string();
    assert!(
        msg.contains(
            "the export `add` has core type (i32, i32) -> (i32) but the `wit` signature lowers to (i64) -> (i32)"
        ),
        "{msg}"
    );
}

#[test]
fn compiled_code_is_cached_on_disk() {
    let cache = tempfile::tempdir().expect("temp dir");
    let p = functions(&[wasm_fn("c", "compute.wasm", "compute", "")]);
    let build =
        || wippy::HostBuilder::new(p.path()).instance_slots(256).code_cache(Some(cache.path().to_path_buf())).build();
    build().expect("first build compiles");
    let files: Vec<_> = std::fs::read_dir(cache.path()).expect("cache dir").flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1, "one artifact per distinct binary: {files:?}");
    let name = files[0].file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    assert!(name.starts_with(&crate::support::sha("compute.wasm")) && name.ends_with(".cwasm"), "{name}");
    build().expect("second build loads from the cache");
    // A damaged artifact is dropped and rebuilt, never trusted.
    std::fs::write(&files[0], b"garbage").expect("overwrite");
    let h = build().expect("a damaged cache entry is recompiled");
    assert!(std::fs::metadata(&files[0]).expect("rewritten").len() > 7);
    drop(h);
}

/// `futures::future::join_all` without the dependency.
async fn futures_join_all<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

#[tokio::test]
async fn a_core_module_binary_through_its_wit_signature() {
    let wasm = wat::parse_str(
        r#"(module (func (export "mul") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul))"#,
    )
    .expect("valid WAT");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("mul.wasm"), &wasm).expect("write");
    let hash = wippy::sha256_hex(&wasm);
    let p = Project::new(&format!(
        "namespace: t\nentries:\n  - name: bin\n    kind: fs.directory\n    directory: \"{}\"\n  - name: mul\n    kind: function.wasm\n    fs: bin\n    path: /mul.wasm\n    hash: sha256:{hash}\n    method: mul\n    wit: \"mul: func(a: u64, b: u64) -> u64;\"\n",
        dir.path().display()
    ));
    let h = p.host();
    assert_eq!(h.call("t:mul", vec![6.into(), 7.into()]).await, Ok(Value::Int(42)));
    let e = h.call("t:mul", vec![(-1).into(), 1.into()]).await.expect_err("u64 takes no negatives");
    assert!(e.to_string().contains("out of range 0..=18446744073709551615"), "{e}");
}

#[test]
fn hosts_can_be_shared_across_tasks() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<Host>();
}
