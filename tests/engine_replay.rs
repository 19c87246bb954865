//! Record-then-replay on the real engine: every demo, every bundled package, batches,
//! forks (concurrent children), `alc.state` and `math.random` replay identically with
//! zero live answers, and a replay never touches the real state directory. The replay
//! source tells the person's clock of each query it hands to a person, and restarts
//! from the recording's first query.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alc_workbench::answer::{AnswerFuture, AnswerSource, ReplaySource, ScriptSource};
use alc_workbench::engine::replay::{Recording, ReplayCursor, ScratchState};
use alc_workbench::engine::state_store::StateStore;
use alc_workbench::engine::{
    Answer, AnswerOrigin, InstantHook, Outcome, Query, ScriptSpec, Session, SessionConfig, Status,
};
use alc_workbench::headless::{drive, Verbosity};
use serde_json::json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Answers every query with the same text (for packages, which have no answers file).
struct Constant(&'static str);

impl AnswerSource for Constant {
    fn name(&self) -> &str {
        "constant"
    }
    fn answer<'a>(&'a self, _query: &Query) -> AnswerFuture<'a> {
        let text = self.0;
        Box::pin(async move { Ok(Answer::new(text, AnswerOrigin::Script)) })
    }
}

/// Fails the test if it is ever asked: a replay must not need a live answer.
struct NoLive;

impl AnswerSource for NoLive {
    fn name(&self) -> &str {
        "no live source"
    }
    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        panic!("replay handed {} to the live source", query.id)
    }
}

fn run_session(config: SessionConfig, source: Arc<dyn AnswerSource>) -> Outcome {
    let (session, events) = Session::start(config).expect("session starts");
    rt().block_on(drive(
        &session,
        events,
        source,
        Verbosity::Quiet,
        &mut std::io::sink(),
    ))
    .expect("recorded")
}

/// Runs `config` with `source`, recording into `dir/run.jsonl`.
fn record(mut config: SessionConfig, source: Arc<dyn AnswerSource>, dir: &Path) -> PathBuf {
    let path = dir.join("run.jsonl");
    config.transcript = Some(path.clone());
    let outcome = run_session(config, source);
    assert_ne!(outcome.status, Status::Cancelled, "{:?}", outcome.error);
    path
}

/// Replays the transcript on the engine with no live source: every recorded answer
/// replayed, nothing left unasked, the same end. Twice: answered through the driver
/// (as the workbench does) and on the VM thread (the instant hook `replay` installs).
/// Returns the recording.
fn assert_replays_identically(path: &Path, script: ScriptSpec, alc_home: &Path) -> Recording {
    let recording = Arc::new(Recording::load(path).unwrap());
    assert!(recording.replies() > 0, "the run asked nothing");
    for instant in [false, true] {
        let state = recording.state.clone().expect("state snapshot recorded");
        let scratch = ScratchState::create(&state, alc_home).unwrap();
        let mut config = recording.session_config(script.clone(), scratch.path());
        let source = Arc::new(ReplaySource::new(
            ReplayCursor::new(recording.clone()),
            Some(Arc::new(NoLive)),
        ));
        if instant {
            config.instant_answers = Some(InstantHook(source.clone()));
        }
        let cursor = source.shared_cursor();
        let outcome = run_session(config, source);
        let cursor = cursor.lock().unwrap();
        let how = format!("{} (instant: {instant})", path.display());
        assert_eq!(cursor.stopped(), None, "{how}");
        assert!(cursor.unasked().is_empty(), "{how}");
        assert_eq!(cursor.replayed(), recording.replies(), "{how}");
        let end = recording.end.as_ref().expect("recorded end");
        assert_eq!(outcome.status, end.status, "{how}");
        assert_eq!(outcome.result, end.result, "{how}");
        assert_eq!(outcome.error.map(|e| e.message), end.error, "{how}");
    }
    Recording::clone(&recording)
}

fn file_config(rel: &str, home: &Path) -> SessionConfig {
    let mut config = SessionConfig::new(ScriptSpec::File(Path::new(ROOT).join(rel)));
    config.alc_home = home.to_path_buf();
    config
}

fn answers(rel: &str) -> Arc<dyn AnswerSource> {
    Arc::new(ScriptSource::from_path(Path::new(ROOT).join(rel)).unwrap())
}

