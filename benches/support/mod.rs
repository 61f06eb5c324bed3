//! Pieces the benchmarks share.

use std::time::{Duration, Instant};

use wippy::{Client, Event, Value};

/// One sample of one-way message throughput: spawns `app:drain` (monitored) on `drain_host`, then `app:blast` on
/// `blast_host`, which sends it `messages` messages; returns the time from the blast's spawn to the drain's EXIT.
pub(crate) async fn blast_into_drain(
    client: &mut Client,
    drain_host: &str,
    blast_host: &str,
    messages: u64,
) -> Duration {
    let drain =
        client.spawn_monitored("app:drain", drain_host, vec![Value::Int(messages as i64)]).await.expect("spawn drain");
    let start = Instant::now();
    client
        .spawn("app:blast", blast_host, vec![drain.as_str().into(), Value::Int(messages as i64)])
        .await
        .expect("spawn blast");
    match client.next_event().await {
        Some(Event::Exit(e)) => assert_eq!(e.value, Value::Int(messages as i64)),
        other => panic!("unexpected {other:?}"),
    }
    start.elapsed()
}

/// `iters` monitored spawns of `app:compute_worker` on `host`, each waited for to its EXIT (42); the time they took.
pub(crate) async fn spawn_exit_loop(client: &mut Client, host: &str, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        client.spawn_monitored("app:compute_worker", host, vec![6.into(), 7.into()]).await.expect("spawn");
        match client.next_event().await {
            Some(Event::Exit(e)) => assert_eq!(e.value, Value::Int(42)),
            other => panic!("unexpected {other:?}"),
        }
    }
    start.elapsed()
}
