//! `transport: wasi-http`: a `function.wasm` that is a `wasi:http/proxy` component (it exports
//! `wasi:http/incoming-handler`), called like any other function.
//!
//! The registry format only names the field; the mapping is ours (`docs/capabilities.md`). The call takes one argument, a request map, and returns a
//! response map:
//!
//! | request field | default | | response field | |
//! |---|---|---|---|---|
//! | `method` | `GET` | | `status` | integer |
//! | `path` (with query) | `/` | | `headers` | map, names lower-case, repeated names joined with `, ` |
//! | `scheme` | `http` | | `body` | string when it is UTF-8, bytes otherwise |
//! | `authority` | `localhost` | | | |
//! | `headers` | none | map of name -> string (or list of strings), or a list of `[name, value]` pairs | | |
//! | `body` | empty | string or bytes | | |
//!
//! A call with no argument is `GET /`. An unknown request field is an error naming it, as in YAML.
//!
//! Ordering and cancellation: the response body is read while the handler runs, so a handler that writes more
//! than the body pipe holds is never blocked by us. When the handler returns (or traps, or hits a limit) its store
//! is dropped first, which releases anything it still held (an unfinished body ends there), and only then is the
//! rest of the body read. Dropping the call future drops the store and the body reader together. The body may
//! not exceed [`MAX_RESPONSE_BODY`]; `max_execution_ms` bounds the handler and the reading of its body together.
//! A handler that writes more than the pipe holds *before* it calls `response-outparam.set` waits until the limit
//! ends it: nothing can read a body whose response does not exist yet (give such entries `max_execution_ms`).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::Resource;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::WasiHttpView;

use super::code::{Code, CodeKind, Instance};
use crate::error::CallError;
use crate::error::LimitExceeded;
use crate::process::CallEnv;
use crate::value::wit::ConvertError;
use crate::value::{Map, Value};

/// The largest response body a handler may produce, in bytes.
pub(super) const MAX_RESPONSE_BODY: usize = 64 << 20;

/// The export a `transport: wasi-http` entry calls when its `method` names no interface.
pub(super) const HANDLER_INTERFACE: &str = "wasi:http/incoming-handler";

/// How a wasi-http function reads in error messages.
pub(super) const SIGNATURE: &str =
    "handle(request: {method, path, scheme, authority, headers, body}) -> {status, headers, body}";

/// The fields a request map may have.
const REQUEST_FIELDS: [&str; 6] = ["method", "path", "scheme", "authority", "headers", "body"];

/// The reply of the guest through `response-outparam.set`.
type Reply = Result<hyper::Response<HyperOutgoingBody>, ErrorCode>;

/// The full call: build the request, instantiate, run `handle` while reading the response, map it to a value.
pub(super) async fn invoke(code: &Code, env: CallEnv, args: &[Value]) -> Result<Value, CallError> {
    let (scheme, request) = request(code, args)?;
    let mut store = code.new_store(code.store_state(env)?);
    let instance = code.instantiate(&mut store).await?;
    let (Instance::Component(instance), CodeKind::Component { export, .. }) = (&instance, &code.kind) else {
        return Err(trap(code, "a wasi-http function must be a component"));
    };
    let func = instance
        .get_func(&mut store, export)
        .ok_or_else(|| trap(code, &format!("the instance has no export `{}`", code.method)))?;
    let handle = func
        .typed::<(Resource<HostIncomingRequest>, Resource<HostResponseOutparam>), ()>(&store)
        .map_err(|e| code.map_error(e))?;
    let (reply_tx, reply_rx) = tokio::sync::oneshot::channel::<Reply>();
    let (req, out) = {
        let mut http = store.data_mut().http();
        let req = http.new_incoming_request(scheme, request).map_err(|e| code.map_error(e))?;
        (req, http.new_response_outparam(reply_tx).map_err(|e| code.map_error(e))?)
    };
    if let Some(max) = code.limits.max_execution {
        store.data_mut().deadline = Some((Instant::now() + max, max.as_millis() as u64));
    }
    let run = async move {
        let mut reading = Box::pin(read_reply(code, reply_rx));
        let mut read = None;
        let called = {
            let mut call = Box::pin(handle.call_async(&mut store, (req, out)));
            loop {
                tokio::select! {
                    r = &mut call => break r,
                    r = &mut reading, if read.is_none() => match r {
                        // A body past the limit: stop the handler now rather than let it block on a full pipe.
                        Err(e) => return Err(e),
                        ok => read = Some(ok),
                    },
                }
            }
        };
        // The store goes first: whatever the guest still holds (an unfinished body) ends with it.
        drop(store);
        called.map_err(|e| code.map_error(e))?;
        match read {
            Some(r) => r,
            None => reading.await,
        }
    };
    match code.limits.max_execution {
        Some(max) => tokio::time::timeout(max + code.grace(), run).await.unwrap_or_else(|_| {
            Err(CallError::Limit { entry: code.id.clone(), limit: LimitExceeded::Time { ms: max.as_millis() as u64 } })
        }),
        None => run.await,
    }
}

fn trap(code: &Code, message: &str) -> CallError {
    CallError::Trap { entry: code.id.clone(), message: message.to_owned() }
}

fn bad(code: &Code, path: &str, expected: &str, message: impl Into<String>) -> CallError {
    CallError::Argument {
        entry: code.id.clone(),
        function: code.method.clone(),
        error: ConvertError { path: path.to_owned(), expected: expected.to_owned(), message: message.into() },
    }
}

