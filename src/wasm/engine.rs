//! The WASM engine of one host: wasmtime configuration, compilation with a disk cache, and the epoch ticker.
//!
//! Each [`crate::Host`] owns one [`WasmEngine`] (no process-global engine), so two hosts in one test process do not
//! share pools or caches. It:
//! - configures wasmtime ([`EngineSettings`]): async fibers, epoch interruption, fuel, and the pooling allocator
//!   with a reduced per-instance memory reservation so that 100,000 instances can exist at once;
//! - compiles each distinct binary once ([`WasmEngine::compile`]): identical bytes used by several entries share one
//!   compiled artifact, and compiled code is kept in a disk cache ([`super::cache`]) so a second start is fast;
//! - runs a ticker thread that advances the engine epoch every [`EngineSettings::epoch_tick`]. Every store yields to
//!   tokio at each tick (so a spinning guest cannot hold a worker thread, and can be terminated), and traps when its
//!   `max_execution_ms` deadline has passed.
//!
//! # Pool sizing
//! A linear memory in the pool is one slot of [`EngineSettings::memory_slot`] bytes (default 128 MiB) instead of
//! wasmtime's 4 GiB + guard, so 100,000 slots reserve ~12.5 TiB of *address space* (not memory) instead of ~600 TiB,
//! which would not fit the 128 TiB of a 47-bit address space. Bounds checks become explicit (a small cost on memory
//! access). `max_memory` of an entry may not exceed the slot.
//!
//! Every pooled fiber stack has a guard page, so the pool costs two kernel memory mappings per stack up front, and
//! each live linear memory costs two or three more. Linux limits mappings per process (`vm.max_map_count`, 65,530 by
//! default), so the slot count is capped at what that limit allows ([`vma_budget`]); holding 100,000 live processes
//! needs `sysctl -w vm.max_map_count=1048576` (as Elasticsearch and other mmap-heavy servers require). The host logs a
//! warning naming the sysctl when it caps the pool.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::process::MemoryBudget;

/// Engine settings, fixed when a host is built.
#[derive(Debug, Clone)]
pub(crate) struct EngineSettings {
    /// How many instances (component instances, each with its memory and fiber stack) may exist at once.
    pub instance_slots: u32,
    /// The largest linear memory, and the address space reserved per memory slot.
    pub memory_slot: u64,
    /// The size of each fiber stack (guest frames and host calls made from the guest run on it).
    pub async_stack: usize,
    /// How deep guest frames may go, within the fiber stack.
    pub max_wasm_stack: usize,
    /// How often the epoch advances: the granularity of `max_execution_ms` and of cooperative yields.
    pub epoch_tick: Duration,
    /// The WASM linear memory all instances together may reserve (SPEC §10; default half the machine's memory).
    pub memory_budget: u64,
}

/// The default number of instance slots.
pub(crate) const DEFAULT_INSTANCE_SLOTS: u32 = 110_000;
/// The default memory slot: 128 MiB.
pub(super) const DEFAULT_MEMORY_SLOT: u64 = 128 << 20;
/// The default fiber stack: 1 MiB (only touched pages cost memory).
pub(super) const DEFAULT_ASYNC_STACK: usize = 1 << 20;
/// The default guest stack depth: 512 KiB.
pub(super) const DEFAULT_MAX_WASM_STACK: usize = 512 << 10;
/// The default epoch tick: 2 ms.
pub(super) const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(2);
/// Core instances a component may hold in the pool, on average (its module plus the adapter shims).
pub(super) const CORE_INSTANCES_PER_SLOT: u32 = 4;

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            instance_slots: DEFAULT_INSTANCE_SLOTS,
            memory_slot: DEFAULT_MEMORY_SLOT,
            async_stack: DEFAULT_ASYNC_STACK,
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            epoch_tick: DEFAULT_EPOCH_TICK,
            memory_budget: crate::process::default_memory_budget(),
        }
    }
}

/// How many instance slots the kernel's mapping limit allows one engine: an eighth of `vm.max_map_count` (two
/// mappings per stack up front, two or three per live memory, and room for a second host in the same process).
pub(crate) fn vma_budget() -> u32 {
    let max_map = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(65_530);
    (max_map.saturating_sub(8_192) / 8).clamp(256, u64::from(u32::MAX)) as u32
}

/// A compiled binary: a component or a core module.
#[derive(Clone)]
pub(crate) enum Compiled {
    /// A component.
    Component(wasmtime::component::Component),
    /// A core module.
    Module(wasmtime::Module),
}

