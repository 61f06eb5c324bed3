//! `Host::call` against raw wasmtime on the same modules, in the same run.
//!
//! Raw wasmtime here is what an embedder writes by hand: an `InstancePre`, then per call a `Store`,
//! `instantiate_async` and `call_async`, on the same engine configuration as the host (pooling allocator, fuel,
//! epochs), so the ratio is our overhead above the engine. A second raw variant uses wasmtime's default engine
//! (on-demand allocation, no fuel or epochs) and a synchronous call, for context.
//!
//! `host-metrics-on` is the same call on a second host built with Prometheus metrics on (SPEC §9: at most 2% over
//! `host`, which keeps only the always-on totals).
//!
//! Run: `cargo bench --bench call`. Results go to BENCHMARKS.md.

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use wippy::{HostBuilder, Value};

const ANSWER_WAT: &str = r#"(module (func (export "answer") (result i32) i32.const 42))"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let project = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart");
    let host = HostBuilder::new(project).instance_slots(1024).code_cache(None).build().expect("quickstart loads");
    assert_eq!(rt.block_on(host.call("app:answer", vec![])), Ok(Value::Int(42)));
    let metered = HostBuilder::new(project)
        .instance_slots(1024)
        .code_cache(None)
        .metrics(true)
        .build()
        .expect("quickstart loads");

    // Raw wasmtime on the host's own engine configuration.
    let engine = host.wasm_engine().clone();
    let module = wasmtime::Module::new(&engine, wat::parse_str(ANSWER_WAT).expect("wat")).expect("module");
    let core_pre = wasmtime::Linker::<()>::new(&engine).instantiate_pre(&module).expect("core pre");
    let component =
        wasmtime::component::Component::from_file(&engine, format!("{project}/wasm/compute.wasm")).expect("component");
    let comp_pre = wasmtime::component::Linker::<()>::new(&engine).instantiate_pre(&component).expect("component pre");
    let new_store = |engine: &wasmtime::Engine| {
        let mut store = wasmtime::Store::new(engine, ());
        store.set_fuel(u64::MAX).expect("fuel is enabled");
        store.set_epoch_deadline(u64::MAX / 2);
        store
    };

    // Raw wasmtime with default settings and a synchronous call.
    let plain = wasmtime::Engine::default();
    let plain_module = wasmtime::Module::new(&plain, wat::parse_str(ANSWER_WAT).expect("wat")).expect("module");
    let plain_pre = wasmtime::Linker::<()>::new(&plain).instantiate_pre(&plain_module).expect("pre");

    let mut g = c.benchmark_group("call/core-answer");
    g.bench_function("host", |b| {
        b.to_async(&rt).iter(|| async { host.call("app:answer", vec![]).await.expect("call") })
    });
    g.bench_function("host-metrics-on", |b| {
        b.to_async(&rt).iter(|| async { metered.call("app:answer", vec![]).await.expect("call") })
    });
    g.bench_function("raw-same-engine", |b| {
        b.to_async(&rt).iter(|| async {
            let mut store = new_store(&engine);
            let inst = core_pre.instantiate_async(&mut store).await.expect("instantiate");
            let f = inst.get_typed_func::<(), i32>(&mut store, "answer").expect("export");
            f.call_async(&mut store, ()).await.expect("call")
        })
    });
    g.bench_function("raw-default-sync", |b| {
        b.iter(|| {
            let mut store = wasmtime::Store::new(&plain, ());
            let inst = plain_pre.instantiate(&mut store).expect("instantiate");
            let f = inst.get_typed_func::<(), i32>(&mut store, "answer").expect("export");
            f.call(&mut store, ()).expect("call")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("call/component-compute");
    g.bench_function("host", |b| {
        b.to_async(&rt).iter(|| async { host.call("app:compute", vec![6.into(), 7.into()]).await.expect("call") })
    });
    g.bench_function("host-metrics-on", |b| {
        b.to_async(&rt).iter(|| async { metered.call("app:compute", vec![6.into(), 7.into()]).await.expect("call") })
    });
    g.bench_function("raw-same-engine", |b| {
        b.to_async(&rt).iter(|| async {
            let mut store = new_store(&engine);
            let inst = comp_pre.instantiate_async(&mut store).await.expect("instantiate");
            let f = inst.get_typed_func::<(i32, i32), (i32,)>(&mut store, "compute").expect("export");
            f.call_async(&mut store, (6, 7)).await.expect("call")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
