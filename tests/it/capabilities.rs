//! `docs/capabilities.md` and the security context: every capability group works when granted and traps with the capability
//! message when not; mounts (read-only, no escapes), env mapping, args and cwd, exit status, stdout into the log,
//! `wasi:http` against a loopback server, and the security context through calls and spawns.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use wippy::{CallError, Host, SecurityContext, Value};

use crate::support::{builder, functions, wasm_fn, Project};

fn caps(name: &str, method: &str, imports: &str) -> String {
    wasm_fn(name, "caps.wasm", method, &format!("    imports: [{imports}]\n"))
}

fn host_of(entries: Vec<String>) -> Host {
    functions(&entries).host()
}

async fn denied(h: &Host, id: &str, args: Vec<Value>, group: &str) {
    let e = h.call(id, args).await.expect_err("the capability is missing");
    let msg = e.to_string();
    assert!(matches!(e, CallError::Capability(_)), "{id}: {e:?}");
    assert!(msg.contains(&format!("capability `{group}` is not granted to `{id}`: add it to imports")), "{msg}");
}

/// A loopback server that answers one connection with `reply(request)`, then stops.
fn serve_once(reply: impl FnOnce(&str) -> String + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = s.write_all(reply(&String::from_utf8_lossy(&buf)).as_bytes());
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_group_works_when_granted_and_traps_when_not() {
    let h = host_of(vec![
        caps("stdout_ok", "write-stdout", "wasi:cli, wasi:io"),
        caps("stdout_no_io", "write-stdout", "wasi:cli"),
        caps("env_ok", "env-vars", "wasi:cli"),
        caps("env_no", "env-vars", ""),
        caps("clock_ok", "now-ms", "wasi:clocks"),
        caps("clock_no", "now-ms", ""),
        caps("tcp_ok", "tcp-echo", "wasi:sockets, wasi:io, wasi:poll, wasi:filesystem"),
        caps("tcp_no", "tcp-echo", "wasi:io, wasi:poll, wasi:filesystem"),
        caps("dns_ok", "resolve", "wasi:sockets, wasi:io, wasi:poll, wasi:filesystem"),
        caps("http_ok", "http-get", "wasi:http, wasi:io, wasi:poll"),
        caps("http_no", "http-get", "wasi:io, wasi:poll"),
        caps("call_ok", "call-func", "funcs"),
        caps("call_no", "call-func", ""),
        caps("call_bytes_ok", "call-func-bytes", "funcs"),
        caps("call_bytes_no", "call-func-bytes", ""),
        "  - name: shout\n    kind: function.lua\n    method: run\n    source: 'function run(b) return b:upper() .. \"!\" end'\n"
            .to_owned(),
        wasm_fn("compute", "compute.wasm", "compute", ""),
        wasm_fn("sleep_no_poll", "behave.wasm", "test-sleep#sleep-ms", "    imports: [wasi:clocks]\n"),
        wasm_fn("random_no", "behave.wasm", "random-u64", ""),
    ]);
    // wasi:io and wasi:cli
    assert_eq!(h.call("t:stdout_ok", vec!["hi".into()]).await, Ok(Value::Nil));
    denied(&h, "t:stdout_no_io", vec!["hi".into()], "wasi:io").await;
    assert!(h.call("t:env_ok", vec![]).await.is_ok());
    denied(&h, "t:env_no", vec![], "wasi:cli").await;
    // wasi:clocks, wasi:poll, wasi:random
    let now = h.call("t:clock_ok", vec![]).await.expect("granted").as_int().expect("ms");
    assert!(now > 1_700_000_000_000, "{now}");
    denied(&h, "t:clock_no", vec![], "wasi:clocks").await;
    denied(&h, "t:sleep_no_poll", vec![1.into()], "wasi:poll").await;
    denied(&h, "t:random_no", vec![], "wasi:random").await;
    // wasi:sockets: TCP to a loopback server, and name lookup
    let addr = serve_once(|req| format!("echo:{req}"));
    let r = h.call("t:tcp_ok", vec![addr.as_str().into(), "ping\r\n\r\n".into()]).await;
    assert_eq!(r, Ok(Value::from("echo:ping\r\n\r\n")));
    denied(&h, "t:tcp_no", vec![addr.as_str().into(), "x".into()], "wasi:sockets").await;
    let ips = h.call("t:dns_ok", vec!["localhost".into()]).await.expect("lookup works");
    assert!(
        ips.as_list()
            .is_some_and(|l| l.iter().any(|ip| ip.as_str().is_some_and(|s| s.starts_with("127.") || s == "::1"))),
        "{ips}"
    );
    // wasi:http: GET against a loopback server started here
    let addr = serve_once(|_| "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello".into());
    assert_eq!(h.call("t:http_ok", vec![addr.as_str().into(), "/hello".into()]).await, Ok(Value::from("200 hello")));
    denied(&h, "t:http_no", vec![addr.as_str().into(), "/".into()], "wasi:http").await;
    // funcs: a WASM function calling another registry function
    assert_eq!(h.call("t:call_ok", vec!["t:compute".into(), "[6, 7]".into()]).await, Ok(Value::from("42")));
    denied(&h, "t:call_no", vec!["t:compute".into(), "[]".into()], "funcs").await;
    // call-bytes: the payload is the callee's one argument; a string result comes back as its bytes
    let r = h.call("t:call_bytes_ok", vec!["t:shout".into(), Value::Bytes(b"hi".to_vec())]).await;
    assert_eq!(r, Ok(Value::Bytes(b"HI!".to_vec())));
    let r = h.call("t:call_bytes_ok", vec!["t:nowhere".into(), Value::Bytes(vec![])]).await;
    assert!(matches!(&r, Err(CallError::Guest { value, .. }) if value.to_string().contains("t:nowhere")), "{r:?}");
    denied(&h, "t:call_bytes_no", vec!["t:shout".into(), Value::Bytes(vec![])], "funcs").await;
}

#[tokio::test]
async fn wasi1_for_core_modules() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "rand") (result i32) (call $random_get (i32.const 0) (i32.const 8))))"#;
    let entry = |name: &str, imports: &str| {
        format!("  - name: {name}\n    kind: function.wat\n    method: rand\n    imports: [{imports}]\n    source: '{wat}'\n")
    };
    let h = Project::new(&format!("namespace: t\nentries:\n{}{}", entry("granted", "wasi1"), entry("not", ""))).host();
    assert_eq!(h.call("t:granted", vec![]).await, Ok(Value::Int(0)), "errno 0: success");
    let e = h.call("t:not", vec![]).await.expect_err("not granted");
    assert!(e.to_string().contains("capability `wasi1` is not granted to `t:not`"), "{e}");
}