/// The engine of one host, with its compile cache and epoch ticker.
pub(crate) struct WasmEngine {
    /// The wasmtime engine.
    pub engine: Engine,
    /// The settings the engine was built with (after capping).
    pub settings: EngineSettings,
    cache: super::cache::CodeCache,
    compiled: Mutex<HashMap<(String, bool), Compiled>>,
    /// The host-wide memory budget every instance charges.
    pub(crate) budget: Arc<MemoryBudget>,
    /// Shared with every [`super::code::Code`]: the epoch must advance while any instance may still run (a
    /// spinning guest of a host being dropped yields, and so ends, only at an epoch tick).
    pub(crate) ticker: Arc<EpochTicker>,
}

impl WasmEngine {
    /// Builds the engine. `settings.instance_slots` is capped by [`vma_budget`].
    pub(crate) fn new(
        mut settings: EngineSettings,
        cache_dir: Option<std::path::PathBuf>,
    ) -> wasmtime::Result<WasmEngine> {
        let budget = vma_budget();
        if settings.instance_slots > budget {
            tracing::warn!(
                requested = settings.instance_slots,
                allowed = budget,
                "capping the instance pool at {budget} slots because of the kernel's `vm.max_map_count`; \
                 to hold more live instances raise it: sysctl -w vm.max_map_count=1048576"
            );
            settings.instance_slots = budget;
        }
        let engine = Engine::new(&engine_config(&settings))?;
        let ticker = EpochTicker::start(engine.clone(), settings.epoch_tick);
        let budget = Arc::new(MemoryBudget::new(
            settings.memory_budget,
            "the host's, `WIPPY_MEMORY_BUDGET` or `HostBuilder::memory_budget`",
        ));
        Ok(WasmEngine {
            engine,
            settings,
            cache: super::cache::CodeCache::new(cache_dir),
            compiled: Mutex::new(HashMap::new()),
            budget,
            ticker: Arc::new(ticker),
        })
    }

    /// Compiles `bytes` (already verified, `sha256` its digest), once per distinct binary: later calls with the same
    /// digest return the same artifact. Compiled code is read from and written to the disk cache.
    pub(crate) fn compile(&self, bytes: &[u8], sha256: &str, component: bool) -> wasmtime::Result<Compiled> {
        let key = (sha256.to_owned(), component);
        if let Some(c) = self.compiled.lock().map_err(|_| wasmtime::format_err!("compile cache poisoned"))?.get(&key) {
            return Ok(c.clone());
        }
        let compiled = self.cache.load_or_compile(&self.engine, bytes, sha256, component)?;
        self.compiled
            .lock()
            .map_err(|_| wasmtime::format_err!("compile cache poisoned"))?
            .insert(key, compiled.clone());
        Ok(compiled)
    }
}

/// The wasmtime configuration for `settings`.
pub(super) fn engine_config(settings: &EngineSettings) -> Config {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.concurrency_support(false);
    cfg.epoch_interruption(true);
    cfg.consume_fuel(true);
    cfg.max_wasm_stack(settings.max_wasm_stack);
    cfg.async_stack_size(settings.async_stack);
    cfg.memory_reservation(settings.memory_slot);
    cfg.memory_guard_size(64 << 10);
    cfg.memory_reservation_for_growth(0);
    cfg.memory_init_cow(true);

    let slots = settings.instance_slots.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots);
    pool.total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_SLOT));
    pool.total_memories(slots.saturating_add(16));
    pool.total_tables(slots.saturating_mul(CORE_INSTANCES_PER_SLOT));
    pool.total_stacks(slots);
    pool.max_memory_size(settings.memory_slot as usize);
    pool.max_memories_per_module(1);
    pool.max_tables_per_module(1);
    pool.table_elements(20_000);
    pool.max_core_instances_per_component(32);
    pool.max_memories_per_component(4);
    pool.max_tables_per_component(16);
    pool.decommit_batch_size(64);
    // With PAGEMAP_SCAN (Linux 6.7+) only the pages an instance dirtied are reset, in place: no madvise, no TLB
    // shootdown, no page faults on reuse. Rust guests touch their shadow stack near 1 MiB, so the window is 2 MiB.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.linear_memory_keep_resident(2 << 20);
    pool.async_stack_keep_resident(16 << 10);
    pool.table_keep_resident(16 << 10);
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    cfg
}

/// Advances the engine's epoch every tick on a thread of its own, until dropped.
pub(crate) struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> EpochTicker {
        let (stop, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wippy-epoch".into())
            .spawn(move || {
                // `recv_timeout` doubles as the tick and the stop signal: dropping the sender ends the loop.
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                    engine.increment_epoch();
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the epoch thread: `max_execution_ms` and cooperative yields are disabled");
        }
        EpochTicker { stop: Some(stop), thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An error chain on one line.
pub(crate) fn flat(e: &wasmtime::Error) -> String {
    e.chain().map(|c| c.to_string().replace('\n', " ")).collect::<Vec<_>>().join(": ")
}
