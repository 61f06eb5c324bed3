//! Introspection (SPEC §9): the admin endpoint's metrics and JSON against a running host and deployment, its
//! token rules, `wippy ps` and the dashboard in headless Chromium against `wippy start` on `examples/supervision`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wippy::{Admin, AdminConfig, EntryId, Host, Value};

use crate::support::{functions, wasm_fn, StderrLines};

const DEADLINE: Duration = Duration::from_secs(10);

fn project() -> crate::support::Project {
    let process = |name: &str, method: &str| {
        wasm_fn(name, "procs.wasm", method, "    imports: [wippy:process]\n")
            .replace("kind: function.wasm", "kind: process.wasm")
    };
    let service = |name: &str, process: &str, input: &str| {
        format!(
            "  - name: {name}\n    kind: process.service\n    process: {process}\n    host: processes\n    input: {input}\n    lifecycle:\n      stop_timeout: 1s\n      restart: {{initial_delay: 10ms, max_delay: 20ms, jitter: 0}}\n"
        )
    };
    functions(&[
        "  - name: processes\n    kind: process.host\n    host: {workers: 2, max_processes: 100}\n".to_owned(),
        process("wait", "wait"),
        process("fail", "fail"),
        process("drain", "drain"),
        process("blast", "blast"),
        wasm_fn("compute", "compute.wasm", "compute", ""),
        service("steady", "wait", "[]"),
        service("crashing", "fail", "[\"boom\"]"),
    ])
}

/// GETs `path` from `addr`; the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    request(addr, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\r\n")).await
}

/// Sends a raw request; the status and the body (failing the test after the deadline).
async fn request(addr: std::net::SocketAddr, req: &str) -> (u16, String) {
    let mut buf = Vec::new();
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connects");
        s.write_all(req.as_bytes()).await.expect("writes");
        s.read_to_end(&mut buf).await.expect("reads");
    };
    tokio::time::timeout(DEADLINE, exchange).await.expect("the endpoint answers in time");
    let text = String::from_utf8(buf).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { unchunk(body) } else { body.into() };
    (status, body)
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

async fn get_json(addr: std::net::SocketAddr, path: &str) -> Json {
    let (status, body) = get(addr, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The samples of `name` in the metrics text, as (labels, value).
fn samples(text: &str, name: &str) -> Vec<(std::collections::HashMap<String, String>, f64)> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the metrics text parses as Prometheus exposition");
    scrape
        .samples
        .into_iter()
        .filter(|s| s.metric == name)
        .map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            };
            (s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(), v)
        })
        .collect()
}

