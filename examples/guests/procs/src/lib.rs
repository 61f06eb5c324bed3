//! WASM processes built on `wippy:process`.

wit_bindgen::generate!({ world: "procs", path: "wit", generate_all });

use wippy::process::process::{self as p, Message};

struct Procs;

fn recv() -> Message {
    loop {
        if let Some(m) = p::receive(None) {
            return m;
        }
    }
}

impl Guest for Procs {
    fn wait() -> String {
        recv().topic
    }

    fn echo_loop() -> u32 {
        let mut n = 0;
        loop {
            let m = recv();
            if m.topic == "stop" {
                return n;
            }
            if !m.topic.starts_with('@') {
                let _ = p::send(&m.sender, &m.topic, &m.payload);
                n += 1;
            }
        }
    }

    fn ping(peer: String, n: u32) -> u32 {
        let mut pongs = 0;
        for i in 0..n {
            if p::send(&peer, "ping", &i.to_string()).is_err() {
                break;
            }
            loop {
                let m = recv();
                if m.topic == "pong" {
                    pongs += 1;
                    break;
                }
            }
        }
        pongs
    }

    fn pong() -> u32 {
        let mut n = 0;
        loop {
            let m = recv();
            match m.topic.as_str() {
                "ping" => {
                    let _ = p::send(&m.sender, "pong", &m.payload);
                    n += 1;
                }
                "stop" => return n,
                _ => {}
            }
        }
    }

    fn collect(n: u32) -> Vec<i64> {
        let mut out = Vec::with_capacity(n as usize);
        while out.len() < n as usize {
            let m = recv();
            if let Ok(v) = m.payload.trim().parse::<i64>() {
                out.push(v);
            }
        }
        out
    }

    fn blast(dest: String, n: u32) -> u32 {
        for i in 0..n {
            let _ = p::send(&dest, "n", &i.to_string());
        }
        n
    }

    fn drain(n: u32) -> u32 {
        for _ in 0..n {
            recv();
        }
        n
    }

    fn trap_on_message() {
        recv();
        core::arch::wasm32::unreachable()
    }

    fn trap_links_wait(peer: String, observer: String) -> String {
        p::set_trap_links(true);
        if let Err(e) = p::link(&peer) {
            return format!("link failed: {e}");
        }
        let _ = p::send(&observer, "linked", "true");
        loop {
            let m = recv();
            if m.topic == "@pid.link.down" {
                return m.payload;
            }
        }
    }

    fn cleanup_on_cancel(observer: String) -> String {
        loop {
            let m = recv();
            if m.topic == "@pid.cancel" {
                let _ = p::send(&observer, "cleaned", "true");
                return String::from("cancelled");
            }
        }
    }

    fn ignore_cancel() {
        loop {
            recv();
        }
    }

    fn spin() {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn spawn_child(entry: String, host: String, args: String) -> String {
        match p::spawn_monitored(&entry, &host, &args) {
            Err(e) => format!("spawn failed: {e}"),
            Ok(child) => loop {
                let m = recv();
                if m.topic == "@pid.exit" && m.sender == child {
                    return m.payload;
                }
            },
        }
    }

    fn register_as(name: String, observer: String) -> String {
        if let Err(e) = p::register(&name) {
            return format!("register failed: {e}");
        }
        let _ = p::send(&observer, "registered", "true");
        recv().payload
    }

    fn self_pid() -> String {
        p::self_()
    }

    fn greet(name: String) {
        println!("Hello, {name}! (from a WASM process)");
    }

    fn fail(msg: String) -> Result<(), String> {
        Err(msg)
    }

    fn flaky(min_ms: u32, max_ms: u32) {
        let span = u64::from(max_ms.saturating_sub(min_ms)) + 1;
        let ms = u64::from(min_ms) + wasi::random::random::get_random_u64() % span;
        // Wait in slices so a CANCEL (shutdown) is noticed within 50 ms.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
        while std::time::Instant::now() < deadline {
            if let Some(m) = p::receive(Some(50)) {
                if m.topic == "@pid.cancel" {
                    return;
                }
            }
        }
        core::arch::wasm32::unreachable()
    }

    fn compute(a: i32, b: i32) -> i32 {
        a.wrapping_mul(b)
    }
}

export!(Procs);