#[tokio::test]
async fn processes_need_wippy_process() {
    let p = functions(&[
        "  - name: processes\n    kind: process.host\n".to_owned(),
        wasm_fn("no_process", "procs.wasm", "self-pid", "").replace("function.wasm", "process.wasm"),
    ]);
    let h = p.host();
    let mut c = h.client();
    c.spawn_monitored("t:no_process", "t:processes", vec![]).await.expect("spawns");
    match c.next_event().await {
        Some(wippy::Event::Exit(e)) => {
            let err = e.error.map(|v| v.to_string()).unwrap_or_default();
            assert!(err.contains("capability `wippy:process` is not granted to `t:no_process`"), "{err}");
        }
        other => panic!("expected EXIT, got {other:?}"),
    }
}

fn mount_project(dir: &Path) -> Host {
    let yaml = format!(
        "  - name: data\n    kind: fs.directory\n    directory: \"{0}/data\"\n  - name: out\n    kind: fs.directory\n    directory: \"{0}/out\"\n    auto_init: true\n",
        dir.display()
    );
    let mounts = "    wasi:\n      mounts:\n        - {fs: data, guest: /data, read_only: true}\n        - {fs: out, guest: /out}\n";
    let imports = "wasi:filesystem, wasi:io, wasi:cli";
    host_of(vec![
        yaml,
        caps("read", "read-file", imports) + mounts,
        caps("write", "write-file", imports) + mounts,
        caps("read_no", "read-file", "wasi:io, wasi:cli") + mounts,
    ])
}

