//! Load errors (`docs/registry.md`): each problem is reported with `file:line:col`, the entry ID and what is wrong, and loading
//! reports every problem of a project at once.

use wippy::LoadError;

use crate::support::{functions, wasm_fn, Project};

fn load_err(p: &Project) -> LoadError {
    match p.build() {
        Ok(_) => panic!("the project should not load"),
        Err(e) => e,
    }
}

fn one_error(p: &Project) -> String {
    let e = load_err(p);
    assert_eq!(e.diagnostics.len(), 1, "exactly one problem expected:\n{e}");
    crate::support::shown_load(&e)
}

const HEAD: &str = "namespace: t\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: \"{wasm}\"\n";

#[test]
fn wrong_hash_shows_expected_and_actual() {
    let bad = "0".repeat(64);
    let p = Project::new(&format!(
        "{HEAD}  - name: c\n    kind: function.wasm\n    fs: wasm\n    path: /compute.wasm\n    hash: sha256:{bad}\n    method: compute\n"
    ));
    let msg = one_error(&p);
    let actual = crate::support::sha("compute.wasm");
    assert!(msg.contains(&format!("expected sha256:{bad}")), "{msg}");
    assert!(msg.contains(&format!("actual sha256:{actual}")), "{msg}");
    assert!(msg.contains("entry `t:c`") && msg.contains("compute.wasm") && msg.contains("_index.yaml:10:11"), "{msg}");
}

#[test]
fn unsupported_hash_algorithm() {
    let p = Project::new(&format!(
        "{HEAD}  - name: c\n    kind: function.wasm\n    fs: wasm\n    path: /compute.wasm\n    hash: md5:d41d8cd98f00b204e9800998ecf8427e\n    method: compute\n"
    ));
    let msg = one_error(&p);
    assert!(msg.contains("unsupported hash algorithm `md5`") && msg.contains("entry `t:c`"), "{msg}");
}

#[test]
fn missing_file() {
    let p = Project::new(&format!(
        "{HEAD}  - name: c\n    kind: function.wasm\n    fs: wasm\n    path: /nope.wasm\n    hash: sha256:{}\n    method: compute\n",
        "a".repeat(64)
    ));
    let msg = one_error(&p);
    assert!(msg.contains("cannot read") && msg.contains("nope.wasm") && msg.contains("entry `t:c`"), "{msg}");
    assert!(msg.contains(":9:11:"), "points at `path`: {msg}");
}

#[test]
fn unknown_kind_suggests_the_closest() {
    let p = Project::new("namespace: t\nentries:\n  - name: f\n    kind: function.wsam\n");
    let msg = one_error(&p);
    assert!(msg.contains("_index.yaml:4:11: entry `t:f`: unknown kind `function.wsam`"), "{msg}");
    assert!(msg.contains("did you mean `function.wasm`?"), "{msg}");
}

#[test]
fn unknown_field_suggests_the_closest() {
    let p = Project::new("namespace: t\nentries:\n  - name: a\n    kind: function.wat\n    source: \"(module)\"\n    metod: x\n    method: x\n");
    let msg = one_error(&p);
    assert!(msg.contains("_index.yaml:6:5: entry `t:a`: unknown field `metod` in entry"), "{msg}");
    assert!(msg.contains("did you mean `method`?"), "{msg}");
}

#[test]
fn duplicate_ids_point_at_both() {
    let p = Project::with_files(&[
        ("src/_index.yaml", "namespace: t\nentries:\n  - name: v\n    kind: env.variable\n"),
        ("src/more/_index.yaml", "namespace: t\nentries:\n  - name: v\n    kind: env.variable\n"),
    ]);
    let msg = one_error(&p);
    assert!(msg.contains("more/_index.yaml:3:5: entry `t:v`: duplicate entry ID"), "{msg}");
    assert!(msg.contains("already declared at") && msg.contains("src/_index.yaml:3:5"), "{msg}");
}

#[test]
fn dangling_fs_reference() {
    let p = Project::new(&format!(
        "{HEAD}  - name: c\n    kind: function.wasm\n    fs: wams\n    path: /compute.wasm\n    hash: sha256:{{sha:compute.wasm}}\n    method: compute\n"
    ));
    let msg = one_error(&p);
    assert!(msg.contains(":8:9: entry `t:c`: `fs` refers to `t:wams`, which does not exist"), "{msg}");
    assert!(msg.contains("did you mean `t:wasm`?"), "{msg}");
}

#[test]
fn reference_to_the_wrong_kind() {
    let p = Project::new(&format!(
        "{HEAD}  - name: v\n    kind: env.variable\n  - name: c\n    kind: function.wasm\n    fs: v\n    path: /compute.wasm\n    hash: sha256:{{sha:compute.wasm}}\n    method: compute\n"
    ));
    let msg = one_error(&p);
    assert!(msg.contains("`fs` refers to `t:v`, which is a `env.variable`, not a `fs.directory`"), "{msg}");
}

