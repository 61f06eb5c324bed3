//! Restart latency: a WASM service crashes (a trap) and its supervisor starts a replacement, with
//! `initial_delay: 0`. Measured from the message that makes the guest trap to the supervisor's `Started` event for
//! the replacement, whose process is then running.
//!
//! Run: `cargo bench --bench restart`. Results go to BENCHMARKS.md.

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use supervision::EventKind;
use wippy::{EntryId, HostBuilder, Value};

fn bench(c: &mut Criterion) {
    // As the `wippy` binary does: no host backtrace per guest trap (see `quiet_error_backtraces` in src/main.rs).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let wasm = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wasm");
    let hash = wippy::sha256_hex(&std::fs::read(format!("{wasm}/procs.wasm")).expect("procs.wasm"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(
        dir.path().join("src/_index.yaml"),
        format!(
            "namespace: b\nentries:\n  - {{name: wasm, kind: fs.directory, directory: \"{wasm}\"}}\n  - {{name: processes, kind: process.host, host: {{max_processes: 1000}}}}\n  - {{name: crasher, kind: process.wasm, fs: wasm, path: /procs.wasm, hash: \"sha256:{hash}\", method: trap-on-message, imports: [wippy:process]}}\n  - name: worker\n    kind: process.service\n    process: crasher\n    host: processes\n    lifecycle: {{restart: {{initial_delay: 0, jitter: 0}}}}\n  - {{name: sup, kind: process.supervisor, intensity: {{max_restarts: 1000000000, period: 1s}}, children: [worker]}}\n"
        ),
    )
    .expect("write");
    let host = HostBuilder::new(dir.path()).instance_slots(1024).code_cache(None).build().expect("project loads");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");

    c.bench_function("supervision/restart-latency-wasm-child", |b| {
        b.iter_custom(|iters| {
            let host = host.clone();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let mut d = host.start_deployment(&[EntryId::parse("b:sup").expect("id")]).await.expect("starts");
                    let started = |e: &supervision::SupervisorEvent| {
                        e.child.as_deref() == Some("b:worker") && e.kind == EventKind::Started
                    };
                    while let Some(e) = d.next_event().await {
                        if started(&e) {
                            break;
                        }
                    }
                    let mut total = Duration::ZERO;
                    let client = host.client();
                    for _ in 0..iters {
                        let pid = host.lookup("b:worker").expect("running");
                        let t = Instant::now();
                        client.send(pid.as_str(), "boom", Value::Nil).expect("send");
                        while let Some(e) = d.next_event().await {
                            if started(&e) {
                                break;
                            }
                        }
                        total += t.elapsed();
                    }
                    d.stop().await;
                    total
                })
                .await
                .expect("benchmark task")
            })
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
