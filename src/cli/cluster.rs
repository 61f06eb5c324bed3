//! The cluster flags of `wippy start`, `run`, `test` and `call` (SPEC §8) and how they combine with `.wippy.yaml`:
//! a flag wins over the file, `WIPPY_CLUSTER_SECRET` over the file's secret; `--node` or `--join` turn the cluster
//! on even when the file does not. `run`, `test` and `call` join as short-lived nodes: they wait until they see
//! every node the gossip knows (at most [`SETTLE`]), do their work, and leave.

use std::path::PathBuf;

use std::time::{Duration, Instant};

use wippy::{ClusterConfig, ClusterError, Host};

/// How long a short-lived node waits to be connected to the cluster before its work starts.
const SETTLE: Duration = Duration::from_secs(10);

/// How long the connections must stay complete before a short-lived node starts its work.
const STABLE: Duration = Duration::from_millis(500);

use super::{Failure, Global};

/// The cluster flags.
#[derive(clap::Args, Default)]
pub(crate) struct ClusterArgs {
    /// This node's name in the cluster (turns the cluster on).
    #[arg(long = "node", value_name = "NAME")]
    node: Option<String>,
    /// Where to listen for gossip (UDP) and sessions (TCP): `ip:port` (default 127.0.0.1:7946).
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Option<String>,
    /// Nodes to join through, `host:port[,host:port...]` (turns the cluster on).
    #[arg(long = "join", value_name = "ADDRS")]
    join: Option<String>,
    /// A file holding the cluster's shared secret (else WIPPY_CLUSTER_SECRET, else `.wippy.yaml`).
    #[arg(long = "secret-file", value_name = "FILE")]
    secret_file: Option<PathBuf>,
}

/// The cluster this command joins, if any.
pub(crate) fn config(args: &ClusterArgs, global: &Global) -> Result<Option<ClusterConfig>, Failure> {
    let settings = wippy::load_settings(&global.project).map_err(|e| super::report_load_error(&e))?;
    let file = settings.cluster.unwrap_or_default();
    if !file.enabled && args.node.is_none() && args.join.is_none() {
        return Ok(None);
    }
    let name = args.node.clone().or(file.name).ok_or_else(|| {
        Failure::user("the cluster needs a node name").hint("pass `--node NAME`, or set `cluster.name` in .wippy.yaml")
    })?;
    let secret =
        match (&args.secret_file, std::env::var("WIPPY_CLUSTER_SECRET").ok(), file.secret_key, file.secret_file) {
            (Some(path), _, _, _) => Some(read_secret(path)?),
            (None, Some(s), _, _) if !s.is_empty() => Some(s),
            (None, _, Some(key), _) => Some(key),
            (None, _, None, Some(path)) => Some(read_secret(&global.project.join(path))?),
            _ => None,
        };
    let mut config = ClusterConfig::new(name, secret.unwrap_or_default());
    if let Some(listen) = args.listen.clone().or(file.listen) {
        config.listen = listen.parse().map_err(|_| {
            Failure::user(format!("`--listen` must be an address `ip:port`, got `{listen}`"))
                .hint("like `127.0.0.1:7946`, or port 0 for any free port")
        })?;
    }
    config.join = match &args.join {
        Some(j) => j.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        None => file.join,
    };
    if let Some(t) = file.failure_timeout {
        config.failure_timeout = t;
    }
    config.check().map_err(|e: ClusterError| Failure::of(&e))?;
    Ok(Some(config))
}

fn read_secret(path: &std::path::Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::user(format!("cannot read the cluster secret file {}: {e}", path.display())))?;
    Ok(text.trim().to_owned())
}

/// Joins a short-lived node (`run`, `test`, `call`) and waits until it is connected to every node the gossip
/// knows; an error when none of the seeds answers within [`SETTLE`].
pub(crate) async fn join_short(host: &Host, config: Option<&ClusterConfig>) -> Result<(), Failure> {
    let Some(config) = config else { return Ok(()) };
    let cluster = host.join_cluster(config).await.map_err(|e| Failure::of(&e))?;
    if config.join.is_empty() {
        return Ok(());
    }
    // Settled for a while: the gossip may still be telling of nodes the seed knows.
    let deadline = Instant::now() + SETTLE;
    let mut since: Option<Instant> = None;
    loop {
        since = if cluster.settled() { since.or_else(|| Some(Instant::now())) } else { None };
        if since.is_some_and(|t| t.elapsed() >= STABLE) {
            break;
        }
        if Instant::now() > deadline {
            if cluster.peers().is_empty() {
                return Err(Failure::user(format!("could not reach the cluster through {}", config.join.join(", ")))
                    .hint("check that a node listens there and shares this secret"));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
