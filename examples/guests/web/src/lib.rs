//! A `wasi:http/proxy` component: the fixture of `transport: wasi-http`.
//!
//! `handle` answers by path:
//! - `/big?kib=N`: a body of N KiB of `x`, written in 4 KiB pieces (more than the body pipe holds);
//! - `/trap`: traps before answering;
//! - `/silent`: returns without setting a response;
//! - anything else: echoes `METHOD PATH name=<x-name header> body=<request body>` with status `x-status` (default
//!   200) and the headers `content-type: text/plain` and `x-echo-method`.

use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(Web);

struct Web;

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    let values = req.headers().get(name);
    values.first().map(|v| String::from_utf8_lossy(v).into_owned())
}

fn read_body(req: &IncomingRequest) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(body) = req.consume() else { return out };
    if let Ok(stream) = body.stream() {
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            out.extend_from_slice(&chunk);
        }
    }
    out
}

fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let fields = Fields::new();
    for (name, value) in headers {
        let _ = fields.append(name, &value.as_bytes().to_vec());
    }
    let resp = OutgoingResponse::new(fields);
    let _ = resp.set_status_code(status);
    let outgoing = resp.body().expect("a response has one body");
    ResponseOutparam::set(out, Ok(resp));
    let stream = outgoing.write().expect("a body has one stream");
    for piece in body.chunks(4096) {
        stream.blocking_write_and_flush(piece).expect("the host reads the body");
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("finish the body");
}

impl wasi::exports::http::incoming_handler::Guest for Web {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let method = method_name(&request.method());
        if path == "/trap" {
            core::arch::wasm32::unreachable();
        }
        if path == "/silent" {
            return;
        }
        if let Some(kib) = path.strip_prefix("/big?kib=") {
            let n: usize = kib.parse().unwrap_or(1);
            respond(out, 200, &[], &vec![b'x'; n * 1024]);
            return;
        }
        let name = header(&request, "x-name").unwrap_or_default();
        let status = header(&request, "x-status").and_then(|s| s.parse().ok()).unwrap_or(200);
        let body = String::from_utf8_lossy(&read_body(&request)).into_owned();
        let text = format!("{method} {path} name={name} body={body}");
        respond(out, status, &[("content-type", "text/plain"), ("x-echo-method", &method)], text.as_bytes());
    }
}