#[tokio::test]
async fn mounts_are_the_only_way_in_and_read_only_means_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/in.txt"), "inside").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "outside").expect("write");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), dir.path().join("data/link")).expect("symlink");
    let h = mount_project(dir.path());
    assert!(dir.path().join("out").is_dir(), "auto_init created the folder at load");

    let read = |path: &str| h.call("t:read", vec![path.into()]);
    assert_eq!(read("/data/in.txt").await, Ok(Value::from("inside")));
    for escape in ["/data/../secret.txt", "/data/link", "/secret.txt", "/etc/hostname"] {
        match read(escape).await {
            Err(CallError::Guest { value, .. }) => assert!(value.as_str().is_some(), "{escape}: {value}"),
            other => panic!("{escape} must not be readable, got {other:?}"),
        }
    }
    // A read-only mount refuses writes with a permission error, in the guest.
    match h.call("t:write", vec!["/data/new.txt".into(), "x".into()]).await {
        Err(CallError::Guest { value, .. }) => {
            let msg = value.as_str().unwrap_or_default().to_lowercase();
            assert!(msg.contains("read-only") || msg.contains("permi") || msg.contains("not permitted"), "{msg}");
        }
        other => panic!("writing a read-only mount must fail, got {other:?}"),
    }
    assert!(!dir.path().join("data/new.txt").exists());
    // A read-write mount takes writes.
    assert_eq!(h.call("t:write", vec!["/out/new.txt".into(), "written".into()]).await, Ok(Value::Nil));
    assert_eq!(std::fs::read_to_string(dir.path().join("out/new.txt")).expect("written"), "written");
    denied(&h, "t:read_no", vec!["/data/in.txt".into()], "wasi:filesystem").await;
}

#[test]
fn a_mount_of_a_missing_folder_is_a_load_error() {
    let p = functions(&[
        "  - name: gone\n    kind: fs.directory\n    directory: /no/such/folder\n".to_owned(),
        caps("read", "read-file", "wasi:filesystem") + "    wasi:\n      mounts:\n        - {fs: gone, guest: /data}\n",
    ]);
    let msg = crate::support::shown_load(&p.build().err().expect("missing folder"));
    assert!(msg.contains("does not exist") && msg.contains("`t:gone`") && msg.contains("auto_init"), "{msg}");
}

fn env_project(vars: &[(&str, &str)]) -> Result<Host, wippy::LoadError> {
    let p = functions(&[
        "  - name: api_url\n    kind: env.variable\n    variable: API_URL\n    required: true\n".to_owned(),
        "  - name: mode\n    kind: env.variable\n    default: dev\n".to_owned(),
        caps("env", "env-vars", "wasi:cli")
            + "    wasi:\n      args: [tool, --verbose]\n      env:\n        - {id: api_url, name: URL}\n        - {id: mode, name: MODE}\n",
        caps("args", "arg-list", "wasi:cli") + "    wasi:\n      args: [tool, --verbose]\n",
    ]);
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    builder(p.path()).environment(vars).build()
}

