//! Operations for instruction counting: runs one kind of operation N times on a single-threaded runtime, so that
//! `valgrind --tool=callgrind` gives a repeatable instruction count per operation (the machines are too noisy for
//! wall-clock comparisons of a few percent). See BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release --example opcount
//! scripts/opcount.sh   # instructions per operation, each op run under valgrind --tool=callgrind
//! ```
//!
//! Operations: `setup` (load only, the baseline to subtract), `core-call`, `component-call`, `lua-noop`,
//! `lua-funcs-call` (one Lua call making N `funcs.call`s), `wasm-spawn`, `lua-spawn`.

use wippy::{Event, Host, HostBuilder, Value};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn spawn_exit(host: &Host, entry: &str, n: u64) {
    let mut client = host.client();
    for _ in 0..n {
        client.spawn_monitored(entry, "bench:processes", vec![6.into(), 7.into()]).await.expect("spawn");
        match client.next_event().await {
            Some(Event::Exit(e)) => assert_eq!(e.value, Value::Int(42), "{entry}: {:?}", e.error),
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn run(host: &Host, op: &str, n: u64) {
    let call = |id: &'static str, args: Vec<Value>| {
        let host = host.clone();
        async move { host.call(id, args).await.expect("call") }
    };
    match op {
        "setup" => {}
        "core-call" => {
            for _ in 0..n {
                call("bench:answer", vec![]).await;
            }
        }
        "component-call" => {
            for _ in 0..n {
                call("bench:compute", vec![6.into(), 7.into()]).await;
            }
        }
        "lua-noop" => {
            for _ in 0..n {
                call("bench:noop", vec![]).await;
            }
        }
        "lua-funcs-call" => {
            call("bench:call_compute", vec![Value::Int(n as i64)]).await;
        }
        "wasm-spawn" => spawn_exit(host, "bench:compute_worker", n).await,
        "lua-spawn" => spawn_exit(host, "bench:quick", n).await,
        other => panic!("unknown operation `{other}`"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "setup".to_owned());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/project");
    // `WIPPY_METRICS=1`: the host keeps Prometheus metrics (the overhead SPEC §9 bounds).
    let metrics = std::env::var_os("WIPPY_METRICS").is_some_and(|v| v == "1");
    let host = HostBuilder::new(project).instance_slots(256).metrics(metrics).build().expect("the bench project loads");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    measured(&rt, &host, &op, n);
}

/// Everything `scripts/opcount.sh` counts (`--toggle-collect=opcount::measured`): loading the project and building
/// the host, whose one-time costs vary between runs, stay out.
#[inline(never)]
fn measured(rt: &tokio::runtime::Runtime, host: &Host, op: &str, n: u64) {
    rt.block_on(run(host, op, n));
}
