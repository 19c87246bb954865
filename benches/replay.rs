//! Replay benchmarks (`cargo bench --bench replay`), a plain harness printing medians:
//! - headless replay of a 10,000-answer transcript: read the file into a `Recording`,
//!   fill the scratch state, start the session and drive it to its end with every
//!   answer replayed (the path `alc-workbench replay` takes, without process start);
//! - reading that transcript alone;
//! - rewind: replaying a 126-query run (21 rounds of a batch of 5 and one call, the
//!   shape of a package like `sc` or `panel` run 21 times) up to query 100, timed until
//!   query 101 is handed over to the person.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alc_workbench::answer::{AnswerSource, ReplaySource, ScriptSource};
use alc_workbench::engine::replay::{Recording, ReplayCursor, ScratchState};
use alc_workbench::engine::transcript::{TranscriptSink, TranscriptWriter};
use alc_workbench::engine::{InstantHook, ScriptSpec, Session, SessionConfig, Status};
use alc_workbench::headless::{drive, Verbosity};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Keeps the transcript in memory: the benchmark measures replay, not fsync.
struct Memory(Arc<Mutex<Vec<u8>>>);

impl TranscriptSink for Memory {
    fn write_at(&mut self, _offset: u64, bytes: &[u8], _cut: bool) -> io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn spec(code: &str) -> ScriptSpec {
    ScriptSpec::Inline {
        name: "bench.lua".into(),
        code: code.into(),
    }
}

/// Runs `code` answering everything "ok" and writes its transcript to `path`.
fn record(rt: &tokio::runtime::Runtime, code: &str, home: &Path, path: &Path) {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let writer = TranscriptWriter::with_sink(path, Box::new(Memory(bytes.clone())));
    let mut config = SessionConfig::new(spec(code));
    config.alc_home = home.to_path_buf();
    let (session, events) = Session::start_with_transcript(config, writer).unwrap();
    let source: Arc<dyn AnswerSource> =
        Arc::new(ScriptSource::parse("{\"match\": \"\", \"answer\": \"ok\"}", "bench").unwrap());
    let outcome = rt
        .block_on(drive(
            &session,
            events,
            source,
            Verbosity::Quiet,
            &mut io::sink(),
        ))
        .unwrap();
    assert_eq!(outcome.status, Status::Completed, "{:?}", outcome.error);
    std::fs::write(path, &*bytes.lock().unwrap()).unwrap();
}

/// Replays `path` running `code`; with `until`, stops timing when the first query
/// after it is handed over. Returns the elapsed time and the answers replayed.
fn replay(
    rt: &tokio::runtime::Runtime,
    code: &str,
    home: &Path,
    path: &Path,
    until: Option<usize>,
) -> (Duration, usize) {
    let started = Instant::now();
    let recording = Arc::new(Recording::load(path).unwrap());
    let scratch = ScratchState::create(recording.state.as_ref().unwrap(), home).unwrap();
    let mut config = recording.session_config(spec(code), scratch.path());
    let mut cursor = ReplayCursor::new(recording.clone());
    if let Some(n) = until {
        cursor = cursor.until(n);
    }
    let (handed_tx, mut handed) = tokio::sync::mpsc::unbounded_channel();
    let source = ReplaySource::new(cursor, None).with_stop_notice(Arc::new(move |_| {
        let _ = handed_tx.send(Instant::now());
    }));
    let cursor = source.shared_cursor();
    // As `alc-workbench replay` does: replayed answers are given on the VM thread.
    let source = Arc::new(source);
    config.instant_answers = Some(InstantHook(source.clone()));
    let (session, events) = Session::start(config).unwrap();
    let elapsed = rt.block_on(async {
        let mut log = io::sink();
        let driving = drive(&session, events, source, Verbosity::Quiet, &mut log);
        tokio::pin!(driving);
        tokio::select! {
            outcome = &mut driving => {
                assert_eq!(outcome.unwrap().status, Status::Completed);
                started.elapsed()
            }
            Some(at) = handed.recv() => {
                session.cancel();
                let _ = driving.await;
                at - started
            }
        }
    });
    let replayed = cursor.lock().unwrap().replayed();
    (elapsed, replayed)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();

    let big = "local n = 0\nfor i = 1, 10000 do n = n + #alc.llm('question ' .. i) end\nreturn n";
    let big_path = home.join("big.jsonl");
    record(&rt, big, home, &big_path);
    let runs: Vec<_> = (0..7)
        .map(|_| {
            let (d, replayed) = replay(&rt, big, home, &big_path, None);
            assert_eq!(replayed, 10_000);
            d
        })
        .collect();
    println!(
        "headless replay of a 10,000-answer transcript: {:.1} ms (median of 7)",
        ms(median(runs))
    );
    let loads: Vec<_> = (0..7)
        .map(|_| {
            let t = Instant::now();
            let r = Recording::load(&big_path).unwrap();
            assert_eq!(r.replies(), 10_000);
            t.elapsed()
        })
        .collect();
    println!(
        "reading that transcript ({} KiB): {:.1} ms (median of 7)",
        std::fs::metadata(&big_path).unwrap().len() / 1024,
        ms(median(loads))
    );

    let package = "local picks = {}\nfor round = 1, 21 do\n  local qs = {}\n  \
                   for i = 1, 5 do qs[i] = {prompt = 'round ' .. round .. ' sample ' .. i} end\n  \
                   local answers = alc.llm_batch(qs)\n  \
                   picks[round] = alc.llm('round ' .. round .. ': pick from ' .. table.concat(answers, '|'))\n\
                   end\nreturn picks";
    let pkg_path = home.join("package.jsonl");
    record(&rt, package, home, &pkg_path);
    let rewinds: Vec<_> = (0..21)
        .map(|_| {
            let (d, replayed) = replay(&rt, package, home, &pkg_path, Some(100));
            assert_eq!(replayed, 100);
            d
        })
        .collect();
    println!(
        "rewind to query 100 of a 126-query run: {:.1} ms to query 101 waiting (median of 21)",
        ms(median(rewinds))
    );
}
