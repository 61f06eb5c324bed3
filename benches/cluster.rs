//! The cluster on loopback (SPEC §8): two nodes in this process, joined over UDP gossip and a TCP session.
//! Monitored spawn -> EXIT round trips and one-way WASM-to-WASM message throughput, each with the receiver on the
//! other node and, in the same run for the ratio, on the same node.
//!
//! Run: `cargo bench --bench cluster`. Results go to BENCHMARKS.md.

use std::time::{Duration, Instant};

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wippy::{ClusterConfig, Host, HostBuilder};

/// Runs `f` as a task on the runtime's workers.
fn on_runtime<F, T>(rt: &tokio::runtime::Runtime, f: F) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    rt.block_on(async { tokio::spawn(f).await.expect("benchmark task") })
}

fn node(rt: &tokio::runtime::Runtime, name: &str, join: Option<&Host>) -> Host {
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart");
    let host = HostBuilder::new(project).instance_slots(4096).code_cache(None).build().expect("quickstart loads");
    let mut config = ClusterConfig::new(name, "bench");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.join = join.iter().map(|h| h.cluster().expect("joined").listen_addr().to_string()).collect();
    let h = host.clone();
    on_runtime(rt, async move {
        h.join_cluster(&config).await.expect("joins");
    });
    host
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let a = node(&rt, "a", None);
    let b = node(&rt, "b", Some(&a));
    let (ca, cb) = (a.clone(), b.clone());
    on_runtime(&rt, async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        while ca.cluster().expect("joined").peers().is_empty() || cb.cluster().expect("joined").peers().is_empty() {
            assert!(Instant::now() < deadline, "the nodes did not connect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let mut g = c.benchmark_group("cluster");
    for (label, host) in [("remote", "b@app:processes"), ("local", "a@app:processes")] {
        g.bench_function(format!("spawn-monitored-exit/{label}"), |bench| {
            bench.iter_custom(|iters| {
                let mut client = a.client();
                on_runtime(&rt, async move { support::spawn_exit_loop(&mut client, host, iters).await })
            })
        });
    }

    const MESSAGES: u64 = 100_000;
    g.throughput(Throughput::Elements(MESSAGES));
    g.sample_size(10);
    for (label, host) in [("remote", "b@app:processes"), ("local", "a@app:processes")] {
        g.bench_function(format!("messages-one-way-wasm-to-wasm/{label}"), |bench| {
            bench.iter_custom(|iters| {
                let mut client = a.client();
                on_runtime(&rt, async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += support::blast_into_drain(&mut client, host, "app:processes", MESSAGES).await;
                    }
                    total
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
