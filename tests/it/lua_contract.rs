//! `docs/lua.md`, "Wippy's programs": module tables, globals, `require`, return conventions and casts (SPEC §5.1),
//! tested in Lua by `wippy test` on `tests/fixtures/projects/lua_contract`.

use std::path::Path;
use std::process::Command;

#[test]
fn wippy_test_runs_the_contract_suite() {
    let o = Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(["-C", "tests/fixtures/projects/lua_contract", "test"])
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the wippy binary runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.ends_with("26 passed, 0 failed\n"), "{out}");
}
