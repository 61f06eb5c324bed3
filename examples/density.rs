//! Memory per live process: spawns N processes that block in `receive`, and reports the growth of the host's
//! resident memory (and of its page tables) per process.
//!
//! Run: `cargo run --release --example density -- [N] [ENTRY]` (default 100000 `density:idle`, a WASM process;
//! `density:idle_lua` is a Lua one). `DENSITY_PROJECT=DIR` measures another project's entry. Holding 100,000
//! live instances needs `vm.max_map_count` of about 1,000,000 (see `src/runtime/mod.rs`); the example says so and
//! stops when the limit is lower.

use std::time::Instant;

/// The same allocator as the `wippy` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use wippy::{HostBuilder, Value};

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let entry = args.next().unwrap_or_else(|| "density:idle".to_owned());
    let project = std::env::var("DENSITY_PROJECT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/density").to_owned());
    let budget = wippy::instance_slot_budget() as usize;
    if budget < n + 100 {
        eprintln!(
            "vm.max_map_count allows about {budget} instances; {n} need more.\n  hint: sysctl -w vm.max_map_count=1048576"
        );
        std::process::exit(2);
    }
    let host = HostBuilder::new(project).instance_slots((n + 100) as u32).code_cache(None).build()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let mut client = host.client();
        // Warm up: one process, so one-time costs (code, first pool pages) are not counted per process.
        let first = client.spawn(&entry, "density:processes", vec![]).await?;
        client.terminate(&first);
        let (rss0, pte0) = (status("VmRSS:"), status("VmPTE:"));
        let start = Instant::now();
        let mut pids = Vec::with_capacity(n);
        for _ in 0..n {
            pids.push(client.spawn_monitored(&entry, "density:processes", vec![]).await?);
        }
        let spawned = start.elapsed();
        let (rss1, pte1) = (status("VmRSS:"), status("VmPTE:"));
        let live = host.process_count() - 1;
        let per = (rss1.saturating_sub(rss0) as f64) * 1024.0 / n as f64;
        let per_pte = (pte1.saturating_sub(pte0) as f64) * 1024.0 / n as f64;
        println!("entry            {entry}");
        println!("live processes   {live}");
        println!("spawn time       {spawned:.2?} ({:.0} spawns/s, sequential)", n as f64 / spawned.as_secs_f64());
        println!("RSS              {} MiB -> {} MiB", rss0 / 1024, rss1 / 1024);
        println!("RSS per process  {:.1} KiB", per / 1024.0);
        // The guest's own heap as the process table reports it (WASM linear memory, or the Lua bytes charged to
        // the process in its state): the rest of the RSS is the host's side of each process.
        let ours: std::collections::HashSet<&str> = pids.iter().map(|p| p.as_str()).collect();
        let guest: u64 = host.processes().iter().filter(|p| ours.contains(p.pid.as_str())).map(|p| p.memory).sum();
        println!(
            "guest heap       {:.1} KiB per process (the process table's `memory`)",
            guest as f64 / n as f64 / 1024.0
        );
        println!(
            "page tables      {} MiB -> {} MiB ({:.1} KiB per process, not in RSS)",
            pte0 / 1024,
            pte1 / 1024,
            per_pte / 1024.0
        );
        let start = Instant::now();
        for p in &pids {
            client.send(p.as_str(), "bye", Value::Nil)?;
        }
        for _ in 0..n {
            match client.recv().await {
                Some(_) => {}
                None => break,
            }
        }
        println!("wake and exit    {:.2?} for all {n}", start.elapsed());
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
