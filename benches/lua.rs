//! Lua orchestration: `funcs.call` from Lua to a WASM function against a Rust `Host::call` of the same function,
//! the cost of entering Lua, and a Lua process's spawn -> EXIT against a WASM process's, all in one run.
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

criterion_group!(benches, bench);
criterion_main!(benches);
