//! One function per host capability (see `wit/world.wit`).

use std::io::{Read, Write};

wit_bindgen::generate!({ world: "caps", path: "wit", generate_all });

struct Caps;

impl Guest for Caps {
    fn write_stdout(text: String) {
        println!("{text}");
    }

    fn write_stderr(text: String) {
        eprintln!("{text}");
    }

    fn read_stdin() -> String {
        let mut s = String::new();
        let _ = std::io::stdin().read_to_string(&mut s);
        s
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn env_vars() -> Vec<(String, String)> {
        std::env::vars().collect()
    }

    fn arg_list() -> Vec<String> {
        std::env::args().collect()
    }

    fn cwd() -> Option<String> {
        std::env::current_dir().ok().map(|p| p.display().to_string())
    }

    fn exit_with(code: i32) {
        wasi::cli::exit::exit_with_code(code.clamp(0, 255) as u8);
        std::process::exit(code)
    }

    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| e.to_string())
    }

    fn write_file(path: String, content: String) -> Result<(), String> {
        std::fs::write(&path, content).map_err(|e| e.to_string())
    }

    fn make_symlink(target: String, link: String) -> Result<(), String> {
        let (dir, _) = ::wasi::filesystem::preopens::get_directories().into_iter().next().ok_or("no mount")?;
        dir.symlink_at(&target, &link).map_err(|e| format!("{e:?}"))
    }

    fn make_hardlink(target: String, link: String) -> Result<(), String> {
        use ::wasi::filesystem::types::PathFlags;
        let (dir, _) = ::wasi::filesystem::preopens::get_directories().into_iter().next().ok_or("no mount")?;
        dir.link_at(PathFlags::empty(), &target, &dir, &link).map_err(|e| format!("{e:?}"))
    }

    fn tcp_echo(addr: String, text: String) -> Result<String, String> {
        let mut s = std::net::TcpStream::connect(addr.as_str()).map_err(|e| e.to_string())?;
        s.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        s.shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn resolve(host: String) -> Result<Vec<String>, String> {
        use std::net::ToSocketAddrs;
        let addrs = (host.as_str(), 80).to_socket_addrs().map_err(|e| e.to_string())?;
        Ok(addrs.map(|a| a.ip().to_string()).collect())
    }

    fn http_get(authority: String, path: String) -> Result<String, String> {
        use ::wasi::http::outgoing_handler;
        use ::wasi::http::types::{Fields, OutgoingRequest, Scheme};
        let request = OutgoingRequest::new(Fields::new());
        request.set_scheme(Some(&Scheme::Http)).map_err(|_| "bad scheme")?;
        request.set_authority(Some(&authority)).map_err(|_| "bad authority")?;
        request.set_path_with_query(Some(&path)).map_err(|_| "bad path")?;
        let future = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(r))) => r,
            Some(Ok(Err(e))) => return Err(format!("{e:?}")),
            _ => return Err("no response".into()),
        };
        let body = response.consume().map_err(|_| "no body")?;
        let stream = body.stream().map_err(|_| "no body stream")?;
        let mut out = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(::wasi::io::streams::StreamError::Closed) => break,
                Err(e) => return Err(format!("{e:?}")),
            }
        }
        Ok(format!("{} {}", response.status(), String::from_utf8_lossy(&out)))
    }

    fn whoami() -> Option<String> {
        wippy::runtime::context::actor()
    }

    fn call_func(id: String, args: String) -> Result<String, String> {
        wippy::runtime::funcs::call_string(&id, &args)
    }

    fn call_func_bytes(id: String, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        wippy::runtime::funcs::call_bytes(&id, &payload)
    }
}

export!(Caps);
