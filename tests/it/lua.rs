//! `docs/lua.md`: Lua functions and processes, the built-in modules, and the seed documents' examples verbatim.

use std::path::Path;

use wippy::{Host, Value};

fn seeds() -> Host {
    crate::support::builder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/seeds"))
        .build()
        .unwrap_or_else(|e| panic!("the seeds project loads:\n{e}"))
}

#[tokio::test]
async fn the_seed_snippets_run_verbatim() {
    let h = seeds();
    for test in ["myns:seed_funcs", "myns:seed_spawn", "myns:seed_select"] {
        assert_eq!(h.call(test, vec![]).await, Ok(Value::Bool(true)), "{test}");
    }
}

/// The seeds' `process.wasm` WASI configurations load as written and do what they say: a read-only mount at
/// `/data`, an `OUTPUT_FORMAT` from its entry's default, and a required `API_URL` that names its entry when unset.
#[tokio::test]
async fn the_seed_wasi_configurations_work_as_written() {
    let h = seeds();
    let mut me = h.client();
    let exit = |e: Option<wippy::Event>| match e {
        Some(wippy::Event::Exit(x)) => x,
        other => panic!("expected EXIT, got {other:?}"),
    };
    me.spawn_monitored("myns:file_processor", "myns:processes", vec!["/data/input.csv".into()]).await.expect("spawn");
    let x = exit(me.next_event().await);
    assert_eq!(x.value, Value::from("id,name\n1,alice\n"), "{:?}", x.error);
    me.spawn_monitored("myns:file_processor", "myns:processes", vec!["/etc/passwd".into()]).await.expect("spawn");
    let x = exit(me.next_event().await);
    assert!(x.error.is_some(), "nothing outside the mounts is reachable: {:?}", x.value);

    // API_URL is not in this test's environment map, so the required binding fails the spawn (at Init).
    let h = crate::support::builder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/seeds"))
        .environment(std::collections::HashMap::new())
        .build()
        .expect("loads");
    let e = h
        .client()
        .spawn_monitored("myns:http_worker", "myns:processes", vec!["127.0.0.1:9".into(), "/".into()])
        .await
        .expect_err("API_URL is required");
    let msg = e.to_string();
    assert!(msg.contains("`API_URL`") && msg.contains("`myns:api_url`"), "{msg}");
}

fn wippy(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wippy"))
        .args(args)
        .env("WIPPY_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the wippy binary runs")
}

