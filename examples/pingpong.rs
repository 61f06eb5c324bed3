//! Two WASM processes play ping-pong over `wippy:process`, orchestrated from Rust.
//!
//! `app:pong` answers every `ping` with a `pong`; `app:ping` sends N pings to it, one at a time, and returns how many
//! pongs came back. The Rust side spawns both monitored and reads their EXIT values.
//!
//! Run: `cargo run --example pingpong -- [ROUNDS]`.

use std::time::Instant;

use wippy::{Event, Host, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: i64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let host = Host::load(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart"))?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut me = host.client();
        let pong = me.spawn_monitored("app:pong", "app:processes", vec![]).await?;
        let start = Instant::now();
        let ping = me.spawn_monitored("app:ping", "app:processes", vec![pong.as_str().into(), rounds.into()]).await?;
        println!("ping {ping} -> pong {pong}, {rounds} rounds");
        while let Some(event) = me.next_event().await {
            let Event::Exit(exit) = event else { continue };
            if exit.from == ping {
                let elapsed = start.elapsed();
                println!(
                    "ping exited with {} after {elapsed:.2?} ({:.2?} per round trip)",
                    exit.value,
                    elapsed / rounds as u32
                );
                me.send(pong.as_str(), "stop", Value::Nil)?;
            } else if exit.from == pong {
                println!("pong exited with {}", exit.value);
                break;
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
