//! Wippy: a process host for WebAssembly and Lua.
//!
//! WASM modules and Lua scripts declared as entries in YAML registry files run as **functions** (call in, value
//! out) or as **processes** (actors with a PID, a mailbox, monitors and links) under OTP-style supervision, and
//! Rust code calls and orchestrates them. `docs/` in the repository is the reference (registry and entry kinds,
//! capabilities, the value mapping, processes, Lua, supervision, the CLI, limits); `ARCHITECTURE.md` shows the
//! layers and the path of a call and of a spawn.
//!
//! # The API
//! - [`Host`] (built by [`HostBuilder`]): a loaded project. [`Host::call`] calls a function; [`Host::client`] gives
//!   a [`Client`], which has a [`Pid`] and a mailbox, so Rust code can spawn, monitor, link, send and receive like
//!   a process; [`Host::start_services`] deploys the project's services as a [`Deployment`].
//! - What processes exchange: [`Message`]s (with a [`Payload`]), [`Event`]s ([`Exit`], LINK_DOWN, CANCEL), both as
//!   [`Received`]; [`SpawnOptions`] say how a child attaches to its parent.
//! - [`Value`] (with [`Map`]): the one dynamic value that crosses every boundary (WIT, Lua, JSON, YAML);
//!   [`SecurityContext`]: who a call or process acts for.
//! - Errors: [`LoadError`] (with [`Diagnostic`]s), [`CallError`] (with [`LimitExceeded`], [`CapabilityDenied`],
//!   [`ConvertError`]), [`ProcessError`], [`DeployError`], [`CommandError`]. Their `Display` is the bare message;
//!   [`Hinted::hint`] (and [`Diagnostic::hint`]) says what the user can do about it.
//! - Supporting types: [`EntryId`], [`Origin`], [`Pos`], [`Group`], [`Command`], [`Status`], [`TestOutcome`],
//!   the supervision events ([`SupervisorEvent`], [`EventKind`], [`ExitKind`], [`ChildState`]), and the helpers
//!   [`parse_duration`], [`parse_byte_size`], [`sha256_hex`], [`instance_slot_budget`] and [`MAX_CALL_DEPTH`].
//!
//! # A call
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = wippy::Host::load("examples/quickstart")?;
//! let product = host.call("app:compute", vec![6.into(), 7.into()]).await?;
//! assert_eq!(product, wippy::Value::Int(42));
//! # Ok(()) }
//! ```
//!
//! # A monitored spawn
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = wippy::Host::load("examples/quickstart")?;
//! let mut me = host.client();
//! let pid = me.spawn_monitored("app:compute_worker", "app:processes", vec![6.into(), 7.into()]).await?;
//! match me.next_event().await {
//!     Some(wippy::Event::Exit(exit)) => {
//!         assert_eq!(exit.from, pid);
//!         assert_eq!(exit.value, wippy::Value::Int(42)); // EXIT carries the return value
//!     }
//!     other => panic!("expected EXIT, got {other:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! # A deployment
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = wippy::Host::load("examples/supervision")?;
//! let deployment = host.start_services().await?;
//! let states = deployment.states().await;
//! assert!(states.iter().any(|s| s.id == "demo:database"));
//! deployment.stop().await; // in reverse start order
//! assert_eq!(host.process_count(), 0);
//! # Ok(()) }
//! ```
//!
//! The `wippy` binary (`src/main.rs`, `src/cli/`) is a thin CLI over this API.

mod admin;
mod capability;
mod cluster;
mod deploy;
mod duration;
mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod id;
mod lua;
mod process;
mod registry;
mod security;
mod telemetry;
mod testing;
mod value;
mod wasm;

pub use admin::{Admin, AdminConfig};
pub use capability::Group;
pub use cluster::{Cluster, ClusterConfig, ClusterError, NodeEvent, DEFAULT_FAILURE_TIMEOUT, DEFAULT_LISTEN};
pub use deploy::{Deployment, Status, SupervisionNode, SupervisionView};
pub use error::{
    AdminError, CallError, CapabilityDenied, CommandError, ConvertError, DeployError, Diagnostic, Hinted,
    LimitExceeded, LoadError, ProcessError,
};
pub use host::{Command, Host, HostBuilder, Totals};
pub use id::{EntryId, Origin, Pos};
pub use process::{
    Client, Event, Exit, Message, Payload, Pid, ProcessInfo, ProcessState, Received, Scope, SpawnOptions,
    MAX_CALL_DEPTH,
};
pub use registry::settings::{load_settings, AdminSettings, ClusterSettings, Settings};
pub use security::SecurityContext;
pub use supervision::{ChildState, EventKind, ExitKind, SupervisorEvent};
pub use testing::{TestOutcome, DEFAULT_TEST_TIMEOUT};
pub use value::{kind as error_kind, ErrorValue, Map, Value};

/// Parses duration text: `250ms`, `1.5s`, `2m`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    duration::parse(text)
}

/// Parses a byte size: `1048576`, `64MiB`, `512KiB`, `1GiB`, `10MB` (`KB`/`MB`/`GB` decimal, `KiB`/`MiB`/`GiB`
/// binary).
///
/// ```
/// assert_eq!(wippy::parse_byte_size("64MiB"), Some(64 << 20));
/// ```
pub fn parse_byte_size(text: &str) -> Option<u64> {
    registry::fields::parse_byte_size(text)
}

/// The SHA-256 of `bytes` as lower-case hex, as the `hash` field wants it after `sha256:`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    wasm::sha256_hex(bytes)
}

/// How many WASM instances one host can hold at once on this machine: the kernel's mapping limit
/// (`vm.max_map_count`) allows about an eighth of it.
pub fn instance_slot_budget() -> u32 {
    wasm::vma_budget()
}
