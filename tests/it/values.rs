//! `docs/values.md`: every row of the WIT mapping, in both directions, through a real component (`types.wasm`), and the
//! error rows: wrong types, out-of-range integers, missing record fields with their path, wrong argument counts,
//! u64 overflow on the way out.

use wippy::{CallError, Host, Value};

use crate::support::{functions, wasm_fn};

const ECHOES: &[&str] = &[
    "bool",
    "s8",
    "u8",
    "s16",
    "u16",
    "s32",
    "u32",
    "s64",
    "u64",
    "f32",
    "f64",
    "char",
    "string",
    "bytes",
    "list",
    "tuple",
    "record",
    "users",
    "variant",
    "enum",
    "flags",
    "option",
    "results",
    "unit-result",
    "two",
];

fn host() -> Host {
    let mut entries: Vec<String> = ECHOES
        .iter()
        .map(|k| wasm_fn(&format!("echo_{}", k.replace('-', "_")), "types.wasm", &format!("echo#echo-{k}"), ""))
        .collect();
    entries.push(wasm_fn("transform_users", "types.wasm", "transform-users", ""));
    entries.push(wasm_fn("divide", "types.wasm", "divide", ""));
    entries.push(wasm_fn("big_u64", "types.wasm", "big-u64", ""));
    functions(&entries).host()
}

fn v(json: &str) -> Value {
    wippy::Value::from_json(json).expect("test JSON")
}

async fn echo(h: &Host, kind: &str, arg: Value) -> Result<Value, CallError> {
    h.call(&format!("t:echo_{kind}"), vec![arg]).await
}

async fn same(h: &Host, kind: &str, arg: Value) {
    assert_eq!(echo(h, kind, arg.clone()).await, Ok(arg), "echo of {kind}");
}

async fn fails(h: &Host, kind: &str, arg: Value) -> String {
    match echo(h, kind, arg.clone()).await {
        Err(e) => e.to_string(),
        Ok(out) => panic!("echo_{kind}({arg}) should fail, returned {out}"),
    }
}

#[tokio::test]
async fn scalars_round_trip() {
    let h = host();
    same(&h, "bool", Value::Bool(true)).await;
    for (kind, lo, hi) in [
        ("s8", i64::from(i8::MIN), i64::from(i8::MAX)),
        ("u8", 0, i64::from(u8::MAX)),
        ("s16", i64::from(i16::MIN), i64::from(i16::MAX)),
        ("u16", 0, i64::from(u16::MAX)),
        ("s32", i64::from(i32::MIN), i64::from(i32::MAX)),
        ("u32", 0, i64::from(u32::MAX)),
        ("s64", i64::MIN, i64::MAX),
        ("u64", 0, i64::MAX),
    ] {
        same(&h, kind, Value::Int(lo)).await;
        same(&h, kind, Value::Int(hi)).await;
    }
    // A float with no fractional part is an integer.
    assert_eq!(echo(&h, "s32", Value::Float(7.0)).await, Ok(Value::Int(7)));
    // Numbers become floats; integers are accepted for floats.
    same(&h, "f64", Value::Float(1.25)).await;
    same(&h, "f32", Value::Float(0.5)).await;
    assert_eq!(echo(&h, "f64", Value::Int(3)).await, Ok(Value::Float(3.0)));
    same(&h, "char", Value::from("é")).await;
    same(&h, "string", Value::from("héllo wörld")).await;
}

#[tokio::test]
async fn integer_errors_name_the_range() {
    let h = host();
    let e = fails(&h, "s8", Value::Int(200)).await;
    assert!(e.contains("`v`") && e.contains("200 is out of range -128..=127") && e.contains("`s8`"), "{e}");
    let e = fails(&h, "u32", Value::Int(-1)).await;
    assert!(e.contains("-1 is out of range 0..=4294967295"), "{e}");
    let e = fails(&h, "u16", Value::Float(1.5)).await;
    assert!(e.contains("expected an integer, got the float 1.5"), "{e}");
    let e = fails(&h, "bool", Value::from("yes")).await;
    assert!(e.contains("expected a bool, got string"), "{e}");
    let e = fails(&h, "char", Value::from("ab")).await;
    assert!(e.contains("one-character string"), "{e}");
    let e = fails(&h, "string", Value::Int(1)).await;
    assert!(e.contains("expected a string, got integer"), "{e}");
}