#[test]
fn wippy_test_runs_the_lua_suites() {
    for (project, count) in
        [("tests/fixtures/projects/lua_suite", 15), ("tests/fixtures/projects/seeds", 3), ("examples/orchestration", 5)]
    {
        let o = wippy(&["-C", project, "test"]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{project}:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
        assert!(out.ends_with(&format!("{count} passed, 0 failed\n")), "{project}:\n{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("PASS ")).count(), count, "{out}");
    }
    let o = wippy(&["-C", "tests/fixtures/projects/lua_suite", "test", "registry"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().last(), Some("1 passed, 0 failed"));
}

#[test]
fn a_lua_command_orchestrates_wasm_workers() {
    let o = wippy(&["-C", "examples/orchestration", "run", "orchestrate", "1", "7", "13"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    // What the coordinator prints comes first, then its return value as JSON, keys in a stable order.
    let (printed, json) = out.split_at(out.find('{').expect("a JSON value"));
    assert_eq!(printed.lines().filter(|l| l.starts_with("job 13 failed")).count(), 2, "{out}");
    assert!(printed.contains("job 7 failed: job 7: transient failure on attempt 1; retrying"), "{out}");
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let keys = |field: &str| v[field].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys("attempts"), ["1", "13", "7"], "sorted as text, the same on every run");
    assert_eq!(
        v,
        serde_json::json!({
            "attempts": {"1": 1, "13": 3, "7": 2},
            "failures": {"13": "job 13 cannot be done"},
            "results": {"1": 1, "7": 49},
        })
    );
    let o = wippy(&["-C", "examples/orchestration", "run", "orchestrate", "1", "x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`orch:coordinator`") && err.contains("coordinator.lua:") && err.contains("job `x`"), "{err}");
}

#[test]
fn wippy_test_reports_each_kind_of_failure() {
    let p = crate::support::Project::with_files(&[
        (
            "src/_index.yaml",
            concat!(
                "namespace: t\nentries:\n",
                "  - {name: pass, kind: function.lua, source: 'function t() return true end', method: t, meta: {type: test}}\n",
                "  - {name: falsy, kind: function.lua, source: 'function t() return false end', method: t, meta: {type: test}}\n",
                "  - {name: errval, kind: function.lua, source: 'function t() return nil, \"it broke\" end', method: t, meta: {type: test}}\n",
                "  - {name: raises, kind: function.lua, source: 'function t() error(\"kaput\") end', method: t, meta: {type: test}}\n",
                "  - {name: slow, kind: function.lua, source: 'local time = require(\"time\") function t() time.sleep(\"10s\") return true end', method: t, modules: [time], meta: {type: test}}\n",
                "  - {name: helper, kind: function.lua, source: 'function t() return true end', method: t}\n",
            ),
        ),
    ]);
    let o = wippy(&["-C", p.path().to_str().expect("utf-8"), "test", "--timeout", "200ms"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("PASS t:pass"), "{out}");
    assert!(out.contains("FAIL t:falsy") && out.contains("returned false, not true"), "{out}");
    assert!(out.contains("FAIL t:errval") && out.contains("it broke"), "{out}");
    assert!(out.contains("FAIL t:raises") && out.contains("kaput"), "{out}");
    assert!(out.contains("FAIL t:slow") && out.contains("did not finish within 200 ms"), "{out}");
    assert!(!out.contains("t:helper"), "only `meta.type: test` entries run: {out}");
    assert!(out.ends_with("1 passed, 4 failed\n"), "{out}");
}

/// The 1-based line of the YAML file of `host`'s project that contains `needle`.
fn line_of(project: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(project.join("src/_index.yaml")).expect("read the YAML");
    text.lines().position(|l| l.contains(needle)).expect("the needle is in the YAML") + 1
}

fn lua_project(lua_entries: &str) -> Host {
    lua_project_at(lua_entries).1
}

fn lua_project_at(lua_entries: &str) -> (crate::support::Project, Host) {
    let mut entries = vec![
        "  - name: processes\n    kind: process.host\n".to_owned(),
        crate::support::wasm_fn("echo_list", "types.wasm", "echo#echo-list", ""),
        crate::support::wasm_fn("echo_record", "types.wasm", "echo#echo-record", ""),
        crate::support::wasm_fn("echo_f64", "types.wasm", "echo#echo-f64", ""),
        crate::support::wasm_fn("echo_s32", "types.wasm", "echo#echo-s32", ""),
        crate::support::wasm_fn("divide", "types.wasm", "divide", ""),
    ];
    entries.push(lua_entries.to_owned());
    let p = crate::support::functions(&entries);
    let h = p.host();
    (p, h)
}

#[tokio::test]
async fn lua_values_cross_into_wit_and_back() {
    let h = lua_project(concat!(
        "  - name: check\n    kind: function.lua\n    method: check\n    modules: [funcs]\n    source: |\n",
        "      local funcs = require('funcs')\n",
        "      function check()\n",
        "        local l = assert(funcs.call('t:echo_list', {1, 2, 3}))\n",
        "        assert(#l == 3 and l[3] == 3 and math.type(l[1]) == 'integer')\n",
        "        local e, err = funcs.call('t:echo_list', {1, nil, 3})\n",
        "        assert(e == nil and string.find(err, '`v%[1%]`') and string.find(err, 'expected an integer, got nil'), err)\n",
        "        local f = assert(funcs.call('t:echo_f64', 3))\n",
        "        assert(math.type(f) == 'float' and f == 3.0)\n",
        "        local i = assert(funcs.call('t:echo_s32', 3.0))\n",
        "        assert(math.type(i) == 'integer' and i == 3)\n",
        "        local r = assert(funcs.call('t:echo_record', {id = 1, name = 'A', tags = {}, active = true}))\n",
        "        assert(r.name == 'A' and #r.tags == 0 and r['nick-name'] == nil)\n",
        "        local q, qerr = funcs.call('t:divide', 1, 0)\n",
        "        assert(q == nil and tostring(qerr) == 'division by zero', qerr)\n",
        "        return {list = l, map = {a = 1, b = {true, false}}, holes = {1, nil, 3}, float = 1.5, int = 2}\n",
        "      end\n",
    ));
    let v = h.call("t:check", vec![]).await.expect("the checks pass");
    assert_eq!(v.get("holes"), Some(&Value::List(vec![1.into(), Value::Nil, 3.into()])));
    assert_eq!(v.get("float"), Some(&Value::Float(1.5)));
    assert_eq!(v.get("int"), Some(&Value::Int(2)));
    assert_eq!(v.get("map").and_then(|m| m.get("b")), Some(&Value::List(vec![true.into(), false.into()])));
}

#[tokio::test]
async fn lua_errors_name_the_entry_file_and_line() {
    let (p, h) = lua_project_at(concat!(
        "  - name: oops\n    kind: function.lua\n    method: f\n    source: |\n",
        "      function f()\n",
        "        local t = nil\n",
        "        return t.field\n",
        "      end\n",
        "  - name: send_fn\n    kind: function.lua\n    method: f\n    modules: [process]\n    source: |\n",
        "      local process = require('process')\n",
        "      function f() process.send(process.pid(), 'x', function() end) end\n",
        "  - name: no_module\n    kind: function.lua\n    method: f\n    source: |\n",
        "      function f() return require('time') end\n",
    ));
    let e = h.call("t:oops", vec![]).await.expect_err("indexes nil");
    let msg = e.to_string();
    // Inline sources keep the YAML file's line numbers.
    let line = line_of(p.path(), "return t.field");
    assert!(
        msg.starts_with("`t:oops`: ") && msg.contains(&format!("_index.yaml:{line}: attempt to index a nil value")),
        "{msg}"
    );
    let e = h.call("t:send_fn", vec![]).await.expect_err("a function payload");
    assert!(e.to_string().contains("`payload value 1` is a function, which cannot leave Lua"), "{e}");
    let e = h.call("t:no_module", vec![]).await.expect_err("not in modules");
    assert!(e.to_string().contains("module 'time' not found: `t:no_module` does not list it in `modules`"), "{e}");
}

#[test]
fn lua_syntax_errors_are_load_errors_with_the_line() {
    let p = crate::support::Project::new(
        "namespace: t\nentries:\n  - name: bad\n    kind: function.lua\n    method: f\n    source: |\n      function f()\n        return 1 +\n      end\n",
    );
    let msg = p.build().err().expect("a syntax error").to_string();
    let line = line_of(p.path(), "      end");
    assert!(
        msg.contains("entry `t:bad`: invalid Lua:") && msg.contains(&format!("_index.yaml:{line}: unexpected symbol")),
        "{msg}"
    );
    let p = crate::support::Project::new(
        "namespace: t\nentries:\n  - {name: m, kind: function.lua, method: f, source: 'function f() end', modules: [tme]}\n",
    );
    let msg = crate::support::shown_load(&p.build().err().expect("unknown module"));
    assert!(msg.contains("unknown module `tme`") && msg.contains("did you mean `time`?"), "{msg}");
}

#[tokio::test]
async fn libraries_are_required_by_alias() {
    let h = lua_project(concat!(
        "  - name: util\n    kind: library.lua\n    source: |\n",
        "      local M = {}\n",
        "      function M.double(x) return x * 2 end\n",
        "      return M\n",
        "  - name: user\n    kind: function.lua\n    method: f\n    imports: {u: util}\n    source: |\n",
        "      local u = require('u')\n",
        "      function f(x) return u.double(x) + (leaked or 0) end\n",
        "  - name: leaker\n    kind: function.lua\n    method: f\n    source: 'function f() leaked = 100 return true end'\n",
    ));
    assert_eq!(h.call("t:leaker", vec![]).await, Ok(Value::Bool(true)));
    assert_eq!(h.call("t:user", vec![21.into()]).await, Ok(Value::Int(42)), "globals do not leak between calls");
}

/// Lua and WASM calling each other through `funcs` stop at `MAX_CALL_DEPTH`, with an error naming the limit.
#[tokio::test]
async fn nested_calls_stop_at_the_depth_limit() {
    let h = lua_project(&format!(
        "{}{}",
        crate::support::wasm_fn("bounce", "caps.wasm", "call-func", "    imports: [funcs]\n"),
        concat!(
            "  - name: rec\n    kind: function.lua\n    method: rec\n    modules: [funcs]\n    source: |\n",
            "      local funcs = require('funcs')\n",
            "      function rec()\n",
            "        local r, err = funcs.call('t:bounce', 't:rec', '[]')\n",
            "        if err then error(err, 0) end\n",
            "        return r\n",
            "      end\n",
        )
    ));
    let e = h.call("t:rec", vec![]).await.expect_err("too deep");
    let limit = wippy::MAX_CALL_DEPTH;
    assert!(e.to_string().contains(&format!("nest deeper than {limit} levels")), "{e}");
    // The host keeps serving.
    assert_eq!(h.call("t:echo_s32", vec![5.into()]).await, Ok(Value::Int(5)));
}

#[tokio::test]
async fn async_calls_timers_and_tickers() {
    let h = lua_project(concat!(
        "  - name: f\n    kind: function.lua\n    method: f\n    modules: [funcs, time, channel]\n    source: |\n",
        "      local funcs, time, channel = require('funcs'), require('time'), require('channel')\n",
        "      function f()\n",
        "        local fut = funcs.async('t:echo_s32', 5)\n",
        "        local r = channel.select({fut:response():case_receive(), time.after('5s'):case_receive()})\n",
        "        assert(r.value:data() == 5 and fut:is_complete() and fut:result():data() == 5 and fut:error() == nil)\n",
        "        local bad = funcs.async('t:echo_s32', 'x')\n",
        "        bad:response():receive()\n",
        "        assert(bad:result() == nil and string.find(bad:error(), 'expected an integer'))\n",
        "        assert(time.parse_duration('1.5s'):milliseconds() == 1500 and time.seconds(2) == 2 * time.SECOND)\n",
        "        local ticker = time.ticker(10 * time.MILLISECOND)\n",
        "        for i = 1, 3 do ticker:channel():receive() end\n",
        "        ticker:stop()\n",
        "        local timer = time.timer('1h')\n",
        "        assert(timer:stop() == true)\n",
        "        local start = time.now()\n",
        "        time.sleep('20ms')\n",
        "        assert(time.since(start):milliseconds() >= 19)\n",
        "        return true\n",
        "      end\n",
    ));
    assert_eq!(h.call("t:f", vec![]).await, Ok(Value::Bool(true)));
}

#[tokio::test]
async fn a_lua_process_that_raises_exits_with_the_message_and_line() {
    let p = crate::support::functions(&[
        "  - name: processes\n    kind: process.host\n".to_owned(),
        "  - name: crash\n    kind: process.lua\n    method: main\n    source: |\n      function main(x)\n        error('bad input: ' .. x)\n      end\n".to_owned(),
        "  - name: ok\n    kind: process.lua\n    method: main\n    source: |\n      function main(a, b) return {sum = a + b, me = process.pid()} end\n".to_owned(),
    ]);
    let h = p.host();
    let line = line_of(p.path(), "error('bad input");
    let mut c = h.client();
    let pid = c.spawn_monitored("t:crash", "t:processes", vec!["42".into()]).await.expect("spawn");
    match c.next_event().await {
        Some(wippy::Event::Exit(e)) => {
            assert_eq!(e.from, pid);
            let err = e.error.map(|v| v.to_string()).unwrap_or_default();
            assert!(err.contains("`t:crash`") && err.contains(&format!("_index.yaml:{line}: bad input: 42")), "{err}");
        }
        other => panic!("expected EXIT, got {other:?}"),
    }
    let pid = c.spawn_monitored("t:ok", "t:processes", vec![2.into(), 3.into()]).await.expect("spawn");
    match c.next_event().await {
        Some(wippy::Event::Exit(e)) => {
            assert_eq!(e.value.get("sum"), Some(&Value::Int(5)));
            assert_eq!(e.value.get("me"), Some(&Value::from(pid.as_str())));
        }
        other => panic!("expected EXIT, got {other:?}"),
    }
}

/// Errors that Lua code sees are the bare messages: the hints the CLI shows never reach a guest.
#[tokio::test]
async fn errors_lua_sees_carry_no_hints() {
    let h = lua_project(concat!(
        "  - name: errs\n    kind: function.lua\n    method: errs\n    modules: [funcs, process]\n    source: |\n",
        "      local funcs = require('funcs')\n",
        "      local process = require('process')\n",
        "      function errs()\n",
        "        local _, taken = process.registry.register('taken')\n",
        "        local _, spawn = process.spawn('t:echo_lsit', 't:processes')\n",
        "        local _, call = funcs.call('t:echo_lsit', 1)\n",
        "        return {taken = tostring(taken), spawn = tostring(spawn), call = tostring(call)}\n",
        "      end\n",
    ));
    let owner = h.client();
    owner.register("taken", owner.pid()).expect("the name is taken first");
    let v = h.call("t:errs", vec![]).await.expect("runs");
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("{k} in {v}")).to_owned();
    assert!(text("taken").contains("already registered"), "{v}");
    assert!(text("spawn").contains("no entry `t:echo_lsit`"), "{v}");
    assert!(text("call").contains("no entry `t:echo_lsit`"), "{v}");
    for k in ["taken", "spawn", "call"] {
        assert!(!text(k).contains("hint"), "{k}: {}", text(k));
    }
    // The hints exist: the CLI shows them.
    let e = h.client().register("taken", owner.pid());
    assert!(e.is_ok(), "re-registering for the same owner is fine");
    let e = h.call("t:echo_lsit", vec![1.into()]).await.expect_err("no such entry");
    assert_eq!(wippy::Hinted::hint(&e).as_deref(), Some("did you mean `t:echo_list`?"));
}
