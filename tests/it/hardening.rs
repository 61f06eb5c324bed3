//! Hostile input (issue 12, SPEC §10): every case gets a clear, positioned error, within bounds, and nothing hangs.

use std::process::Command;

use wippy::{LoadError, Value};

use crate::support::{functions, wasm_fn, Project};

fn load_err(p: &Project) -> LoadError {
    match p.build() {
        Ok(_) => panic!("the project should not load"),
        Err(e) => e,
    }
}

fn shown(p: &Project) -> String {
    crate::support::shown_load(&load_err(p))
}

const HEAD: &str = "namespace: t\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: \"{wasm}\"\n";

#[test]
fn nested_aliases_are_bounded() {
    // "Billion laughs": nine levels of ten aliases, 10^9 nodes if expanded.
    let mut yaml = String::from("x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n");
    for i in 1..9 {
        let p = i - 1;
        yaml.push_str(&format!("x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]\n"));
    }
    yaml.push_str("namespace: t\nentries: []\n");
    let text = shown(&Project::new(&yaml));
    assert!(text.contains("_index.yaml:") && text.contains("expand past the bound of 10000"), "{text}");
    assert!(text.contains("hint: write the repeated parts out"), "{text}");
}

#[test]
fn numbers_are_range_checked() {
    let huge = "9223372036854775807";
    let p = Project::new(&format!(
        "{HEAD}{}  - name: h\n    kind: process.host\n    host: {{workers: {huge}, max_processes: 0, mailbox_size: {huge}}}\n",
        wasm_fn("c", "compute.wasm", "compute", &format!("    pool: {{max_size: {huge}, size: 0, workers: {huge}}}\n")),
    ));
    let text = shown(&p);
    for want in [
        format!("field `max_size` must be between 1 and 65,536, got {}", "9,223,372,036,854,775,807"),
        "field `size` must be between 1 and 65,536, got 0".to_owned(),
        "field `workers` must be between 1 and 1,024, got 9,223,372,036,854,775,807".to_owned(),
        "field `max_processes` must be between 1 and 10,000,000, got 0".to_owned(),
        "field `mailbox_size` must be between 1 and 16,777,216".to_owned(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn zero_limits_are_load_errors_naming_the_range() {
    let p = functions(&[wasm_fn(
        "c",
        "compute.wasm",
        "compute",
        "    limits: {max_execution_ms: 0, max_memory: 0, max_fuel: 0}\n",
    )]);
    let text = shown(&p);
    assert!(text.contains("field `max_execution_ms` must be between 1 and 31,536,000,000, got 0"), "{text}");
    assert!(text.contains("field `max_memory` must be between 64 KiB and 64 GiB, got 0 bytes"), "{text}");
    assert!(text.contains("field `max_fuel` must be between 1 and 9,223,372,036,854,775,807, got 0"), "{text}");
    let lua = Project::new(
        "namespace: t\nentries:\n  - name: f\n    kind: function.lua\n    method: f\n    source: 'function f() end'\n    limits: {max_memory: 0}\n",
    );
    assert!(shown(&lua).contains("field `max_memory` must be between 64 KiB and 64 GiB"));
}

#[test]
fn sources_must_be_regular_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe.lua");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(status.success());
    for (source, what) in [
        ("file:///dev/zero".to_owned(), "a character device"),
        (format!("file://{}", fifo.display()), "a FIFO"),
        ("file://.".to_owned(), "a folder"),
    ] {
        let p = Project::new(&format!(
            "namespace: t\nentries:\n  - name: f\n    kind: function.lua\n    method: f\n    source: '{source}'\n"
        ));
        let text = shown(&p);
        assert!(text.contains(&format!("it is {what}, not a regular file")), "{text}");
        assert!(text.contains("_index.yaml:6:13"), "{text}");
    }
    let p = Project::new(
        "namespace: t\nentries:\n  - name: dev\n    kind: fs.directory\n    directory: /dev\n  - name: c\n    kind: function.wasm\n    fs: dev\n    path: /zero\n    hash: sha256:0000000000000000000000000000000000000000000000000000000000000000\n    method: f\n",
    );
    let text = shown(&p);
    assert!(text.contains("cannot read `/dev/zero`: it is a character device, not a regular file"), "{text}");
}

#[test]
fn invalid_utf8_has_a_position() {
    let p = Project::new("namespace: t\n");
    std::fs::write(p.path().join("src/_index.yaml"), b"namespace: t\nentries:\n  - name: \xff\n").expect("write");
    let text = shown(&p);
    assert!(text.contains("_index.yaml:3:11") && text.contains("not UTF-8"), "{text}");
}

#[test]
fn duplicate_keys_merge_keys_and_dropped_entries() {
    let dup = Project::new("namespace: t\nentries: []\nnamespace: u\n");
    let text = shown(&dup);
    assert!(text.contains("_index.yaml:3:1") && text.contains("the key `namespace` appears twice"), "{text}");
    assert!(!text.contains("did you mean"), "{text}");

    // Merge keys work as in Wippy's YAML reader.
    let merged = Project::new(
        "namespace: t\nentries:\n  - name: e\n    <<: &lua {kind: function.lua, method: f}\n    source: 'function f() return 6 end'\n  - name: f\n    <<: *lua\n    source: 'function f() return 7 end'\n",
    );
    let host = merged.host();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    assert_eq!(rt.block_on(host.call("t:f", vec![])), Ok(Value::Int(7)));

    // A reference to an entry dropped for its own error says so.
    let p = Project::new(
        "namespace: t\nentries:\n  - name: d\n    kind: fs.directory\n  - name: c\n    kind: function.wasm\n    fs: d\n    path: /x.wasm\n    hash: sha256:0000000000000000000000000000000000000000000000000000000000000000\n    method: f\n",
    );
    let text = shown(&p);
    assert!(text.contains("missing required field `directory`"), "{text}");
    assert!(text.contains("`fs` refers to `t:d`, which has errors of its own"), "{text}");
    assert!(!text.contains("does not exist"), "{text}");
}

#[tokio::test]
async fn large_results_are_bounded_by_memory_only() {
    // 5 M list items: more than wasmtime's fixed 128 MiB of host-side values, well within the guest's memory.
    let p = functions(&[wasm_fn("bytes", "types.wasm", "echo#echo-bytes", "")]);
    let host = p.host();
    let n = 5_000_000;
    let r = host.call("t:bytes", vec![Value::Bytes(vec![7; n])]).await;
    match r {
        Ok(Value::Bytes(b)) => assert_eq!(b.len(), n),
        Ok(Value::List(l)) => assert_eq!(l.len(), n),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_instance_slots_variable_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", "examples/quickstart", "check"])
        .env("WIPPY_INSTANCE_SLOTS", "abc")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("wippy runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`WIPPY_INSTANCE_SLOTS` must be a whole number from 1 to 1000000, got `abc`"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[tokio::test]
async fn proc_exit_zero_is_a_normal_end() {
    let wat = |status: i32| {
        format!(
            r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "run") (call $exit (i32.const {status}))))"#
        )
    };
    let entry = |name: &str, status: i32| {
        format!(
            "  - name: {name}\n    kind: function.wat\n    method: run\n    imports: [wasi1]\n    source: '{}'\n",
            wat(status)
        )
    };
    let h = Project::new(&format!("namespace: t\nentries:\n{}{}", entry("zero", 0), entry("three", 3))).host();
    assert_eq!(h.call("t:zero", vec![]).await, Ok(Value::Nil));
    let e = h.call("t:three", vec![]).await.expect_err("exit 3 is a failure");
    assert!(e.to_string().contains('3'), "{e}");
}

#[test]
fn a_second_interrupt_during_the_stop_exits_at_once() {
    use std::time::{Duration, Instant};
    let p = Project::new(&format!(
        "{HEAD}  - name: processes\n    kind: process.host\n{}  - name: stubborn\n    kind: process.service\n    process: ignore\n    host: processes\n    lifecycle: {{auto_start: true, stop_timeout: 60s}}\n",
        wasm_fn("ignore", "procs.wasm", "ignore-cancel", "    imports: [wippy:process]\n").replace("function.wasm", "process.wasm"),
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", p.path().to_str().expect("utf-8"), "start"])
        .env("WIPPY_CACHE_DIR", std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wippy start runs");
    let mut lines = crate::support::StderrLines::of(&mut child);
    lines.wait_for("deployment running");
    let int = || Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(int().success());
    lines.wait_for("stopping (again to exit at once)");
    let start = Instant::now();
    assert!(int().success());
    lines.wait_for("interrupted again: exiting now");
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(2), "{}", lines.seen.join("\n"));
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}

#[test]
fn malformed_json_arguments_are_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", "examples/quickstart", "call", "app:compute", "6", "{\"a\": 1"])
        .env("WIPPY_CACHE_DIR", std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("wippy runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("argument 2 (`{\"a\": 1`) is not valid JSON: EOF while parsing an object at line 1 column 7"),
        "{err}"
    );
    assert!(err.contains("hint: quote JSON for the shell"), "{err}");
}

#[tokio::test]
async fn slot_exhaustion_names_the_setting() {
    let p = Project::new(&format!(
        "{HEAD}  - name: processes\n    kind: process.host\n{}",
        wasm_fn("ignore", "procs.wasm", "ignore-cancel", "    imports: [wippy:process]\n")
            .replace("function.wasm", "process.wasm"),
    ));
    let host = crate::support::builder(p.path()).instance_slots(1).build().expect("loads");
    let c = host.client();
    let first = c.spawn_monitored("t:ignore", "t:processes", vec![]).await.expect("the first fits");
    let e = c.spawn_monitored("t:ignore", "t:processes", vec![]).await.expect_err("no slot is left");
    let text = crate::support::shown(&e);
    assert!(text.contains("every instance slot of the host is in use"), "{text}");
    assert!(text.contains("hint: ") && text.contains("WIPPY_INSTANCE_SLOTS"), "{text}");
    c.terminate(&first);
}

#[tokio::test]
async fn mailboxes_are_bounded() {
    let p = Project::new(concat!(
        "namespace: t\nentries:\n",
        "  - name: processes\n    kind: process.host\n    host: {mailbox_size: 8, mailbox_bytes: 4KiB}\n",
        "  - name: idle\n    kind: process.lua\n    method: main\n    modules: [time]\n",
        "    source: 'local time = require(\"time\") function main() time.sleep(\"1h\") end'\n",
    ));
    let host = p.host();
    let c = host.client();
    let pid = c.spawn("t:idle", "t:processes", vec![]).await.expect("spawns");
    for i in 0..8 {
        c.send(pid.as_str(), "n", i).expect("room for 8");
    }
    let e = c.send(pid.as_str(), "n", 8).expect_err("the ninth is refused");
    let text = crate::support::shown(&e);
    assert!(text.contains("is full: 8 messages are waiting (`host.mailbox_size`)"), "{text}");
    assert!(text.contains("hint: the receiver does not keep up"), "{text}");
    assert_eq!(e.kind(), "Unavailable");

    let other = c.spawn("t:idle", "t:processes", vec![]).await.expect("spawns");
    c.send(other.as_str(), "big", "x".repeat(3000)).expect("3 KB fits");
    let e = c.send(other.as_str(), "big", "x".repeat(3000)).expect_err("6 KB does not");
    assert!(e.to_string().contains("(`host.mailbox_bytes`)"), "{e}");
    c.terminate(&pid);
    c.terminate(&other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_start_function_is_bounded() {
    let wat = r#"(module (func $spin (loop br 0)) (start $spin) (func (export "run")))"#;
    let entry = |name: &str, limits: &str| {
        format!("  - name: {name}\n    kind: function.wat\n    method: run\n    source: '{wat}'\n    limits: {{{limits}}}\n")
    };
    let h = Project::new(&format!(
        "namespace: t\nentries:\n{}{}",
        entry("timed", "max_execution_ms: 200"),
        entry("fueled", "max_fuel: 100000")
    ))
    .host();
    let start = std::time::Instant::now();
    let e = h.call("t:timed", vec![]).await.expect_err("the start function loops");
    assert!(e.to_string().contains("limit `max_execution_ms` exceeded"), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    let e = h.call("t:fueled", vec![]).await.expect_err("the start function loops");
    assert!(e.to_string().contains("limit `max_fuel` exceeded"), "{e}");
}

/// A project with `t:processes` (its `host_extra` lines) and `t:spin`, a `process.wasm` of the core module `wat`
/// (method `run`, its `entry_extra` lines), written to the project's `bin/`.
fn wat_process(wat: &str, host_extra: &str, entry_extra: &str) -> Project {
    let bytes = wat::parse_str(wat).expect("wat");
    let p = Project::new(&format!(
        "namespace: t\nentries:\n  - name: bin\n    kind: fs.directory\n    directory: ./bin\n  - name: processes\n    kind: process.host\n{host_extra}  - name: spin\n    kind: process.wasm\n    fs: bin\n    path: /spin.wasm\n    hash: sha256:{}\n    method: run\n{entry_extra}",
        wippy::sha256_hex(&bytes)
    ));
    std::fs::create_dir_all(p.path().join("bin")).expect("mkdir");
    std::fs::write(p.path().join("bin/spin.wasm"), &bytes).expect("write");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_start_function_loops_does_not_block_spawn() {
    let p = wat_process(
        r#"(module (func $spin (loop br 0)) (start $spin) (func (export "run")))"#,
        "",
        "    limits: {max_execution_ms: 200}\n",
    );
    let h = p.host();
    let c = h.client();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), c.spawn("t:spin", "t:processes", vec![])).await;
    let e = r.expect("spawn returns").expect_err("its start function loops");
    assert!(e.to_string().contains("limit `max_execution_ms` exceeded"), "{e}");
}

/// A core module with `wasi1` that makes a link in its mount `/data` (fd 3): `sym` a symbolic link with `target`,
/// `hard` a hard link to `target`; the WASI errno comes back.
fn link_maker(name: &str, func: &str, target: &str, link: &str) -> String {
    let (tl, ll) = (target.len(), link.len());
    let call = match func {
        "sym" => format!("(call $sym (i32.const 0) (i32.const {tl}) (i32.const 3) (i32.const 512) (i32.const {ll}))"),
        _ => format!(
            "(call $hard (i32.const 3) (i32.const 0) (i32.const 0) (i32.const {tl}) (i32.const 3) (i32.const 512) (i32.const {ll}))"
        ),
    };
    let wat = format!(
        r#"(module
      (import "wasi_snapshot_preview1" "path_symlink" (func $sym (param i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_link" (func $hard (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "{target}")
      (data (i32.const 512) "{link}")
      (func (export "run") (result i32) {call}))"#
    );
    format!(
        "  - name: {name}\n    kind: function.wat\n    method: run\n    imports: [wasi1]\n    source: '{wat}'\n    wasi:\n      mounts:\n        - {{fs: data, guest: /data}}\n"
    )
}

#[tokio::test]
async fn links_cannot_leave_their_mount() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("data/sub")).expect("mkdir");
    std::fs::write(dir.path().join("data/in.txt"), "inside").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "outside").expect("write");
    let p = Project::new(&format!(
        "namespace: t\nentries:\n  - name: data\n    kind: fs.directory\n    directory: \"{}/data\"\n{}{}{}{}{}",
        dir.path().display(),
        link_maker("evil", "sym", "../../../../etc/passwd", "evil"),
        link_maker("absolute", "sym", "/etc/passwd", "abs"),
        link_maker("sneaky", "sym", "../secret.txt", "sub/sneaky"),
        link_maker("fine", "sym", "in.txt", "fine"),
        link_maker("hard", "hard", "../secret.txt", "hard"),
    ));
    let h = p.host();
    const PERM: i64 = 63;
    for (entry, link) in [("t:evil", "evil"), ("t:absolute", "abs")] {
        assert_eq!(h.call(entry, vec![]).await, Ok(Value::Int(PERM)), "{entry}");
        assert!(std::fs::symlink_metadata(dir.path().join("data").join(link)).is_err(), "{entry} made a link");
    }
    // `sub/sneaky -> ../secret.txt` stays inside (it would point at `data/secret.txt`): the guard lets it through
    // to wasmtime-wasi, whose sandbox decides (cap-std refuses `..` in targets); either way nothing leaves.
    assert!(matches!(h.call("t:sneaky", vec![]).await, Ok(Value::Int(_))));
    assert_eq!(h.call("t:fine", vec![]).await, Ok(Value::Int(0)));
    assert_eq!(std::fs::read_link(dir.path().join("data/fine")).expect("a link"), std::path::Path::new("in.txt"));
    // A hard link to a file outside the mount cannot be made either (the sandbox resolves both paths).
    assert_ne!(h.call("t:hard", vec![]).await, Ok(Value::Int(0)));
    assert!(std::fs::symlink_metadata(dir.path().join("data/hard")).is_err());
}

#[tokio::test]
async fn component_links_cannot_leave_their_mount() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/in.txt"), "inside").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "outside").expect("write");
    let mounts = "    imports: [wasi:filesystem, wasi:io, wasi:cli]\n    wasi:\n      mounts:\n        - {fs: data, guest: /data}\n";
    let p = Project::new(&format!(
        "{HEAD}  - name: data\n    kind: fs.directory\n    directory: \"{}/data\"\n{}{}",
        dir.path().display(),
        wasm_fn("sym", "caps.wasm", "make-symlink", mounts),
        wasm_fn("hard", "caps.wasm", "make-hardlink", mounts),
    ));
    let h = p.host();
    for (target, link) in [("../../../../etc/passwd", "evil"), ("/etc/passwd", "abs"), ("../secret.txt", "up")] {
        let r = h.call("t:sym", vec![target.into(), link.into()]).await;
        let e = r.expect_err("refused");
        assert!(e.to_string().contains("not-permitted"), "{target}: {e}");
        assert!(std::fs::symlink_metadata(dir.path().join("data").join(link)).is_err(), "{target}");
    }
    assert_eq!(h.call("t:sym", vec!["in.txt".into(), "fine".into()]).await, Ok(Value::Nil));
    assert_eq!(std::fs::read_link(dir.path().join("data/fine")).expect("a link"), std::path::Path::new("in.txt"));
    h.call("t:hard", vec!["../secret.txt".into(), "hard".into()]).await.expect_err("outside the sandbox");
    assert!(std::fs::symlink_metadata(dir.path().join("data/hard")).is_err());
    assert_eq!(h.call("t:hard", vec!["in.txt".into(), "hard2".into()]).await, Ok(Value::Nil));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_memory_has_a_host_budget() {
    let grow = r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let big = r#"(module (memory 64) (func (export "run")))"#;
    let p = Project::new(&format!(
        "namespace: t\nentries:\n  - name: grow\n    kind: function.wat\n    method: grow\n    source: '{grow}'\n  - name: big\n    kind: function.wat\n    method: run\n    source: '{big}'\n"
    ));
    let h = crate::support::builder(p.path()).memory_budget(2 << 20).build().expect("loads");
    // A growth past the budget fails inside the guest, like any failed `memory.grow`.
    assert_eq!(h.call("t:grow", vec![64.into()]).await, Ok(Value::Int(-1)));
    // Memory is given back when an instance ends: these fit one after another, not all at once.
    for _ in 0..5 {
        assert_eq!(h.call("t:grow", vec![16.into()]).await, Ok(Value::Int(1)));
    }
    // An instantiation past it is a limit error naming the budget.
    let e = h.call("t:big", vec![]).await.expect_err("4 MiB do not fit in 2 MiB");
    assert!(e.to_string().contains("memory budget exceeded (the host's, `WIPPY_MEMORY_BUDGET`"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_host_can_have_its_own_memory_budget() {
    let p = wat_process(
        r#"(module (memory 16) (func (export "run") (loop br 0)))"#,
        "    host: {memory_budget: 2MiB, workers: 4}\n",
        "",
    );
    let h = p.host();
    let c = h.client();
    let a = c.spawn("t:spin", "t:processes", vec![]).await.expect("1 MiB fits");
    let b = c.spawn("t:spin", "t:processes", vec![]).await.expect("2 MiB fit");
    let e = c.spawn("t:spin", "t:processes", vec![]).await.expect_err("3 MiB do not");
    assert!(e.to_string().contains("memory budget exceeded (`host.memory_budget` of `t:processes`)"), "{e}");
    c.terminate(&a);
    c.terminate(&b);
}
