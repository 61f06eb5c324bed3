//! The admin endpoint's routes: one function per path, each answering from a snapshot of the host.
//!
//! | path | answer |
//! |---|---|
//! | `GET /` | the dashboard page (no token needed: it holds no data) |
//! | `GET /metrics` | Prometheus text (404 unless the host keeps metrics) |
//! | `GET /api/overview` | totals, uptime and the chart samples |
//! | `GET /api/processes?sort=memory\|mailbox\|cpu\|age&limit=N` | the process table ([`DEFAULT_LIMIT`] rows unless `limit` says) |
//! | `GET /api/processes/{pid}` | one process (404 once it has exited) |
//! | `GET /api/supervision` | the supervision tree (`{"tree": null}` without a deployment) |
//! | `GET /api/cluster` | this node and its peers (404 unless clustered) |
//!
//! Errors are JSON `{"error": "..."}` with 400 (a bad query), 401 (a missing or wrong token), 404, 405, or 421 (a
//! `Host` header naming another machine, refused without a token against DNS rebinding).

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::State;
use crate::process::ProcessInfo;

/// The dashboard page.
const DASHBOARD: &str = include_str!("dashboard.html");

/// The largest `limit` a process query may ask for, and what a query without one gets.
pub(super) const MAX_LIMIT: usize = 100_000;
/// The processes a query without `limit` gets (`total` says how many there are).
pub(super) const DEFAULT_LIMIT: usize = 10_000;

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

fn json(status: StatusCode, v: &impl serde::Serialize) -> Reply {
    let body = serde_json::to_vec(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
    reply(status, "application/json", body)
}

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    json(status, &json!({ "error": message.into() }))
}

/// Answers one request.
pub(super) async fn handle<B>(state: &State, req: Request<B>) -> Reply {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "the admin endpoint only answers GET");
    }
    let path = req.uri().path().to_owned();
    if path == "/" {
        return reply(StatusCode::OK, "text/html; charset=utf-8", DASHBOARD);
    }
    if !allowed_host(state, &req) {
        // Without a token, a page on another origin could reach a loopback endpoint by DNS rebinding.
        return error(StatusCode::MISDIRECTED_REQUEST, "the `Host` header must name this endpoint");
    }
    if !authorized(state, &req) {
        let mut r = error(StatusCode::UNAUTHORIZED, "a bearer token is required: `Authorization: Bearer <token>`");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return r;
    }
    let query = req.uri().query().unwrap_or("");
    match path.as_str() {
        "/metrics" => match state.host.metrics_text() {
            Some(text) => reply(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", text),
            None => error(StatusCode::NOT_FOUND, "metrics are off on this host"),
        },
        "/api/overview" => overview(state),
        "/api/processes" => processes(state, query).await,
        "/api/supervision" => match state.supervision.get() {
            Some(view) => json(StatusCode::OK, &json!({ "tree": view.tree().await })),
            None => json(StatusCode::OK, &json!({ "tree": null })),
        },
        "/api/cluster" => cluster(state),
        p => match p.strip_prefix("/api/processes/") {
            Some(pid) => process(state, pid).await,
            None => error(StatusCode::NOT_FOUND, format!("no such path `{p}`")),
        },
    }
}

/// Without a token, only requests naming a loopback address, `localhost` or the endpoint's own address are
/// answered (with a token, the token decides).
fn allowed_host<B>(state: &State, req: &Request<B>) -> bool {
    if state.token.is_some() {
        return true;
    }
    let Some(host) = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()) else { return true };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip == state.addr.ip())
}

/// Whether the request carries the token (always, when none is configured). Compared in constant time.
fn authorized<B>(state: &State, req: &Request<B>) -> bool {
    let Some(token) = &state.token else { return true };
    let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let given = match given.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().as_bytes(),
        _ => b"",
    };
    given.len() == token.len() && given.iter().zip(token.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn node(state: &State) -> String {
    state.host.cluster().map_or_else(|| "local".to_owned(), |c| c.node().to_owned())
}

fn overview(state: &State) -> Reply {
    let t = state.host.totals();
    let history: Vec<super::Sample> = state.history.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
    json(
        StatusCode::OK,
        &json!({
            "node": node(state),
            "uptime_ms": state.started.elapsed().as_millis() as u64,
            "live": state.host.live_processes(),
            "spawned": t.spawned,
            "exited": t.exited,
            "failed": t.failed,
            "killed": t.killed,
            "messages": t.messages,
            "dropped": t.dropped,
            "restarts": t.restarts,
            "history": history,
        }),
    )
}

async fn processes(state: &State, query: &str) -> Reply {
    let (mut sort, mut limit) = (None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "sort" => match &*v {
                "memory" | "mailbox" | "cpu" | "age" | "pid" => sort = Some(v.into_owned()),
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("unknown sort `{other}`: use memory, mailbox, cpu, age or pid"),
                    )
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = Some(n),
                _ => return error(StatusCode::BAD_REQUEST, format!("`limit` must be 1 to {MAX_LIMIT}, got `{v}`")),
            },
            other => return error(StatusCode::BAD_REQUEST, format!("unknown parameter `{other}`: use sort, limit")),
        }
    }
    let mut procs = state.host.processes();
    let total = procs.len();
    sort_processes(&mut procs, sort.as_deref());
    procs.truncate(limit.unwrap_or(DEFAULT_LIMIT));
    if let Some(view) = state.supervision.get() {
        view.annotate(&mut procs).await;
    }
    json(StatusCode::OK, &json!({ "node": node(state), "total": total, "count": procs.len(), "processes": procs }))
}

/// Sorts largest first (oldest first for `age`); PID order otherwise.
pub(crate) fn sort_processes(procs: &mut [ProcessInfo], by: Option<&str>) {
    match by {
        Some("memory") => procs.sort_by_key(|p| std::cmp::Reverse(p.memory)),
        Some("mailbox") => procs.sort_by_key(|p| std::cmp::Reverse(p.mailbox)),
        Some("cpu") => procs.sort_by_key(|p| std::cmp::Reverse(p.cpu_us)),
        Some("age") => procs.sort_by_key(|p| std::cmp::Reverse(p.age_ms)),
        _ => {}
    }
}

async fn process(state: &State, pid: &str) -> Reply {
    let pid = percent_encoding::percent_decode_str(pid).decode_utf8_lossy();
    match state.host.process_info(&pid) {
        Some(p) => {
            let mut one = [p];
            if let Some(view) = state.supervision.get() {
                view.annotate(&mut one).await;
            }
            json(StatusCode::OK, &one[0])
        }
        None => error(StatusCode::NOT_FOUND, format!("no live process `{pid}`")),
    }
}

fn cluster(state: &State) -> Reply {
    let Some(c) = state.host.cluster() else {
        return error(StatusCode::NOT_FOUND, "this host is not in a cluster");
    };
    let peers: Vec<_> = c.peers().into_iter().map(|n| json!({ "node": n, "state": "up" })).collect();
    json(StatusCode::OK, &json!({ "node": c.node(), "address": c.listen_addr().to_string(), "peers": peers }))
}
