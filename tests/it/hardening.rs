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
