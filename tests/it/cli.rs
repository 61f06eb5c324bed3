//! The `wippy` binary: the README's main job, `check`, `hash`, and errors with exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn wippy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(args)
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .env_remove("RUST_LOG")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the wippy binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quickstart_calls() {
    let o = wippy(&["-C", "examples/quickstart", "call", "app:answer"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = wippy(&["-C", "examples/quickstart", "call", "app:compute", "6", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
}

#[test]
fn call_of_a_wasi_http_function_takes_a_request_map() {
    let req = r#"{"method": "POST", "path": "/items?id=7", "headers": {"x-name": "ann"}, "body": "hello"}"#;
    let o = wippy(&["-C", "examples/quickstart", "call", "app:web", req]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"], "POST /items?id=7 name=ann body=hello");
}

#[test]
fn call_errors_exit_1_with_a_message() {
    let o = wippy(&["-C", "examples/quickstart", "call", "app:compute", "6"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error: call to `app:compute`: expected 2 argument(s), got 1"), "{}", stderr(&o));
    let o = wippy(&["-C", "examples/quickstart", "call", "app:comptue"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("hint: did you mean `app:compute`?"), "{}", stderr(&o));
    let o = wippy(&["-C", "examples/quickstart", "call", "app:compute", "x", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("`a`: expected an integer, got string"), "{}", stderr(&o));
    let o = wippy(&["-C", "no/such/project", "call", "app:x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("project folder `no/such/project` does not exist"), "{}", stderr(&o));
}

#[test]
fn check_passes_on_the_quickstart() {
    let o = wippy(&["-C", "examples/quickstart", "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok: 13 entries checked"), "{}", stdout(&o));
}

#[test]
fn check_prints_every_broken_entry() {
    let o = wippy(&["-C", "tests/fixtures/projects/broken", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let file = "tests/fixtures/projects/broken/src/_index.yaml";
    assert!(err.contains(&format!("{file}:9:11: entry `broken:typo`: unknown kind `function.wsam`")), "{err}");
    assert!(err.contains(&format!("{file}:15:11: entry `broken:wrong_hash`: hash mismatch")), "{err}");
    assert!(
        err.contains(&format!(
            "{file}:20:9: entry `broken:dangling`: `fs` refers to `broken:binaries`, which does not exist"
        )),
        "{err}"
    );
    assert!(err.contains("3 problem(s) found"), "{err}");
}

#[test]
fn hash_prints_the_digest() {
    let o = wippy(&["hash", "tests/fixtures/wasm/compute.wasm"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), format!("sha256:{}\n", crate::support::sha("compute.wasm")));
    let o = wippy(&["hash", "missing.wasm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read `missing.wasm`"), "{}", stderr(&o));
}

#[test]
fn run_list_shows_the_commands() {
    let o = wippy(&["-C", "examples/quickstart", "run", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "fail   A command that fails with its argument\ngreet  Greet someone via WASM\n");
}

#[test]
fn run_greet_prints_what_the_wasm_command_writes() {
    let o = wippy(&["-C", "examples/quickstart", "run", "greet", "World"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Hello, World! (from a WASM process)\n");
}

#[test]
fn a_failing_command_exits_1_with_its_error() {
    let o = wippy(&["-C", "examples/quickstart", "run", "fail", "it broke"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error: it broke"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let o = wippy(&["-C", "examples/quickstart", "run", "gret"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no command `gret`") && stderr(&o).contains("did you mean `greet`?"), "{}", stderr(&o));
}

#[test]
fn run_x_runs_any_process_entry_and_prints_its_value() {
    let o = wippy(&["-C", "examples/quickstart", "run", "-x", "app:compute_worker", "6", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = wippy(&["-C", "examples/quickstart", "run", "-x", "app:answer"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a `function.wat`, not a process"), "{}", stderr(&o));
}

#[test]
fn run_names_the_missing_host_entry() {
    let p = crate::support::Project::new(concat!(
        "namespace: t\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: \"{wasm}\"\n",
        "  - name: c\n    kind: process.wasm\n    fs: wasm\n    path: /compute.wasm\n    hash: sha256:{sha:compute.wasm}\n    method: compute\n",
        "    meta: {command: {name: c}}\n",
    ));
    let dir = p.path().to_str().expect("utf-8 path");
    let o = wippy(&["-C", dir, "run", "c", "1", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no `terminal.host` entry") && stderr(&o).contains("kind: terminal.host"),
        "{}",
        stderr(&o)
    );

    let with_terminal = std::fs::read_to_string(p.path().join("src/_index.yaml")).expect("read")
        + "  - name: terminal\n    kind: terminal.host\n";
    std::fs::write(p.path().join("src/_index.yaml"), with_terminal).expect("write");
    let o = wippy(&["-C", dir, "run", "c", "1", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no `process.host` entry") && stderr(&o).contains("kind: process.host"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn start_survives_crashes_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", "examples/supervision", "start"])
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wippy start runs");
    let mut lines = crate::support::StderrLines::of(&mut child);
    lines.wait_for("deployment running");
    // The crashy service crashes after 1-3 s and is restarted: the deployment survives it.
    lines.wait_for("demo:crashy: crashed");
    lines.wait_for("demo:crashy: running");
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    lines.wait_for("wippy: stopped");
    let status = child.wait().expect("exits");
    let text = lines.seen.join("\n");
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("wippy: stopped; no processes left"), "{text}");
    // Reverse order: the workers supervisor (started last) stops first, the database (started first) last.
    let pos = |s: &str| text.rfind(s).unwrap_or_else(|| panic!("`{s}` missing:\n{text}"));
    assert!(pos("demo:workers: stopping") < pos("demo:api: stopping"), "{text}");
    assert!(pos("demo:api: stopping") < pos("demo:database: stopping"), "{text}");
}

#[test]
fn terminal_commands_read_the_real_stdin() {
    use std::io::Write as _;
    let p = crate::support::Project::new(concat!(
        "namespace: t\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: \"{wasm}\"\n",
        "  - name: processes\n    kind: process.host\n  - name: terminal\n    kind: terminal.host\n",
        "  - name: cat\n    kind: process.wasm\n    fs: wasm\n    path: /caps.wasm\n    hash: sha256:{sha:caps.wasm}\n    method: read-stdin\n",
        "    imports: [wasi:cli, wasi:io]\n    meta: {command: {name: cat}}\n",
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", p.path().to_str().expect("utf-8"), "run", "cat"])
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("piped").write_all(b"typed by a person").expect("write stdin");
    let o = child.wait_with_output().expect("exits");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"typed by a person\"\n");
}

/// Exit codes: 1 for the user's input (a broken project, with `hint:` lines; a bad argument), 2 for the host
/// itself (here: it cannot write its output), 0 for `--help`.
#[test]
fn exit_codes_say_whose_fault_it_was() {
    let o = wippy(&["-C", "tests/fixtures/projects/broken", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.lines().any(|l| l.starts_with("hint: ")), "every hint is its own line:\n{err}");
    assert!(err.lines().filter(|l| l.starts_with("error: ")).count() >= 3, "{err}");

    let o = wippy(&["call", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(1), "a bad argument is the user's input: {}", stderr(&o));

    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full exists");
    let o = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["hash", "tests/fixtures/wasm/compute.wasm"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(full)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: cannot write to stdout"), "{}", stderr(&o));

    let o = wippy(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Usage: wippy"), "{}", stdout(&o));
}