#[tokio::test]
async fn only_mapped_variables_are_visible() {
    let h = env_project(&[("API_URL", "http://api"), ("SECRET", "hidden"), ("PATH", "/bin")]).expect("loads");
    let vars = h.call("t:env", vec![]).await.expect("granted");
    let expected = wippy::Value::from_json(r#"[["URL", "http://api"], ["MODE", "dev"]]"#).expect("json");
    assert_eq!(vars, expected, "the mapped names, with defaults applied, and nothing else");
    let args = h.call("t:args", vec![]).await.expect("granted");
    assert_eq!(args, wippy::Value::from_json(r#"["tool", "--verbose"]"#).expect("json"));
}

#[tokio::test]
async fn a_missing_required_variable_names_its_entry() {
    let h = env_project(&[]).expect("loads: variables are resolved per instantiation");
    let e = h.call("t:env", vec![]).await.expect_err("API_URL is not set");
    assert!(matches!(e, CallError::MissingEnv { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("`API_URL` (entry `t:api_url`)") && !msg.contains("hint"), "{msg}");
    assert!(e.hint().is_some_and(|h| h.contains("set `API_URL`")), "{e:?}");
}

#[tokio::test]
async fn exit_ends_the_instance_with_its_status_and_the_host_keeps_serving() {
    let h = host_of(vec![caps("exit", "exit-with", "wasi:cli"), wasm_fn("compute", "compute.wasm", "compute", "")]);
    let e = h.call("t:exit", vec![3.into()]).await.expect_err("exit(3)");
    assert!(matches!(e, CallError::Exit { status: 3, .. }), "{e:?}");
    assert!(e.to_string().contains("exit status 3"), "{e}");
    assert_eq!(h.call("t:compute", vec![6.into(), 7.into()]).await, Ok(Value::Int(42)));
}

/// A `MakeWriter` that keeps what the log subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn stdout_outside_the_terminal_goes_to_the_log_with_the_entry_and_pid() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = host_of(vec![
        "  - name: processes\n    kind: process.host\n".to_owned(),
        caps("say", "write-stdout", "wasi:cli, wasi:io"),
        caps("warn", "write-stderr", "wasi:cli, wasi:io"),
        caps("say_proc", "write-stdout", "wasi:cli, wasi:io").replace("function.wasm", "process.wasm"),
    ]);
    h.call("t:say", vec!["hello from a function".into()]).await.expect("runs");
    h.call("t:warn", vec!["careful".into()]).await.expect("runs");
    let mut c = h.client();
    let pid = c.spawn_monitored("t:say_proc", "t:processes", vec!["hello from a process".into()]).await.expect("spawn");
    assert!(matches!(c.next_event().await, Some(wippy::Event::Exit(_))));
    let text = String::from_utf8(log.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        text.lines().any(|l| l.contains("INFO") && l.contains("entry=t:say") && l.contains("hello from a function")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains("WARN") && l.contains("entry=t:warn") && l.contains("careful")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("entry=t:say_proc") && l.contains(pid.as_str()) && l.contains("hello from a process")),
        "{text}"
    );
}

fn context_host() -> Host {
    host_of(vec![
        "  - name: processes\n    kind: process.host\n".to_owned(),
        caps("whoami", "whoami", "funcs"),
        caps("caller", "call-func", "funcs").replace("function.wasm", "process.wasm"),
        caps("caller_fn", "call-func", "funcs"),
    ])
}

async fn exit_value(c: &mut wippy::Client) -> Value {
    match c.next_event().await {
        Some(wippy::Event::Exit(e)) => {
            assert!(e.is_normal(), "{e:?}");
            e.value
        }
        other => panic!("expected EXIT, got {other:?}"),
    }
}

#[tokio::test]
async fn a_spawned_child_calls_functions_as_its_spawner() {
    let h = context_host();
    let mut alice = h.client_as(SecurityContext::actor("alice"));
    alice.spawn_monitored("t:caller", "t:processes", vec!["t:whoami".into(), "[]".into()]).await.expect("spawn");
    assert_eq!(exit_value(&mut alice).await, Value::from("\"alice\""), "the function sees the spawner's actor");

    let opts = wippy::SpawnOptions { monitor: true, link: false };
    alice
        .spawn_as(SecurityContext::actor("bob"), "t:caller", "t:processes", vec!["t:whoami".into(), "[]".into()], opts)
        .await
        .expect("spawn");
    assert_eq!(exit_value(&mut alice).await, Value::from("\"bob\""), "an explicit context wins");

    // Function to function: the context flows through `funcs` too.
    let r = h.call_as(SecurityContext::actor("carol"), "t:caller_fn", vec!["t:whoami".into(), "[]".into()]).await;
    assert_eq!(r, Ok(Value::from("\"carol\"")));
    assert_eq!(h.call("t:whoami", vec![]).await, Ok(Value::Nil), "no actor by default");
}

fn web(name: &str, extra: &str) -> String {
    wasm_fn(name, "web.wasm", "handle", &format!("    transport: wasi-http\n{extra}"))
}

fn response(status: i64, body: &str) -> (Value, Value) {
    (Value::Int(status), Value::from(body))
}

fn status_and_body(v: &Value) -> (Value, Value) {
    (v.get("status").cloned().unwrap_or_default(), v.get("body").cloned().unwrap_or_default())
}

/// `transport: wasi-http`: a `wasi:http/proxy` component called with a request map returns a response map.
#[tokio::test]
async fn wasi_http_transport_maps_requests_to_responses() {
    let h = host_of(vec![
        web("web", "    imports: [wasi:http, wasi:io]\n"),
        concat!(
            "  - name: from_lua\n    kind: function.lua\n    method: run\n    modules: [funcs]\n    source: |\n",
            "      local funcs = require('funcs')\n",
            "      function run()\n",
            "        local r, err = funcs.call('t:web', {path = '/lua', headers = {['x-name'] = 'moon'}})\n",
            "        assert(r, err)\n",
            "        assert(funcs.call('t:web', {}).body == 'GET / name= body=', 'an empty table is GET /')\n",
            "        return r.status .. ' ' .. r.headers['x-echo-method'] .. ' ' .. r.body\n",
            "      end\n",
        )
        .to_owned(),
    ]);
    // No argument: GET /.
    let r = h.call("t:web", vec![]).await.expect("GET /");
    assert_eq!(status_and_body(&r), response(200, "GET / name= body="));
    let headers = r.get("headers").expect("headers");
    assert_eq!(headers.get("content-type"), Some(&Value::from("text/plain")));
    assert_eq!(headers.get("x-echo-method"), Some(&Value::from("GET")));

    // Method, path with query, headers (as a map), body; the guest picks the status from `x-status`.
    let req = wippy::Value::from_json(
        r#"{"method": "post", "path": "/items?id=7", "headers": {"x-name": "ann", "x-status": "201"}, "body": "hello"}"#,
    )
    .expect("json");
    let r = h.call("t:web", vec![req]).await.expect("POST");
    assert_eq!(status_and_body(&r), response(201, "POST /items?id=7 name=ann body=hello"));
    // Headers as [name, value] pairs, a bytes body.
    let req = Value::map([
        ("method", Value::from("PUT")),
        ("headers", Value::List(vec![Value::List(vec!["x-name".into(), "bob".into()])])),
        ("body", Value::Bytes(b"raw".to_vec())),
    ]);
    let r = h.call("t:web", vec![req]).await.expect("PUT");
    assert_eq!(status_and_body(&r), response(200, "PUT / name=bob body=raw"));

    // A 1 MiB body, written in 4 KiB pieces while the host reads it.
    let big = Value::map([("path", Value::from("/big?kib=1024"))]);
    let r = h.call("t:web", vec![big]).await.expect("big body");
    assert_eq!(r.get("body").and_then(Value::as_str).map(str::len), Some(1 << 20));

    // From Lua, through funcs.call.
    assert_eq!(h.call("t:from_lua", vec![]).await, Ok(Value::from("200 GET GET /lua name=moon body=")));

    // A trapping handler and one that never answers are errors; the next call works.
    let e = h.call("t:web", vec![Value::map([("path", Value::from("/trap"))])]).await.expect_err("trap");
    assert!(matches!(e, CallError::Trap { .. }), "{e:?}");
    let e = h.call("t:web", vec![Value::map([("path", Value::from("/silent"))])]).await.expect_err("no answer");
    assert!(e.to_string().contains("without a response") && e.to_string().contains("response-outparam.set"), "{e}");
    assert_eq!(
        status_and_body(&h.call("t:web", vec![]).await.expect("still serving")),
        response(200, "GET / name= body=")
    );

    // Bad requests name the field.
    let bad = |v: &str| wippy::Value::from_json(v).expect("json");
    for (req, says) in [
        (r#"{"verb": "GET"}"#, "`request.verb`: unknown field `verb`"),
        (r#"{"method": 7}"#, "`request.method`"),
        (r#"{"path": "no-slash"}"#, "does not start with `/`"),
        (r#"{"headers": {"bad name": "x"}}"#, "`bad name` is not a valid header name"),
        (r#""GET /""#, "pass a map"),
    ] {
        let e = h.call("t:web", vec![bad(req)]).await.expect_err(req);
        assert!(matches!(e, CallError::Argument { .. }) && e.to_string().contains(says), "{req}: {e}");
    }
    let e = h.call("t:web", vec![Value::Nil, Value::Nil]).await.expect_err("two arguments");
    assert!(
        matches!(e, CallError::ArgumentCount { .. }) && crate::support::shown(&e).contains("handle(request:"),
        "{e}"
    );
}

#[test]
fn wasi_http_transport_is_checked_at_load() {
    let msg =
        |entries: Vec<String>| crate::support::shown_load(&functions(&entries).build().err().expect("a load error"));
    let m = msg(vec![web("no_imports", "    imports: [wasi:io]\n")]);
    assert!(
        m.contains("`t:no_imports`") && m.contains("`wasi:http`") && m.contains("add wasi:http to `imports`"),
        "{m}"
    );
    let m = msg(vec![wasm_fn("core", "web.wasm", "handle", "    transport: grpc\n")]);
    assert!(m.contains("unknown transport `grpc`") && m.contains("`payload` (the default) and `wasi-http`"), "{m}");
    let m = msg(vec![web("not_proxy", "    imports: [wasi:http, wasi:io]\n").replace("web.wasm", "compute.wasm")]);
    assert!(m.contains("`t:not_proxy`") && m.contains("no export `wasi:http/incoming-handler#handle`"), "{m}");
    let m = msg(vec![
        "  - name: proc\n    kind: process.wasm\n    fs: wasm\n    path: /web.wasm\n    hash: sha256:{sha:web.wasm}\n    method: handle\n    transport: wasi-http\n".to_owned(),
    ]);
    assert!(m.contains("only for `function.wasm` entries"), "{m}");
    let m = msg(vec![concat!(
        "  - {name: wat, kind: function.wat, method: f, transport: payload,\n",
        "     source: '(module (func (export \"f\")))'}\n"
    )
    .to_owned()]);
    assert!(m.contains("field `transport` is only for `function.wasm` entries"), "{m}");
    // A core module cannot be a wasi:http handler.
    let core = wat::parse_str(r#"(module (func (export "handle")))"#).expect("wat");
    let sha = wippy::sha256_hex(&core);
    let p = Project::new(&format!(
        "namespace: t\nentries:\n  - {{name: bin, kind: fs.directory, directory: ./bin}}\n  - name: core\n    kind: function.wasm\n    fs: bin\n    path: /core.wasm\n    hash: sha256:{sha}\n    method: handle\n    imports: [wasi:http, wasi:io]\n    transport: wasi-http\n"
    ));
    std::fs::create_dir_all(p.path().join("bin")).expect("mkdir");
    std::fs::write(p.path().join("bin/core.wasm"), core).expect("write");
    let m = crate::support::shown_load(&p.build().err().expect("a core module"));
    assert!(m.contains("`t:core`") && m.contains("this is a core module") && m.contains("wasi:http/proxy"), "{m}");
    // `payload` is the default, and may be written.
    functions(&[wasm_fn("compute", "compute.wasm", "compute", "    transport: payload\n")]).host();
}