fn total(text: &str, name: &str, label: Option<(&str, &str)>) -> f64 {
    samples(text, name)
        .into_iter()
        .filter(|(l, _)| label.is_none_or(|(k, v)| l.get(k).map(String::as_str) == Some(v)))
        .map(|(_, v)| v)
        .sum()
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn running() -> (crate::support::Project, Host, wippy::Deployment, Admin) {
    let p = project();
    let host = crate::support::builder(p.path()).metrics(true).build().expect("loads");
    let admin = Admin::start(host.clone(), AdminConfig::parse("127.0.0.1:0", None).expect("address"))
        .await
        .expect("the admin endpoint starts");
    let ids = [EntryId::parse("t:steady").expect("id"), EntryId::parse("t:crashing").expect("id")];
    let deployment = host.start_deployment(&ids).await.expect("the deployment starts");
    admin.show(deployment.view());
    (p, host, deployment, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_move_with_the_host() {
    let (_p, host, _deployment, admin) = running().await;
    let addr = admin.local_addr();
    let (_, before) = get(addr, "/metrics", None).await;
    let spawned_before = total(&before, "wippy_processes_spawned_total", None);

    // Spawns, messages, exits, calls.
    let mut c = host.client();
    let drain = c.spawn_monitored("t:drain", "t:processes", vec![Value::Int(200)]).await.expect("spawns");
    c.spawn("t:blast", "t:processes", vec![Value::from(drain.as_str()), Value::Int(200)]).await.expect("spawns");
    loop {
        match tokio::time::timeout(DEADLINE, c.next_event()).await.expect("an EXIT in time") {
            Some(wippy::Event::Exit(x)) if x.from == drain => break,
            _ => continue,
        }
    }
    host.call("t:compute", vec![Value::Int(1), Value::Int(2)]).await.expect("calls");
    let _ = host.call("t:compute", vec![Value::from("not a number")]).await;

    // The blast's own EXIT may come a moment after the drain's.
    let text = until("the counters to move", async || {
        let (status, text) = get(addr, "/metrics", None).await;
        assert_eq!(status, 200);
        let restarts = total(&text, "wippy_restarts_total", None);
        let errors = total(&text, "wippy_process_exits_total", Some(("outcome", "error")));
        let normal = total(&text, "wippy_process_exits_total", Some(("outcome", "normal")));
        (restarts >= 2.0 && errors >= 2.0 && normal >= 2.0).then_some(text)
    })
    .await;
    assert!(total(&text, "wippy_processes_spawned_total", None) >= spawned_before + 2.0, "{text}");
    assert!(total(&text, "wippy_messages_sent_total", None) >= 200.0, "{text}");
    assert_eq!(total(&text, "wippy_calls_total", Some(("outcome", "ok"))), 1.0, "{text}");
    assert_eq!(total(&text, "wippy_calls_total", Some(("outcome", "error"))), 1.0, "{text}");
    assert!(text.contains("wippy_call_duration_seconds_bucket{entry=\"t:compute\""), "{text}");
    assert!(total(&text, "wippy_processes_live", Some(("host", "t:processes"))) >= 1.0, "{text}");
    assert!(total(&text, "wippy_wasm_memory_bytes", None) > 0.0, "{text}");
    for name in ["wippy_mailbox_depth_max", "wippy_pool_queue_depth", "wippy_fuel_consumed_total"] {
        assert!(!samples(&text, name).is_empty(), "{name} missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_endpoints_show_the_processes_tree_and_totals() {
    let (_p, host, _deployment, admin) = running().await;
    let addr = admin.local_addr();
    let c = host.client();
    let waiter = c.spawn("t:wait", "t:processes", vec![]).await.expect("spawns");

    let all = get_json(addr, "/api/processes").await;
    let procs = all["processes"].as_array().expect("a list");
    let steady = procs.iter().find(|p| p["names"][0] == "t:steady").expect("the steady service is listed");
    for field in [
        "pid",
        "entry",
        "host",
        "state",
        "age_ms",
        "mailbox",
        "memory",
        "cpu_us",
        "fuel",
        "links",
        "monitors",
        "names",
        "groups",
        "supervisor",
        "restarts",
    ] {
        assert!(steady.get(field).is_some(), "`{field}` missing: {steady}");
    }
    assert_eq!(steady["entry"], "t:wait");
    assert_eq!(steady["supervisor"], serde_json::json!(["wippy:root", "t:steady"]));
    assert_eq!(steady["state"], "receiving", "{steady}");
    assert!(steady["memory"].as_u64().expect("memory") > 0, "{steady}");
    let one = get_json(addr, &format!("/api/processes/{}", waiter.as_str().replace('|', "%7C"))).await;
    assert_eq!(one["pid"], waiter.as_str());

    // Sorting and limits, and their errors.
    let top = get_json(addr, "/api/processes?sort=memory&limit=1").await;
    assert_eq!(top["processes"].as_array().map(Vec::len), Some(1));
    assert_eq!(get(addr, "/api/processes?sort=colour", None).await.0, 400);
    assert_eq!(get(addr, "/api/processes?limit=0", None).await.0, 400);
    assert_eq!(get(addr, "/api/processes/%7Bt:processes%7C0xfffff%7D", None).await.0, 404);
    assert_eq!(get(addr, "/nowhere", None).await.0, 404);
    // Without a token, a `Host` naming another machine is refused (DNS rebinding).
    let rebound = "GET /api/processes HTTP/1.1\r\nHost: evil.example:9100\r\nConnection: close\r\n\r\n";
    assert_eq!(request(addr, rebound).await.0, 421);
    let local = "GET /api/processes HTTP/1.1\r\nHost: localhost:9100\r\nConnection: close\r\n\r\n";
    assert_eq!(request(addr, local).await.0, 200);

    // The tree: the root with both services, the crashing one restarted.
    let tree = until("a restart in the tree", async || {
        let tree = get_json(addr, "/api/supervision").await["tree"].clone();
        let crashing = tree["children"].as_array()?.iter().find(|c| c["id"] == "t:crashing")?.clone();
        (crashing["restarts"].as_u64()? >= 1).then_some(tree)
    })
    .await;
    assert_eq!(tree["id"], "wippy:root");
    let steady_node = &tree["children"].as_array().expect("children")[0];
    assert_eq!((steady_node["kind"].as_str(), steady_node["state"].as_str()), (Some("service"), Some("running")));
    assert_eq!(steady_node["pid"], steady["pid"]);

    let overview = get_json(addr, "/api/overview").await;
    assert!(overview["spawned"].as_u64().expect("spawned") >= 3, "{overview}");
    assert!(overview["restarts"].as_u64().expect("restarts") >= 1, "{overview}");
    assert_eq!(get(addr, "/api/cluster", None).await.0, 404, "not clustered");
    let (status, page) = get(addr, "/", None).await;
    assert!(status == 200 && page.contains("id=\"processes\""), "the dashboard page is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_the_data_and_a_public_address_needs_one() {
    let p = project();
    let host = crate::support::builder(p.path()).build().expect("loads");
    let e = AdminConfig::parse("0.0.0.0:0", None).expect("address").check().expect_err("refused");
    assert!(crate::support::shown(&e).contains("not on loopback and has no token\nhint: set `admin.token`"), "{e}");
    assert!(AdminConfig::parse("0.0.0.0:0", Some("short".into())).expect("address").check().is_err(), "too short");
    assert!(AdminConfig::parse("nowhere", None).is_err());

    let token = "0123456789abcdef-token";
    let config = AdminConfig::parse("127.0.0.1:0", Some(token.into())).expect("address");
    let admin = Admin::start(host.clone(), config).await.expect("starts");
    let addr = admin.local_addr();
    assert_eq!(get(addr, "/api/processes", None).await.0, 401);
    assert_eq!(get(addr, "/api/processes", Some("0123456789abcdef-wrong")).await.0, 401);
    assert_eq!(get(addr, "/api/processes", Some(token)).await.0, 200);
    let lower =
        format!("GET /api/processes HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: bearer {token}\r\n\r\n");
    assert_eq!(request(addr, &lower).await.0, 200, "the scheme is case-insensitive");
    assert_eq!(get(addr, "/metrics", Some(token)).await.0, 404, "metrics are off on this host");
    assert_eq!(get(addr, "/", None).await.0, 200, "the page itself holds no data");

    // The CLI refuses a public address without a token before it starts anything.
    let out = Command::new("timeout")
        .args([
            "20",
            env!("CARGO_BIN_EXE_wippy"),
            "-C",
            p.path().to_str().expect("utf-8"),
            "start",
            "--admin",
            "0.0.0.0:0",
        ])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not on loopback and has no token") && err.contains("hint:"), "{err}");
}

/// A `wippy start` that is stopped (SIGTERM) when dropped, also when the test fails.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// Runs `wippy start --admin` on `examples/supervision`; the child and the admin address.
fn start_supervision_example() -> (Started, StderrLines, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", "examples/supervision", "start", "--admin", "127.0.0.1:0"])
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("wippy start runs");
    let mut lines = StderrLines::of(&mut child);
    lines.wait_for("admin endpoint and dashboard on http://");
    let line = lines.seen.last().expect("the line").clone();
    let addr = line.rsplit("http://").next().expect("an address").trim_end_matches('/').to_owned();
    lines.wait_for("deployment running");
    (Started(child), lines, addr)
}

#[test]
fn wippy_ps_and_the_dashboard_show_the_supervision_example() {
    let (child, _lines, addr) = start_supervision_example();
    let ps = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wippy")).args(["ps", "--admin", &addr]).args(args).output();
        out.expect("wippy ps runs")
    };
    let out = ps(&[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let checks = out.status.success()
        && text.starts_with("PID")
        && ["demo:database", "demo:api", "demo:steady", "receiving"].iter().all(|s| text.contains(s));
    let sorted = ps(&["--sort", "cpu", "--limit", "1"]);
    let one = String::from_utf8_lossy(&sorted.stdout).lines().count();
    let dashboard = dashboard_in_chromium(&addr);
    drop(child);
    assert!(checks, "wippy ps:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(one, 3, "a header, one process and the summary line");
    let bad = Command::new(env!("CARGO_BIN_EXE_wippy")).args(["ps", "--admin", "127.0.0.1:1"]).output().expect("runs");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(bad.status.code() == Some(1) && err.contains("cannot reach the admin endpoint") && err.contains("hint:"));
    if let Some(dom) = dashboard {
        let rows = dom.matches("class=\"proc-row").count();
        assert!(rows >= 3, "the process table shows the services ({rows} rows):\n{dom}");
        assert!(dom.matches("sup-node").count() >= 5, "the supervision tree is drawn:\n{dom}");
        assert!(dom.contains("demo:workers") && dom.contains("demo:database"), "{dom}");
    }
}

/// The dashboard's DOM after it ran its scripts in headless Chromium, with a screenshot next to the test output;
/// `None` (said on stderr) when Chromium is not installed, unless `WIPPY_REQUIRE_CHROMIUM` is set (CI installs it).
/// Chromium runs at the lowest CPU priority: the other tests of the run share the two cores with it.
fn dashboard_in_chromium(addr: &str) -> Option<String> {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok())
    else {
        assert!(std::env::var_os("WIPPY_REQUIRE_CHROMIUM").is_none(), "Chromium is required here but not installed");
        eprintln!("SKIPPED the dashboard browser check: Chromium is not installed (apt-get install chromium)");
        return None;
    };
    let url = format!("http://{addr}/");
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,900"];
    let run = |extra: &[&str]| {
        let budget = ["--virtual-time-budget=4000"];
        Command::new("timeout")
            .args(["60", "nice", "-n", "19", browser])
            .args(common)
            .args(budget)
            .args(extra)
            .arg(&url)
            .output()
    };
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let screenshot = run(&[&format!("--screenshot={}", shot.display())]).expect("chromium runs");
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&screenshot.stderr));
    let dom = run(&["--dump-dom"]).expect("chromium runs");
    Some(String::from_utf8_lossy(&dom.stdout).into_owned())
}

/// What the stand-in collector received: (path, body) per request.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A stand-in OTLP/HTTP collector: answers every POST with 200 and keeps what it got.
fn collector() -> (String, Posts) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("an address").to_string();
    let got = Posts::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
                let mut writer = stream;
                loop {
                    let (mut path, mut len) = (String::new(), 0usize);
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    path.push_str(line.split(' ').nth(1).unwrap_or(""));
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    keep.lock().expect("not poisoned").push((path, body));
                    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                    if writer.write_all(ok.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, got)
}

#[test]
fn otlp_exports_the_spans_of_processes_calls_and_messages() {
    let (addr, got) = collector();
    let out = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["--otlp", &format!("http://{addr}"), "-C", "tests/fixtures/projects/lua_suite", "test", "inbox_order"])
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("wippy test runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", String::from_utf8_lossy(&out.stdout));
    // The exporter flushed before the command exited.
    let posts = got.lock().expect("not poisoned").clone();
    assert!(!posts.is_empty() && posts.iter().all(|(p, _)| p == "/v1/traces"), "posts: {:?}", posts.len());
    let all: Vec<u8> = posts.into_iter().flat_map(|(_, b)| b).collect();
    let has = |s: &str| all.windows(s.len()).any(|w| w == s.as_bytes());
    // (`otel.kind` becomes the span kind, an enum, not text.)
    for s in [
        "wippy",
        "process",
        "call",
        "send",
        "receive",
        "messaging.system",
        "messaging.destination.name",
        "pid",
        "entry",
    ] {
        assert!(has(s), "`{s}` is not in the exported spans");
    }

    // A URL that is not http:// is the user's error.
    let bad = Command::new(env!("CARGO_BIN_EXE_wippy")).args(["--otlp", "grpc://x", "hash", "Cargo.toml"]).output();
    let bad = bad.expect("runs");
    assert_eq!(bad.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`--otlp` must be an http:// URL"));
}
