//! Engine benchmarks (`cargo bench --bench engine`), a plain harness printing medians:
//! - round trip: one session making 10,000 `alc.llm` calls, each answered at once by
//!   the answers-file source through the headless driver (the path `run` uses);
//! - session start: `Session::start` of a trivial chunk until its `Finished` event
//!   (VM thread, stdlib, Layer 0, prelude, resolvers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use alc_workbench::answer::script::ScriptSource;
use alc_workbench::engine::{ScriptSpec, Session, SessionConfig, SessionEvent, Status};
use alc_workbench::headless::{drive, Verbosity};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn inline(code: &str) -> SessionConfig {
    let mut c = SessionConfig::new(ScriptSpec::Inline {
        name: "bench.lua".into(),
        code: code.into(),
    });
    c.seed = Some(1);
    c
}

fn round_trip(rt: &tokio::runtime::Runtime, calls: usize) -> Duration {
    let source =
        Arc::new(ScriptSource::parse("{\"match\": \"\", \"answer\": \"ok\"}", "bench").unwrap());
    let code = format!(
        "local n = 0\nfor i = 1, {calls} do n = n + #alc.llm('question ' .. i) end\nreturn n"
    );
    let started = Instant::now();
    let (session, events) = Session::start(inline(&code)).unwrap();
    let outcome = rt
        .block_on(drive(
            &session,
            events,
            source,
            Verbosity::Quiet,
            &mut std::io::sink(),
        ))
        .expect("no transcript, nothing to refuse");
    assert_eq!(outcome.status, Status::Completed, "{:?}", outcome.error);
    assert_eq!(outcome.metrics.llm_calls, calls as u64);
    started.elapsed()
}

fn session_start() -> Duration {
    let started = Instant::now();
    let (_session, mut events) = Session::start(inline("return 1")).unwrap();
    while let Some(ev) = events.blocking_recv() {
        if let SessionEvent::Finished(o) = ev.event {
            assert_eq!(o.status, Status::Completed);
            break;
        }
    }
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    const CALLS: usize = 10_000;
    round_trip(&rt, 100); // warm-up
    let runs: Vec<_> = (0..7).map(|_| round_trip(&rt, CALLS)).collect();
    let m = median(runs);
    println!(
        "engine round trip: {CALLS} alc.llm calls in {:.1} ms (median of 7) = {:.1} µs per call",
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() * 1e6 / CALLS as f64
    );
    session_start();
    let starts: Vec<_> = (0..50).map(|_| session_start()).collect();
    println!(
        "session start to finish of `return 1`: {:.2} ms (median of 50)",
        median(starts).as_secs_f64() * 1e3
    );
}