fn text<'a>(code: &Code, map: &'a Map, field: &str) -> Result<Option<&'a str>, CallError> {
    match map.get(field) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(other) => Err(bad(code, &format!("request.{field}"), "string", format!("got {}", other.type_name()))),
    }
}

/// The request map of the call's arguments as a hyper request.
fn request(code: &Code, args: &[Value]) -> Result<(Scheme, hyper::Request<Full<Bytes>>), CallError> {
    let empty = Map::new();
    let map = match args {
        // An empty Lua table arrives as an empty list.
        [] | [Value::Nil] => &empty,
        [Value::List(l)] if l.is_empty() => &empty,
        [Value::Map(m)] => m,
        [other] => {
            let msg = format!("got {}; pass a map such as {{\"path\": \"/\"}}", other.type_name());
            return Err(bad(code, "request", "request map", msg));
        }
        _ => {
            return Err(CallError::ArgumentCount {
                entry: code.id.clone(),
                expected: 1,
                got: args.len(),
                signature: SIGNATURE.to_owned(),
            })
        }
    };
    if let Some(field) = map.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        let msg = format!("unknown field `{field}`; the fields are {}", REQUEST_FIELDS.join(", "));
        return Err(bad(code, &format!("request.{field}"), "request map", msg));
    }
    let method = text(code, map, "method")?.unwrap_or("GET");
    let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| bad(code, "request.method", "string", format!("`{method}` is not an HTTP method")))?;
    let scheme = match text(code, map, "scheme")?.unwrap_or("http") {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(bad(code, "request.scheme", "string", format!("`{other}` is not `http` or `https`"))),
    };
    let authority = text(code, map, "authority")?.unwrap_or("localhost");
    let path = text(code, map, "path")?.unwrap_or("/");
    if !path.starts_with('/') {
        return Err(bad(code, "request.path", "string", format!("`{path}` does not start with `/`")));
    }
    let scheme_text = if matches!(scheme, Scheme::Https) { "https" } else { "http" };
    let uri = http::Uri::builder()
        .scheme(scheme_text)
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|e| bad(code, "request", "request map", format!("not a valid URI: {e}")))?;
    let mut builder = hyper::Request::builder().method(method).uri(uri);
    for (name, value) in headers(code, map.get("headers"))? {
        builder = builder.header(name, value);
    }
    let body = match map.get("body") {
        None | Some(Value::Nil) => Bytes::new(),
        Some(Value::Str(s)) => Bytes::from(s.clone().into_bytes()),
        Some(Value::Bytes(b)) => Bytes::from(b.clone()),
        Some(other) => return Err(bad(code, "request.body", "string or bytes", format!("got {}", other.type_name()))),
    };
    let request =
        builder.body(Full::new(body)).map_err(|e| bad(code, "request.headers", "header map", e.to_string()))?;
    Ok((scheme, request))
}

/// `{name = value}`, `{name = [values]}` or `[[name, value], ...]`, checked as HTTP header names and values.
fn headers(code: &Code, v: Option<&Value>) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, CallError> {
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    let scalar = |v: &Value, at: &str| match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        other => Err(bad(code, at, "string", format!("got {}", other.type_name()))),
    };
    match v {
        None | Some(Value::Nil) => {}
        Some(Value::Map(m)) => {
            for (name, value) in m {
                let at = format!("request.headers.{name}");
                match value {
                    Value::List(items) => {
                        for (i, item) in items.iter().enumerate() {
                            pairs.push((name.clone(), scalar(item, &format!("{at}[{i}]"))?, at.clone()));
                        }
                    }
                    other => pairs.push((name.clone(), scalar(other, &at)?, at)),
                }
            }
        }
        Some(Value::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("request.headers[{i}]");
                match item {
                    Value::List(pair) if pair.len() == 2 => {
                        pairs.push((scalar(&pair[0], &at)?, scalar(&pair[1], &at)?, at));
                    }
                    other => {
                        return Err(bad(code, &at, "[name, value]", format!("got {}", other.type_name())));
                    }
                }
            }
        }
        Some(other) => {
            return Err(bad(code, "request.headers", "header map", format!("got {}", other.type_name())));
        }
    }
    pairs
        .into_iter()
        .map(|(name, value, at)| {
            let n = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad(code, &at, "header name", format!("`{name}` is not a valid header name")))?;
            let v = http::HeaderValue::from_str(&value)
                .map_err(|_| bad(code, &at, "header value", "not a valid header value"))?;
            Ok((n, v))
        })
        .collect()
}

/// Waits for the guest's `response-outparam.set`, then reads the whole body (at most [`MAX_RESPONSE_BODY`]).
async fn read_reply(code: &Code, reply: tokio::sync::oneshot::Receiver<Reply>) -> Result<Value, CallError> {
    let response = match reply.await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(CallError::Guest { entry: code.id.clone(), value: Value::from(format!("HTTP error: {e:?}")) })
        }
        Err(_) => {
            return Err(trap(
                code,
                "the handler returned without a response; hint: call `response-outparam.set` before returning",
            ))
        }
    };
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| trap(code, &format!("the response body failed: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > MAX_RESPONSE_BODY {
                return Err(trap(
                    code,
                    &format!("the response body is larger than {MAX_RESPONSE_BODY} bytes (`MAX_RESPONSE_BODY`)"),
                ));
            }
            bytes.extend_from_slice(data);
        }
    }
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::Str(s)) => {
                s.push_str(", ");
                s.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::Str(value));
            }
        }
    }
    let body = match String::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    };
    Ok(Value::map([
        ("status", Value::Int(i64::from(parts.status.as_u16()))),
        ("headers", Value::Map(headers)),
        ("body", body),
    ]))
}
