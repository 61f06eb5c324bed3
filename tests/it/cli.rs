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
    assert!(stdout(&o).contains("ok: 3 entries checked"));
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
