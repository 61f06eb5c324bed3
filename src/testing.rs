//! `wippy test`: runs every `function.lua` entry with `meta.type: test`.
//!
//! A test passes by returning `true`; it fails by returning anything else (`false`, nil), by returning
//! `nil, err`, by raising, or by running past the timeout. Tests run concurrently, each under its own timeout, and
//! the results come back sorted by entry ID.

use std::time::{Duration, Instant};

use crate::host::Host;
use crate::id::EntryId;
use crate::registry::kinds::LuaRole;
use crate::registry::EntryKind;
use crate::value::Value;

/// The default time a test may take.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How one test went.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The test entry.
    pub id: EntryId,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl Host {
    /// The test entries (`function.lua` with `meta.type: test`) whose ID contains `filter` (all without one),
    /// sorted.
    pub fn tests(&self, filter: Option<&str>) -> Vec<EntryId> {
        tests(self, filter)
    }

    /// Runs the tests `ids` concurrently, each within `timeout`; the outcomes come back in the order of `ids`.
    pub async fn run_tests(&self, ids: &[EntryId], timeout: Duration) -> Vec<TestOutcome> {
        run(self, ids, timeout).await
    }
}

fn tests(host: &Host, filter: Option<&str>) -> Vec<EntryId> {
    let mut ids: Vec<EntryId> = host
        .registry()
        .entries
        .values()
        .filter(|e| matches!(&e.kind, EntryKind::Lua(l) if l.role == LuaRole::Function))
        .filter(|e| e.meta.get("type").and_then(Value::as_str) == Some("test"))
        .filter(|e| filter.is_none_or(|f| e.id.as_str().contains(f)))
        .map(|e| e.id.clone())
        .collect();
    ids.sort();
    ids
}

async fn run(host: &Host, ids: &[EntryId], timeout: Duration) -> Vec<TestOutcome> {
    let mut tasks = Vec::with_capacity(ids.len());
    for id in ids {
        let (host, id) = (host.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let result = tokio::time::timeout(timeout, host.call(id.as_str(), vec![])).await;
            let (passed, detail) = match result {
                Err(_) => (false, format!("did not finish within {} ms", timeout.as_millis())),
                Ok(Ok(Value::Bool(true))) => (true, String::new()),
                Ok(Ok(other)) => (false, format!("returned {other}, not true")),
                Ok(Err(e)) => (false, e.to_string()),
            };
            TestOutcome { id, passed, detail, elapsed: start.elapsed() }
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for (task, id) in tasks.into_iter().zip(ids) {
        out.push(task.await.unwrap_or_else(|e| TestOutcome {
            id: id.clone(),
            passed: false,
            detail: format!("the test task failed: {e}"),
            elapsed: Duration::ZERO,
        }));
    }
    out
}
