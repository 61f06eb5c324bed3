//! The admin endpoint's flags (`wippy start --admin ADDR`, SPEC §9) and `wippy ps`, the process table of a running
//! node in the terminal.
//!
//! The address comes from `--admin`, else `.wippy.yaml` `admin.address`; the token from `WIPPY_ADMIN_TOKEN`, else
//! `admin.token`, else the file `admin.token_file` names. `wippy ps` reads the same settings, so in a project folder
//! it finds its own node without flags.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use wippy::{AdminConfig, AdminError, AdminSettings};

use super::{out, Failure, Global};

/// Where `wippy ps` looks when nothing says otherwise.
const DEFAULT_ADMIN: &str = "127.0.0.1:9100";

/// How long `wippy ps` waits for the node.
const PS_TIMEOUT: Duration = Duration::from_secs(10);

/// The flag of `wippy start`.
#[derive(clap::Args, Default)]
pub(crate) struct AdminArgs {
    /// Serve metrics, the process API and the dashboard on `ip:port` (loopback unless a token is set).
    #[arg(long = "admin", value_name = "ADDR")]
    admin: Option<String>,
}

fn settings(global: &Global) -> Result<AdminSettings, Failure> {
    let settings = wippy::load_settings(&global.project).map_err(|e| super::report_load_error(&e))?;
    Ok(settings.admin.unwrap_or_default())
}

fn token(file: &AdminSettings, global: &Global) -> Result<Option<String>, Failure> {
    if let Ok(t) = std::env::var("WIPPY_ADMIN_TOKEN") {
        if !t.is_empty() {
            return Ok(Some(t));
        }
    }
    if let Some(t) = &file.token {
        return Ok(Some(t.clone()));
    }
    match &file.token_file {
        Some(path) => {
            let path = global.project.join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Failure::user(format!("cannot read the admin token file {}: {e}", path.display())))?;
            Ok(Some(text.trim().to_owned()))
        }
        None => Ok(None),
    }
}

/// The admin endpoint `wippy start` serves, if any.
pub(crate) fn config(args: &AdminArgs, global: &Global) -> Result<Option<AdminConfig>, Failure> {
    let file = settings(global)?;
    let Some(address) = args.admin.clone().or(file.address.clone()) else { return Ok(None) };
    let config = AdminConfig::parse(&address, token(&file, global)?).map_err(|e| Failure::of(&e))?;
    config.check().map_err(|e: AdminError| Failure::of(&e))?;
    Ok(Some(config))
}

/// Arguments of `wippy ps`.
#[derive(clap::Args)]
pub(crate) struct PsArgs {
    /// The node's admin endpoint, `ip:port` (default: `.wippy.yaml` `admin.address`, else 127.0.0.1:9100).
    #[arg(long = "admin", value_name = "ADDR")]
    admin: Option<String>,
    /// Largest first by memory, mailbox, cpu, or oldest first by age (default: PID order).
    #[arg(long, value_parser = ["memory", "mailbox", "cpu", "age", "pid"])]
    sort: Option<String>,
    /// Show at most N processes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    limit: Option<u32>,
    /// Print the JSON the node answered instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Deserialize)]
struct Table {
    node: String,
    /// How many processes live there (the table may show fewer).
    #[serde(default)]
    total: Option<usize>,
    processes: Vec<ProcessRow>,
}

/// The fields of [`ProcessInfo`] the table shows (the node may be a newer version with more).
#[derive(serde::Deserialize)]
struct ProcessRow {
    pid: String,
    entry: Option<String>,
    state: String,
    age_ms: u64,
    mailbox: usize,
    memory: u64,
    cpu_us: u64,
    names: Vec<String>,
    restarts: u32,
}

/// Runs `wippy ps`.
pub(crate) fn ps(args: PsArgs, global: &Global) -> Result<ExitCode, Failure> {
    let file = settings(global)?;
    let address = args.admin.clone().or(file.address.clone()).unwrap_or_else(|| DEFAULT_ADMIN.to_owned());
    let token = token(&file, global)?;
    let mut query = Vec::new();
    if let Some(s) = &args.sort {
        query.push(format!("sort={s}"));
    }
    if let Some(n) = args.limit {
        query.push(format!("limit={n}"));
    }
    let path = format!("/api/processes?{}", query.join("&"));
    let body = super::block_on(get(&address, &path, token.as_deref()))??;
    if args.json {
        out(String::from_utf8_lossy(&body))?;
        return Ok(ExitCode::SUCCESS);
    }
    let table: Table = serde_json::from_slice(&body).map_err(|e| {
        Failure::host(format!("the node at {address} answered something that is not a process table: {e}"))
    })?;
    print_table(&table)?;
    Ok(ExitCode::SUCCESS)
}

fn print_table(t: &Table) -> Result<(), Failure> {
    let rows: Vec<[String; 9]> = t
        .processes
        .iter()
        .map(|p| {
            [
                p.pid.clone(),
                p.entry.clone().unwrap_or_else(|| "-".into()),
                p.state.clone(),
                age(p.age_ms),
                p.mailbox.to_string(),
                bytes(p.memory),
                format!("{:.1}ms", p.cpu_us as f64 / 1000.0),
                p.restarts.to_string(),
                if p.names.is_empty() { "-".into() } else { p.names.join(",") },
            ]
            .map(|cell| printable(&cell))
        })
        .collect();
    let head = ["PID", "ENTRY", "STATE", "AGE", "MAILBOX", "MEMORY", "CPU", "RESTARTS", "NAMES"].map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String; 9]| {
        let cells: Vec<String> = r.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        cells.join("  ").trim_end().to_owned()
    };
    out(line(&head))?;
    for r in &rows {
        out(line(r))?;
    }
    match t.total {
        Some(total) if total > rows.len() => {
            out(format!("{} of {total} processes on node `{}`", rows.len(), printable(&t.node)))
        }
        _ => out(format!("{} processes on node `{}`", rows.len(), printable(&t.node))),
    }
}

/// Guest-chosen text (names, entries) with its control characters escaped, so it cannot drive the terminal.
fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
    } else {
        s.to_owned()
    }
}

fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{}.{}s", s, (ms % 1000) / 100),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.1}KiB", n as f64 / 1024.0),
        _ => format!("{:.1}MiB", n as f64 / 1_048_576.0),
    }
}

/// GETs `path` from the admin endpoint at `address`.
async fn get(address: &str, path: &str, token: Option<&str>) -> Result<Vec<u8>, Failure> {
    let unreachable = |e: String| {
        Failure::user(format!("cannot reach the admin endpoint at {address}: {e}"))
            .hint("start the node with `wippy start --admin ADDR` (or `admin.address` in .wippy.yaml), and pass that address with `--admin`")
    };
    let work = async {
        let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| unreachable(e.to_string()))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tokio::spawn(conn);
        let mut req = http::Request::get(path).header(http::header::HOST, address);
        if let Some(t) = token {
            req = req.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| Failure::host(e.to_string()))?;
        let resp = send.send_request(req).await.map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?.to_bytes();
        match status.as_u16() {
            200 => Ok(body.to_vec()),
            401 => Err(Failure::user(format!("the admin endpoint at {address} wants a token"))
                .hint("set WIPPY_ADMIN_TOKEN, or `admin.token` / `admin.token_file` in .wippy.yaml")),
            _ => Err(Failure::user(format!(
                "the admin endpoint at {address} answered {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    };
    tokio::time::timeout(PS_TIMEOUT, work)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", PS_TIMEOUT.as_secs())))?
}