#[test]
fn every_demo_replays_identically() {
    let mut demos: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("demo"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua"))
        .collect();
    demos.sort();
    assert!(demos.len() >= 4, "{demos:?}");
    for demo in demos {
        let dir = tempfile::tempdir().unwrap();
        let script = format!("demo/{demo}");
        let answers_file = script.replace(".lua", ".answers.jsonl");
        let path = record(
            file_config(&script, dir.path()),
            answers(&answers_file),
            dir.path(),
        );
        assert_replays_identically(
            &path,
            ScriptSpec::File(Path::new(ROOT).join(&script)),
            dir.path(),
        );
    }
}

#[test]
fn every_bundled_package_replays_identically() {
    let mut names: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("packages"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let dir = tempfile::tempdir().unwrap();
        let mut config = SessionConfig::new(ScriptSpec::Package(name.clone()));
        config.alc_home = dir.path().to_path_buf();
        config.ctx = json!({"task": "2+2?"});
        let path = record(config, Arc::new(Constant("4")), dir.path());
        let rec = assert_replays_identically(&path, ScriptSpec::Package(name.clone()), dir.path());
        assert_eq!(rec.package.as_deref(), Some(name.as_str()));
    }
}

#[test]
fn batches_and_concurrent_fork_children_replay_identically() {
    for (script, answers_file) in [
        (
            "tests/fixtures/batch.lua",
            "tests/fixtures/batch.answers.jsonl",
        ),
        (
            "tests/fixtures/fork_demo.lua",
            "tests/fixtures/fork_demo.answers.jsonl",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = record(
            file_config(script, dir.path()),
            answers(answers_file),
            dir.path(),
        );
        let rec = assert_replays_identically(
            &path,
            ScriptSpec::File(Path::new(ROOT).join(script)),
            dir.path(),
        );
        if script.contains("fork") {
            assert!(rec.queries.iter().all(|q| q.query.fork.is_some()));
        } else {
            assert!(rec.queries.iter().any(|q| q.query.batch.is_some()));
        }
    }
}

#[test]
fn math_random_replays_with_the_recorded_seed() {
    let dir = tempfile::tempdir().unwrap();
    let code = "local picks = {}\nfor i = 1, 3 do\n  local n = math.random(1, 1000000)\n  \
                picks[i] = alc.llm('pick ' .. n)\nend\nreturn {picks = picks, last = math.random()}";
    let spec = ScriptSpec::Inline {
        name: "random.lua".into(),
        code: code.into(),
    };
    let mut config = SessionConfig::new(spec.clone());
    config.alc_home = dir.path().to_path_buf();
    // No seed given: a fresh one is drawn, recorded, and must be what replay uses.
    let path = record(config, Arc::new(Constant("ok")), dir.path());
    assert_replays_identically(&path, spec, dir.path());
}

#[test]
fn state_strategy_replays_on_the_snapshot_and_leaves_the_real_state_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("state");
    StateStore::open(&real, "default")
        .unwrap()
        .set("visits", json!(41))
        .unwrap();
    let code = "local n = alc.state.incr('visits')\nalc.state.set('last', 'run ' .. n)\n\
                local a = alc.llm('visit number ' .. n)\nreturn {n = n, a = a}";
    let spec = ScriptSpec::Inline {
        name: "state.lua".into(),
        code: code.into(),
    };
    let mut config = SessionConfig::new(spec.clone());
    config.alc_home = dir.path().to_path_buf();
    let path = record(config, Arc::new(Constant("hello")), dir.path());
    let rec = Recording::load(&path).unwrap();
    let snapshot = rec.state.as_ref().unwrap();
    assert_eq!(snapshot.values.as_ref().unwrap()["visits"], json!(41));
    let file = real.join("default.json");
    let before = std::fs::read(&file).unwrap();
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(&real);
    // The real state says 42 now; the replay must see 41 (the snapshot) to ask
    // "visit number 42" again.
    let rec = assert_replays_identically(&path, spec, dir.path());
    assert_eq!(rec.end.unwrap().result.unwrap()["n"], json!(42));
    assert_eq!(std::fs::read(&file).unwrap(), before, "real state changed");
    assert_eq!(listing(&real), files_before);
}

#[test]
fn recorded_failures_replay_as_failures() {
    let dir = tempfile::tempdir().unwrap();
    let path = record(
        file_config("tests/fixtures/query_error.lua", dir.path()),
        answers("tests/fixtures/query_error.answers.jsonl"),
        dir.path(),
    );
    let rec = assert_replays_identically(
        &path,
        ScriptSpec::File(Path::new(ROOT).join("tests/fixtures/query_error.lua")),
        dir.path(),
    );
    assert!(rec.queries.iter().any(|q| matches!(
        q.reply,
        Some(alc_workbench::engine::replay::Reply::Failed(_))
    )));
}

/// A live source a person answers (as stdin is), counting its restarts.
#[derive(Default)]
struct Person {
    restarts: std::sync::atomic::AtomicUsize,
}

impl AnswerSource for Person {
    fn name(&self) -> &str {
        "person"
    }
    fn answered_by_person(&self) -> bool {
        true
    }
    fn answer<'a>(&'a self, _query: &Query) -> AnswerFuture<'a> {
        Box::pin(async move { Ok(Answer::new("typed", AnswerOrigin::Human)) })
    }
    fn restart(&self) -> alc_workbench::answer::RestartFuture<'_> {
        self.restarts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }
}

#[test]
fn a_person_hears_of_each_handover_and_a_restart_replays_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ScriptSpec::Inline {
        name: "three.lua".into(),
        code: "local out = {}\nfor i = 1, 3 do out[i] = alc.llm('step ' .. i) end\nreturn out"
            .into(),
    };
    let mut config = SessionConfig::new(spec.clone());
    config.alc_home = dir.path().to_path_buf();
    let path = record(config, Arc::new(Constant("recorded")), dir.path());
    let recording = Arc::new(Recording::load(&path).unwrap());
    let state = recording.state.clone().unwrap();
    let person = Arc::new(Person::default());
    let handed: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let heard = handed.clone();
    let source = Arc::new(
        ReplaySource::new(
            ReplayCursor::new(recording.clone()).until(2),
            Some(person.clone()),
        )
        .with_person_notice(Arc::new(move |id| heard.lock().unwrap().push(id.into()))),
    );
    for run in 1..=2 {
        let scratch = ScratchState::create(&state, dir.path()).unwrap();
        let outcome = run_session(
            recording.session_config(spec.clone(), scratch.path()),
            source.clone(),
        );
        assert_eq!(
            outcome.result,
            Some(json!(["recorded", "recorded", "typed"])),
            "run {run}"
        );
        assert_eq!(source.cursor().replayed(), 2, "run {run}");
        // Only the query the person answers starts their clock, once per run.
        assert_eq!(handed.lock().unwrap().len(), run);
        assert_eq!(handed.lock().unwrap()[run - 1], "q-3");
        rt().block_on(source.restart());
        assert_eq!(source.cursor().replayed(), 0, "restart rewinds the replay");
        assert_eq!(source.cursor().stopped(), None);
        assert_eq!(
            person.restarts.load(std::sync::atomic::Ordering::SeqCst),
            run
        );
    }
}
