//! Lua orchestration: `funcs.call` from Lua to a WASM function against a Rust `Host::call` of the same function,
//! the cost of entering Lua, and a Lua process's spawn -> EXIT against a WASM process's, all in one run. Then the
//! runtime's own costs: a CPU-bound Lua loop under preemption against the same loop in a bare Lua state, and the
//! same loops run concurrently on one worker thread against two.
//!
//! Last, the load time of typed Lua (`lua/load`): what erasing Wippy's type annotations costs per 1,000 lines.
//!
//! Run: `cargo bench --bench lua`. Results go to BENCHMARKS.md.

use std::time::{Duration, Instant};

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use wippy::{Event, Host, HostBuilder, Value};

const HOST: &str = "bench:processes";

/// Calls of `bench:compute` one Lua invocation makes in the `funcs.call` benchmark; entering Lua once per batch
/// adds well under 1% to each call.
const BATCH: u64 = 1000;

/// Runs `f` as a task on the runtime's workers (where orchestration code runs), not on the `block_on` thread.
fn on_runtime<F, T>(rt: &tokio::runtime::Runtime, f: F) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    rt.block_on(async { tokio::spawn(f).await.expect("benchmark task") })
}

/// Times `n` calls, one after another; `call(i)` gives the entry and arguments of the `i`th.
fn calls<F>(rt: &tokio::runtime::Runtime, host: &Host, n: u64, call: F) -> Duration
where
    F: Fn(u64) -> (&'static str, Vec<Value>) + Send + 'static,
{
    let host = host.clone();
    on_runtime(rt, async move {
        let start = Instant::now();
        for i in 0..n {
            let (id, args) = call(i);
            host.call(id, args).await.expect("call");
        }
        start.elapsed()
    })
}

/// Times `iters` monitored spawns of `entry`, one after another, each waiting for its EXIT.
fn spawn_exit(rt: &tokio::runtime::Runtime, host: &Host, entry: &'static str, iters: u64) -> Duration {
    let mut client = host.client();
    on_runtime(rt, async move {
        let start = Instant::now();
        for _ in 0..iters {
            client.spawn_monitored(entry, HOST, vec![6.into(), 7.into()]).await.expect("spawn");
            match client.next_event().await {
                Some(Event::Exit(e)) => assert_eq!(e.value, Value::Int(42), "{entry}: {:?}", e.error),
                other => panic!("unexpected {other:?}"),
            }
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/project");
    let host = HostBuilder::new(project).instance_slots(1024).code_cache(None).build().expect("bench project loads");
    let sum: i64 = (1..=3).map(|i| i * 7).sum();
    assert_eq!(rt.block_on(host.call("bench:call_compute", vec![3.into()])), Ok(Value::Int(sum)));

    let mut g = c.benchmark_group("lua/call-wasm-compute");
    g.bench_function("rust-host-call", |b| {
        b.iter_custom(|iters| calls(&rt, &host, iters, |_| ("bench:compute", vec![6.into(), 7.into()])))
    });
    g.bench_function("lua-funcs-call", |b| {
        // Each Lua call makes up to BATCH calls of bench:compute; the batches add up to `iters`.
        b.iter_custom(|iters| {
            calls(&rt, &host, iters.div_ceil(BATCH), move |i| {
                let n = (iters - i * BATCH).min(BATCH);
                ("bench:call_compute", vec![Value::Int(n as i64)])
            })
        })
    });
    g.bench_function("rust-host-call-lua-noop", |b| {
        b.iter_custom(|iters| calls(&rt, &host, iters, |_| ("bench:noop", vec![])))
    });
    g.finish();

    let mut g = c.benchmark_group("lua/spawn-monitored-exit");
    g.bench_function("lua", |b| b.iter_custom(|iters| spawn_exit(&rt, &host, "bench:quick", iters)));
    g.bench_function("wasm", |b| b.iter_custom(|iters| spawn_exit(&rt, &host, "bench:compute_worker", iters)));
    g.finish();
}

/// Iterations of `bench:spin` per call: about 10 ms of Lua, five preemption slices.
const SPIN: i64 = 1_000_000;

/// The loop of `bench:spin`, in a bare Lua state (no preemption, no sandbox, no host).
const SPIN_SOURCE: &str = "local n = ...; local x = 0; for i = 1, n do x = (x + i * 7) % 1000003 end; return x";

/// Runs `calls` calls of `bench:spin`, `concurrent` at a time, and returns the time they took.
fn spin_calls(rt: &tokio::runtime::Runtime, host: &Host, calls: u64, concurrent: u64) -> Duration {
    let host = host.clone();
    on_runtime(rt, async move {
        let start = Instant::now();
        let mut done = 0;
        while done < calls {
            let n = concurrent.min(calls - done);
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let host = host.clone();
                    tokio::spawn(async move { host.call("bench:spin", vec![Value::Int(SPIN)]).await })
                })
                .collect();
            for t in tasks {
                t.await.expect("task").expect("bench:spin");
            }
            done += n;
        }
        start.elapsed()
    })
}

fn runtime_costs(c: &mut Criterion) {
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/project");
    let host = HostBuilder::new(project).instance_slots(64).code_cache(None).build().expect("bench project loads");
    let two = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let one = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio");

    let mut g = c.benchmark_group("lua/cpu-bound-loop");
    g.sample_size(20);
    g.bench_function("bare-mlua", |b| {
        let lua = mlua::Lua::new();
        let f = lua.load(SPIN_SOURCE).into_function().expect("loop compiles");
        b.iter(|| f.call::<i64>(SPIN).expect("loop runs"))
    });
    g.bench_function("wippy-preempted", |b| b.iter_custom(|iters| spin_calls(&one, &host, iters, 1)));
    g.finish();

    // 32 loops at a time (enough that the last ones of a batch leave no worker idle for long): throughput on one
    // worker thread against two. One iteration is one batch.
    let mut g = c.benchmark_group("lua/cpu-bound-32-concurrent");
    g.sample_size(10);
    g.bench_function("1-worker", |b| b.iter_custom(|iters| spin_calls(&one, &host, iters * 32, 32)));
    g.bench_function("2-workers", |b| b.iter_custom(|iters| spin_calls(&two, &host, iters * 32, 32)));
    g.finish();

    // The same with 32 processes of one entry, which share Lua states (several processes per state).
    let mut g = c.benchmark_group("lua/cpu-bound-32-processes");
    g.sample_size(10);
    g.bench_function("1-worker", |b| b.iter_custom(|iters| spin_processes(&one, &host, iters, 32)));
    g.bench_function("2-workers", |b| b.iter_custom(|iters| spin_processes(&two, &host, iters, 32)));
    g.finish();
}

/// Runs `batches` batches of `n` monitored `bench:spin_process` processes at once, each batch until every EXIT is in.
fn spin_processes(rt: &tokio::runtime::Runtime, host: &Host, batches: u64, n: u64) -> Duration {
    let host = host.clone();
    on_runtime(rt, async move {
        let mut client = host.client();
        let start = Instant::now();
        for _ in 0..batches {
            for _ in 0..n {
                client.spawn_monitored("bench:spin_process", HOST, vec![Value::Int(SPIN)]).await.expect("spawn");
            }
            for _ in 0..n {
                match client.next_event().await {
                    Some(Event::Exit(e)) => assert!(e.error.is_none(), "{:?}", e.error),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        start.elapsed()
    })
}

/// A 1,000-line Lua source (and one line): 250 four-line functions, with Wippy's type annotations or without.
fn thousand_lines(typed: bool) -> String {
    let mut out = String::from("local M = {}\n");
    for i in 0..250 {
        if typed {
            out.push_str(&format!("function M.f{i}(a: number, b: string?): (number, string)\n"));
            out.push_str("  local x: number = a + 1\n  return x, (b or \"\") :: string\nend\n");
        } else {
            out.push_str(&format!("function M.f{i}(a, b)\n"));
            out.push_str("  local x = a + 1\n  return x, (b or \"\")\nend\n");
        }
    }
    out
}

/// A project whose one Lua entry is `source`.
fn project_with(dir: &std::path::Path, source: &str) {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("project dir");
    std::fs::write(src.join("code.lua"), source).expect("source");
    let index = "version: \"1.0\"\nnamespace: t\nentries:\n  - {name: f, kind: library.lua, source: file://code.lua}\n";
    std::fs::write(src.join("_index.yaml"), index).expect("index");
}

/// Load time of 1,000 lines of typed Lua against the same lines untyped and an empty entry (every source is read
/// by the typed parser first, then compiled), and Lua's own compile of the untyped lines: the erasure's cost at
/// load is typed minus empty minus the compile.
fn typed_erasure(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let projects: Vec<(&str, std::path::PathBuf)> = [
        ("typed-1000-lines", thousand_lines(true)),
        ("plain-1000-lines", thousand_lines(false)),
        ("empty", String::new()),
    ]
    .into_iter()
    .map(|(name, src)| {
        let dir = tmp.path().join(name);
        project_with(&dir, &src);
        (name, dir)
    })
    .collect();
    let mut g = c.benchmark_group("lua/load");
    g.sample_size(20);
    for (name, dir) in &projects {
        g.bench_function(*name, |b| {
            b.iter(|| HostBuilder::new(dir).instance_slots(16).code_cache(None).build().expect("loads"))
        });
    }
    let plain = thousand_lines(false);
    g.bench_function("mlua-compile-1000-lines", |b| {
        let lua = mlua::Lua::new();
        b.iter(|| lua.load(&plain).into_function().expect("compiles"))
    });
    g.finish();
}

criterion_group!(benches, bench, runtime_costs, typed_erasure);
criterion_main!(benches);
