//! Processes: monitored spawn -> EXIT round trips, spawn throughput with 1,000 in flight, and one-way message
//! throughput between two WASM processes; with raw wasmtime (`instantiate_async` + `call_async` of the same
//! component on the same engine) in the same run for the ratio.
//!
//! Run: `cargo bench --bench spawn`. Results go to BENCHMARKS.md.

use std::time::{Duration, Instant};

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wippy::{Event, HostBuilder};

const HOST: &str = "app:processes";

/// Runs `f` as a task on the runtime's workers (where orchestration code runs), not on the `block_on` thread.
fn on_runtime<F, T>(rt: &tokio::runtime::Runtime, f: F) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    rt.block_on(async { tokio::spawn(f).await.expect("benchmark task") })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart");
    let host = HostBuilder::new(project).instance_slots(4096).code_cache(None).build().expect("quickstart loads");
    let engine = host.wasm_engine().clone();
    let component =
        wasmtime::component::Component::from_file(&engine, format!("{project}/wasm/compute.wasm")).expect("component");
    let pre = wasmtime::component::Linker::<()>::new(&engine).instantiate_pre(&component).expect("pre");

    let mut g = c.benchmark_group("process");
    let metered = HostBuilder::new(project)
        .instance_slots(4096)
        .code_cache(None)
        .metrics(true)
        .build()
        .expect("quickstart loads");
    for (name, h) in [("spawn-monitored-exit/host", &host), ("spawn-monitored-exit/host-metrics-on", &metered)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut client = h.client();
                on_runtime(&rt, async move { support::spawn_exit_loop(&mut client, HOST, iters).await })
            })
        });
    }
    g.bench_function("spawn-monitored-exit/raw-instantiate-call", |b| {
        b.to_async(&rt).iter(|| async {
            let mut store = wasmtime::Store::new(&engine, ());
            store.set_fuel(u64::MAX).expect("fuel");
            store.set_epoch_deadline(u64::MAX / 2);
            let inst = pre.instantiate_async(&mut store).await.expect("instantiate");
            let f = inst.get_typed_func::<(i32, i32), (i32,)>(&mut store, "compute").expect("export");
            f.call_async(&mut store, (6, 7)).await.expect("call")
        })
    });

    const TOTAL: u64 = 10_000;
    const WINDOW: u64 = 1_000;
    g.throughput(Throughput::Elements(TOTAL));
    g.sample_size(10);
    g.bench_function("spawn-throughput-1000-in-flight", |b| {
        b.iter_custom(|iters| {
            let mut client = host.client();
            on_runtime(&rt, async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let (mut started, mut done) = (0u64, 0u64);
                    while started < WINDOW {
                        client
                            .spawn_monitored("app:compute_worker", HOST, vec![6.into(), 7.into()])
                            .await
                            .expect("spawn");
                        started += 1;
                    }
                    while done < TOTAL {
                        match client.next_event().await {
                            Some(Event::Exit(_)) => done += 1,
                            other => panic!("unexpected {other:?}"),
                        }
                        if started < TOTAL {
                            client
                                .spawn_monitored("app:compute_worker", HOST, vec![6.into(), 7.into()])
                                .await
                                .expect("spawn");
                            started += 1;
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });

    const MESSAGES: u64 = 100_000;
    g.throughput(Throughput::Elements(MESSAGES));
    g.bench_function("messages-one-way-wasm-to-wasm", |b| {
        b.iter_custom(|iters| {
            let mut client = host.client();
            on_runtime(&rt, async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += support::blast_into_drain(&mut client, HOST, HOST, MESSAGES).await;
                }
                total
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
