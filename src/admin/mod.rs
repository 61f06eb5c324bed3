//! The admin endpoint (SPEC §9): an HTTP server beside a running host, serving its Prometheus metrics, JSON
//! views of its processes, supervision tree and cluster, and the dashboard page.
//!
//! [`Admin::start`] binds the address (refusing a non-loopback one without a token), then runs two tasks on the
//! caller's runtime: the accept loop (at most [`MAX_CONNECTIONS`] connections at once, each sending its request
//! headers within [`HEADER_TIMEOUT`] and closed after [`CONNECTION_LIFETIME`]) and a sampler that records the
//! live-process count and the message rate every second for the dashboard's charts (the last [`HISTORY`] samples).
//! The connections belong to the accept loop: dropping the [`Admin`] stops both tasks and every connection with
//! them. Every request is read-only: nothing here can change the host.
//!
//! Routes and their JSON live in [`routes`]; the page is `dashboard.html`, compiled into the binary.

mod routes;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::deploy::SupervisionView;
use crate::error::AdminError;
use crate::host::Host;

/// At most this many connections are served at once; more wait in the kernel's backlog.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// A connection must send its request headers within this time.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection is closed after this time, whatever it does (clients reconnect), so no client keeps a slot.
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How many one-second samples the charts get (five minutes).
pub(crate) const HISTORY: usize = 300;

/// Where the admin endpoint listens and who may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// The address (`127.0.0.1:9100`).
    pub address: SocketAddr,
    /// The bearer token every `/api` and `/metrics` request must carry; required off loopback.
    pub token: Option<String>,
}

impl AdminConfig {
    /// Parses `HOST:PORT`.
    pub fn parse(address: &str, token: Option<String>) -> Result<AdminConfig, AdminError> {
        let address = address.parse().map_err(|e: std::net::AddrParseError| AdminError::BadAddress {
            text: address.to_owned(),
            message: e.to_string(),
        })?;
        Ok(AdminConfig { address, token })
    }

    /// Refuses a non-loopback address without a token, and a token that is too short or not printable.
    pub fn check(&self) -> Result<(), AdminError> {
        match &self.token {
            Some(t) if t.len() < 16 || t.len() > 256 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
                Err(AdminError::BadToken)
            }
            None if !self.address.ip().is_loopback() => Err(AdminError::NoToken { addr: self.address }),
            _ => Ok(()),
        }
    }
}

/// One sample of the charts.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Sample {
    /// Unix time in milliseconds.
    t: u64,
    live: usize,
    messages_per_s: f64,
}

/// What the request handlers share.
pub(crate) struct State {
    host: Host,
    /// The address it listens on (the `Host` header may name it).
    addr: SocketAddr,
    supervision: OnceLock<SupervisionView>,
    token: Option<String>,
    started: Instant,
    history: Mutex<VecDeque<Sample>>,
}

/// A running admin endpoint; dropping it stops it.
pub struct Admin {
    addr: SocketAddr,
    state: Arc<State>,
    tasks: Vec<JoinHandle<()>>,
}

impl Admin {
    /// Starts the endpoint for `host` on the current runtime.
    ///
    /// ```no_run
    /// # async fn f(host: wippy::Host) -> Result<(), Box<dyn std::error::Error>> {
    /// let config = wippy::AdminConfig::parse("127.0.0.1:0", None)?;
    /// let admin = wippy::Admin::start(host.clone(), config).await?;
    /// let deployment = host.start_services().await?;
    /// admin.show(deployment.view());
    /// println!("dashboard at http://{}/", admin.local_addr());
    /// # Ok(()) }
    /// ```
    pub async fn start(host: Host, config: AdminConfig) -> Result<Admin, AdminError> {
        config.check()?;
        let listen_error = |e: std::io::Error| AdminError::Listen { addr: config.address, message: e.to_string() };
        let listener = TcpListener::bind(config.address).await.map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        let state = Arc::new(State {
            host,
            addr,
            supervision: OnceLock::new(),
            token: config.token,
            started: Instant::now(),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
        });
        let tasks = vec![tokio::spawn(accept(listener, state.clone())), tokio::spawn(sample(state.clone()))];
        Ok(Admin { addr, state, tasks })
    }

    /// Shows a deployment's supervision tree (`/api/supervision`, and the supervisor paths of its processes).
    /// Only the first deployment shown counts.
    pub fn show(&self, view: SupervisionView) {
        let _ = self.state.supervision.set(view);
    }

    /// The address it listens on (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Aborted with this task: no connection outlives the endpoint.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "admin endpoint: accept failed");
                // Out of file descriptors, say: give the host a moment instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(routes::handle(&state, req).await) }
            });
            let serve = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, serve).await {
                Ok(Err(e)) => tracing::debug!(error = %e, "admin endpoint: connection ended"),
                Err(_) => tracing::debug!("admin endpoint: connection closed after its lifetime"),
                Ok(Ok(())) => {}
            }
            drop(permit);
        });
    }
}

/// Records a chart sample every second.
async fn sample(state: Arc<State>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = state.host.totals().messages;
    loop {
        tick.tick().await;
        let totals = state.host.totals();
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let s =
            Sample { t, live: state.host.process_count(), messages_per_s: totals.messages.saturating_sub(last) as f64 };
        last = totals.messages;
        let mut h = state.history.lock().unwrap_or_else(|p| p.into_inner());
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(s);
        drop(h);
    }
}
