//! Soak: a supervisor restarts two services that crash at once, a WASM one (a trap in its method) and a Lua one
//! (which registers a name and joins a group, then raises), until N spawn / crash / restart cycles have passed.
//! Every 10% of the way, and at 10,000, 100,000 and 1,000,000 cycles, it prints the host's resident memory, its
//! live processes, registered names and groups: after warm-up they must stay flat.
//!
//! Run: `cargo run --release --example soak -- [N]` (default 1000000). Results go to BENCHMARKS.md.

use std::time::Instant;

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use wippy::{EntryId, EventKind, ExitKind, HostBuilder};

fn rss_kib() -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const PROJECT: &str = r#"namespace: soak
entries:
  - {name: bin, kind: fs.directory, directory: ./bin}
  - {name: processes, kind: process.host, host: {max_processes: 1000}}
  - {name: wasm_crasher, kind: process.wasm, fs: bin, path: /trap.wasm, hash: "sha256:HASH", method: run}
  - name: lua_crasher
    kind: process.lua
    method: main
    source: |
      local function main()
        process.registry.register("soak-lua")
        process.pg.join("soak-group")
        error("boom")
      end
      return {main = main}
  - name: wasm_service
    kind: process.service
    process: wasm_crasher
    host: processes
    lifecycle: {restart: {initial_delay: 0, jitter: 0}}
  - name: lua_service
    kind: process.service
    process: lua_crasher
    host: processes
    lifecycle: {restart: {initial_delay: 0, jitter: 0}}
  - name: sup
    kind: process.supervisor
    intensity: {max_restarts: 1000000000, period: 1s}
    children: [wasm_service, lua_service]
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `wippy` binary does: no host backtrace per guest trap.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let n: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let trap = wat::parse_str(r#"(module (func (export "run") unreachable))"#)?;
    std::fs::create_dir_all(dir.path().join("bin"))?;
    std::fs::create_dir_all(dir.path().join("src"))?;
    std::fs::write(dir.path().join("bin/trap.wasm"), &trap)?;
    std::fs::write(dir.path().join("src/_index.yaml"), PROJECT.replace("HASH", &wippy::sha256_hex(&trap)))?;
    let host = HostBuilder::new(dir.path()).instance_slots(1024).code_cache(None).build()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let mut d = host.start_deployment(&[EntryId::parse("soak:sup")?]).await?;
        let start = Instant::now();
        let mut marks: Vec<u64> = (1..=10).map(|i| n * i / 10).chain([10_000, 100_000, 1_000_000]).collect();
        marks.retain(|m| *m <= n && *m > 0);
        marks.sort_unstable();
        marks.dedup();
        println!("{:>10} {:>8} {:>9} {:>6} {:>7} {:>9}", "cycles", "seconds", "RSS MiB", "live", "names", "groups");
        let mut cycles: u64 = 0;
        let mut next = 0;
        while next < marks.len() {
            match d.next_event().await {
                Some(e) if matches!(e.kind, EventKind::Exited(ExitKind::Abnormal(_))) => cycles += 1,
                Some(e) if matches!(e.kind, EventKind::GaveUp(_)) => return Err(format!("gave up: {e:?}").into()),
                Some(_) => continue,
                None => return Err("the deployment ended".into()),
            }
            if cycles == marks[next] {
                let (names, groups) = host.name_and_group_counts();
                println!(
                    "{cycles:>10} {:>8.1} {:>9.1} {:>6} {names:>7} {groups:>9}",
                    start.elapsed().as_secs_f64(),
                    rss_kib() as f64 / 1024.0,
                    host.process_count(),
                );
                next += 1;
            }
        }
        d.stop().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