#[test]
fn invalid_wat() {
    let p = Project::new("namespace: t\nentries:\n  - name: a\n    kind: function.wat\n    method: a\n    source: \"(module (func (export \\\"a\\\") (result i32) i32.const))\"\n");
    let msg = one_error(&p);
    assert!(msg.contains(":6:13: entry `t:a`: invalid WAT:"), "{msg}");
}

#[test]
fn missing_export_lists_the_exports() {
    let p = functions(&[wasm_fn("x", "types.wasm", "echo#echo-nothing", "")]);
    let msg = one_error(&p);
    assert!(msg.contains("the component has no export `echo#echo-nothing`"), "{msg}");
    assert!(msg.contains("`echo#echo-bool`") && msg.contains("`divide`") && msg.contains("`transform-users`"), "{msg}");

    let p = Project::new("namespace: t\nentries:\n  - name: a\n    kind: function.wat\n    method: b\n    source: '(module (func (export \"a\")) (func (export \"c\")))'\n");
    let msg = one_error(&p);
    assert!(msg.contains("the module has no export `b`; its function exports are: `a`, `c`"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = Project::new(
        "namespace: t\nentries:\n  - name: a\n    kind: nope\n  - name: b\n    kind: function.wat\n  - name: c\n    kind: fs.directory\n    directory: x\n    mode: 999\n",
    );
    let e = load_err(&p);
    let text = e.to_string();
    assert_eq!(e.diagnostics.len(), 4, "{text}");
    assert!(text.contains("unknown kind `nope`"), "{text}");
    assert!(
        text.contains("missing required field `source`") && text.contains("missing required field `method`"),
        "{text}"
    );
    assert!(text.contains("field `mode` is not an octal file mode"), "{text}");
    assert!(text.contains("4 problems found"), "{text}");
}

#[test]
fn malformed_yaml_points_at_the_spot() {
    let p = Project::new("namespace: t\nentries:\n  - name: a\n   kind: [x\n");
    let msg = one_error(&p);
    assert!(msg.contains("_index.yaml:") && msg.contains("invalid YAML"), "{msg}");
}

#[test]
fn bad_values_are_named() {
    let p = Project::new(concat!(
        "namespace: t\nentries:\n  - name: a\n    kind: function.wat\n    method: a\n    source: '(module)'\n",
        "    imports: [wasi:clock]\n    limits: {max_memory: lots, max_execution_ms: -1}\n    pool: {type: huge}\n",
        "    wasi: {cwd: relative}\n"
    ));
    let text = crate::support::shown_load(&load_err(&p));
    assert!(text.contains("unknown import `wasi:clock`") && text.contains("did you mean `wasi:clocks`?"), "{text}");
    assert!(text.contains("field `max_memory` is not a valid size"), "{text}");
    assert!(text.contains("field `max_execution_ms` must be a non-negative integer, got the integer -1"), "{text}");
    assert!(text.contains("unknown pool type `huge`"), "{text}");
    assert!(text.contains("`wasi.cwd` must be an absolute guest path"), "{text}");
}

#[test]
fn project_layout_errors() {
    let empty = tempfile::tempdir().expect("temp dir");
    let e = crate::support::builder(empty.path()).build().err().expect("no src folder");
    let d = &e.diagnostics[0];
    assert!(d.message.contains("the project has no source folder") && d.hint.is_some(), "{e}");

    // wippy.lock moves the source folder.
    let p = Project::with_files(&[
        ("wippy.lock", "directories:\n  src: ./entries\n"),
        ("entries/_index.yaml", "namespace: t\nentries:\n  - name: v\n    kind: env.variable\n"),
    ]);
    let reg = p.host();
    assert_eq!(reg.entry_kind("t:v"), Some("env.variable"));
}

#[test]
fn a_command_on_a_function_names_the_process_kind() {
    for (kind, want) in [("function.wasm", "process.wasm"), ("function.lua", "process.lua")] {
        let body = match kind {
            "function.wasm" => {
                "    fs: wasm\n    path: /compute.wasm\n    hash: sha256:{sha:compute.wasm}\n    method: compute\n"
            }
            _ => "    source: 'function f() end'\n    method: f\n",
        };
        let p =
            Project::new(&format!("{HEAD}  - name: f\n    kind: {kind}\n{body}    meta: {{command: {{name: go}}}}\n"));
        let msg = one_error(&p);
        assert!(msg.contains("`meta.command` is only for process entries"), "{msg}");
        assert!(msg.contains(&format!("declare the entry as `kind: {want}`")), "{msg}");
    }
}