#[tokio::test]
async fn u64_above_i64_max_is_an_error_on_the_way_out() {
    let h = host();
    let e = h.call("t:big_u64", vec![]).await.expect_err("u64::MAX does not fit");
    assert!(matches!(e, CallError::Result { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("18446744073709551615") && msg.contains("`t:big_u64`"), "{msg}");
}

#[tokio::test]
async fn bytes_and_lists() {
    let h = host();
    same(&h, "bytes", Value::Bytes(vec![0, 1, 255])).await;
    same(&h, "bytes", Value::Bytes(vec![])).await;
    assert_eq!(echo(&h, "bytes", Value::from("hi")).await, Ok(Value::Bytes(b"hi".to_vec())));
    assert_eq!(echo(&h, "bytes", v("[104, 105]")).await, Ok(Value::Bytes(b"hi".to_vec())));
    let e = fails(&h, "bytes", v("[1, 256]")).await;
    assert!(e.contains("`v[1]`") && e.contains("256 is out of range 0..=255"), "{e}");
    same(&h, "list", v("[1, -2, 3]")).await;
    same(&h, "list", Value::List(vec![])).await;
    // Lua has one empty table: an empty map is an empty list.
    assert_eq!(echo(&h, "list", Value::Map(Default::default())).await, Ok(Value::List(vec![])));
    let e = fails(&h, "list", v("[1, \"two\"]")).await;
    assert!(e.contains("`v[1]`") && e.contains("expected an integer"), "{e}");
    same(&h, "tuple", v("[1, \"a\", true]")).await;
    let e = fails(&h, "tuple", v("[1, \"a\"]")).await;
    assert!(e.contains("expected a list of 3 elements, got 2"), "{e}");
}

#[tokio::test]
async fn records() {
    let h = host();
    let user = v(r#"{"id": 1, "name": "Alice", "tags": ["admin"], "active": true, "nick-name": "al"}"#);
    same(&h, "record", user.clone()).await;
    // snake_case is accepted going in; kebab-case comes out.
    let snake = v(r#"{"id": 1, "name": "Alice", "tags": ["admin"], "active": true, "nick_name": "al"}"#);
    assert_eq!(echo(&h, "record", snake).await, Ok(user));
    // A missing option field is none.
    let no_nick = v(r#"{"id": 2, "name": "Bob", "tags": [], "active": false}"#);
    let out = echo(&h, "record", no_nick).await.expect("option fields may be left out");
    assert_eq!(out.get("nick-name"), Some(&Value::Nil));
    let e = fails(&h, "record", v(r#"{"id": 2, "name": "Bob", "tags": [], "active": false, "age": 3}"#)).await;
    assert!(e.contains("unknown record field `age`"), "{e}");
}

#[tokio::test]
async fn a_missing_field_is_named_with_its_path() {
    let h = host();
    // The seed's call: funcs.call("myns:transform_users", users).
    let users = v(r#"[
        {"id": 1, "name": "Alice", "tags": ["admin"], "active": true},
        {"id": 2, "name": "Bob", "active": false}
    ]"#);
    let e = h.call("t:transform_users", vec![users]).await.expect_err("tags is missing");
    let msg = e.to_string();
    assert!(msg.contains("`users[1].tags`") && msg.contains("missing record field `tags`"), "{msg}");
    assert!(msg.contains("list<string>"), "the expected WIT type is named: {msg}");

    let ok = v(r#"[{"id": 1, "name": "Alice", "tags": ["admin"], "active": true}]"#);
    let out = h.call("t:transform_users", vec![ok]).await.expect("valid users");
    assert_eq!(
        out,
        v(r#"[{"id": 1, "name": "ALICE", "tags": ["admin", "active"], "active": true, "nick-name": null}]"#)
    );

    let e = fails(&h, "users", v(r#"[{"id": 1, "name": "A", "tags": [7], "active": true}]"#)).await;
    assert!(e.contains("`v[0].tags[0]`") && e.contains("expected a string"), "{e}");
}

#[tokio::test]
async fn variants_enums_flags() {
    let h = host();
    same(&h, "variant", v(r#"{"circle": 1.5}"#)).await;
    same(&h, "variant", v(r#"{"rect": {"x": 1.0, "y": 2.0}}"#)).await;
    same(&h, "variant", Value::from("empty")).await;
    let e = fails(&h, "variant", Value::from("triangle")).await;
    assert!(e.contains("unknown variant case `triangle`") && e.contains("circle, rect, empty"), "{e}");
    let e = fails(&h, "variant", Value::from("circle")).await;
    assert!(e.contains("case `circle` needs a payload"), "{e}");

    same(&h, "enum", Value::from("green")).await;
    assert_eq!(echo(&h, "enum", Value::Int(2)).await, Ok(Value::from("blue")));
    let e = fails(&h, "enum", Value::from("mauve")).await;
    assert!(e.contains("unknown enum case `mauve`"), "{e}");
    let e = fails(&h, "enum", Value::Int(3)).await;
    assert!(e.contains("3 is out of range 0..=2"), "{e}");

    same(&h, "flags", v(r#"["read", "exec"]"#)).await;
    same(&h, "flags", Value::List(vec![])).await;
    assert_eq!(echo(&h, "flags", Value::Int(3)).await, Ok(v(r#"["read", "write"]"#)));
    let e = fails(&h, "flags", v(r#"["fly"]"#)).await;
    assert!(e.contains("unknown flag `fly`"), "{e}");
}

#[tokio::test]
async fn options_and_results() {
    let h = host();
    same(&h, "option", Value::Nil).await;
    same(&h, "option", Value::from("x")).await;

    // A result that is not the function's own result is {ok = v} / {err = e}.
    same(&h, "results", v(r#"[{"ok": 1}, {"err": "bad"}]"#)).await;
    let e = fails(&h, "results", v(r#"[{"maybe": 1}]"#)).await;
    assert!(e.contains("unknown result case `maybe`"), "{e}");
    // Payload-less cases are their names.
    same(&h, "unit_result", Value::from("ok")).await;
    same(&h, "unit_result", Value::from("err")).await;
    same(&h, "unit_result", Value::Nil).await;

    // The function's own result is a value/error pair.
    assert_eq!(h.call("t:divide", vec![6.into(), 3.into()]).await, Ok(Value::Int(2)));
    match h.call("t:divide", vec![1.into(), 0.into()]).await {
        Err(CallError::Guest { value, .. }) => assert_eq!(value, Value::from("division by zero")),
        other => panic!("expected the guest's error, got {other:?}"),
    }
}

#[tokio::test]
async fn argument_counts() {
    let h = host();
    assert_eq!(h.call("t:echo_two", vec![7.into(), "x".into()]).await, Ok(Value::from("7:x")));
    let e = h.call("t:echo_two", vec![7.into()]).await.expect_err("one argument short");
    let msg = crate::support::shown(&e);
    assert!(
        msg.contains("expected 2 argument(s), got 1") && msg.contains("echo#echo-two(a: s32, b: string) -> string"),
        "{msg}"
    );
    let e = h.call("t:divide", vec![1.into(), 2.into(), 3.into()]).await.expect_err("one too many");
    assert!(matches!(e, CallError::ArgumentCount { expected: 2, got: 3, .. }), "{e:?}");
}
