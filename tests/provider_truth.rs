//! Issue 11 against mock servers on 127.0.0.1: what a real model's answer record must
//! say (`finish`, normalised from each API's own field; `served_model`), the output
//! limit's field (`max_tokens_field`) and the 400 that asks for it, a budget-capped
//! limit sent as the cap, and cancellation seen where it matters: at the server, as a
//! connection closed before the body ended — from the provider itself, and through
//! the TUI's real loop (`ctrl-r` while a draft streams, then `f5`, then `c`).

#[path = "support/mock_http.rs"]
mod mock_http;
#[path = "support/wire_apis.rs"]
mod wire_apis;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::answer::{AnswerSource, TextSink};
use alc_workbench::app::{App, AppOptions, Mode, SessionPort, StartRequest, Starter};
use alc_workbench::engine::{Query, SessionEvent};
use alc_workbench::provider;
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{query, started, wait_for_screen, ScriptedSession, WatchedBackend};
use alc_workbench::theme::Theme;
use mock_http::{handler, Incoming, MockServer, Piece, Reply};
use wire_apis::{Api, ANTHROPIC, MODEL, OLLAMA, OPENAI};

/// What llama-server reports as the model: the file it loaded.
const SERVED: &str = "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

fn provider_at(api: &Api, server: &MockServer, more: &str) -> Arc<dyn AnswerSource> {
    let text = format!(
        "[p]\nkind = \"{}\"\nbase_url = \"{}\"\nmodel = \"{MODEL}\"\napi_key_env = \"\"\n\
         retry_base_ms = 1\n{more}\n",
        api.kind,
        (api.base)(&server.url)
    );
    let providers: toml::Table = toml::from_str(&text).expect("test config");
    let env: provider::EnvLookup = Arc::new(|_: &str| None);
    provider::load_with_env("p", &providers, env)
        .expect("provider builds")
        .source
}

fn ask(max_tokens: u32) -> Query {
    let mut q = query("q-1", "Why is the sky blue?", "s.lua", 1);
    q.max_tokens = max_tokens;
    q
}

fn sse(data: Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

fn sse_event(data: Value) -> Vec<u8> {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
    .into_bytes()
}

fn ndjson(data: Value) -> Vec<u8> {
    format!("{data}\n").into_bytes()
}

/// A cut-off answer ("Blue li") in `api`'s own words, whole or streamed, naming the
/// served model the way that API does.
fn cut_off_reply(api: &Api, stream: bool) -> Reply {
    let (whole, pieces): (Value, Vec<Vec<u8>>) = match api.kind {
        "openai" => (
            json!({"model": SERVED, "choices": [{"index": 0, "finish_reason": "length",
                   "message": {"role": "assistant", "content": "Blue li"}}],
                   "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
            vec![
                sse(
                    json!({"model": SERVED, "choices": [{"index": 0, "delta": {"content": "Blue"}}]}),
                ),
                sse(
                    json!({"model": SERVED, "choices": [{"index": 0, "delta": {"content": " li"}}]}),
                ),
                sse(
                    json!({"model": SERVED, "choices": [{"index": 0, "delta": {},
                           "finish_reason": "length"}]}),
                ),
                sse(json!({"model": SERVED, "choices": [],
                           "usage": {"prompt_tokens": 9, "completion_tokens": 4}})),
                b"data: [DONE]\n\n".to_vec(),
            ],
        ),
        "anthropic" => (
            json!({"type": "message", "model": SERVED, "stop_reason": "max_tokens",
                   "content": [{"type": "text", "text": "Blue li"}],
                   "usage": {"input_tokens": 9, "output_tokens": 4}}),
            vec![
                sse_event(json!({"type": "message_start", "message": {"model": SERVED,
                    "usage": {"input_tokens": 9, "output_tokens": 1}}})),
                sse_event(json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Blue li"}})),
                sse_event(
                    json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                    "usage": {"output_tokens": 4}}),
                ),
                sse_event(json!({"type": "message_stop"})),
            ],
        ),
        _ => (
            json!({"model": SERVED, "message": {"role": "assistant", "content": "Blue li"},
                   "done": true, "done_reason": "length", "prompt_eval_count": 9, "eval_count": 4}),
            vec![
                ndjson(json!({"model": SERVED, "message": {"content": "Blue li"}, "done": false})),
                ndjson(
                    json!({"model": SERVED, "message": {"content": ""}, "done": true,
                    "done_reason": "length", "prompt_eval_count": 9, "eval_count": 4}),
                ),
            ],
        ),
    };
    if stream {
        Reply::chunks(
            api.stream_type,
            pieces.into_iter().map(Piece::Data).collect(),
        )
    } else {
        Reply::json(200, whole)
    }
}

#[tokio::test]
async fn each_api_reports_a_cut_off_answer_and_the_model_that_served_it() {
    for api in [&OPENAI, &ANTHROPIC, &OLLAMA] {
        for stream in [false, true] {
            let server = MockServer::start(handler(move |_| {
                std::future::ready(cut_off_reply(api, stream))
            }))
            .await;
            let p = provider_at(api, &server, &format!("stream = {stream}"));
            let answer = p.answer(&ask(4)).await.expect("an answer");
            let what = format!("{} stream={stream}", api.kind);
            assert_eq!(answer.text, "Blue li", "{what}");
            assert_eq!(answer.finish.as_deref(), Some("length"), "{what}");
            assert!(answer.is_cut_off(), "{what}");
            assert_eq!(answer.served_model.as_deref(), Some(SERVED), "{what}");
            assert_eq!(
                answer.model.as_deref(),
                Some(MODEL),
                "{what}: the configured model stays"
            );
        }
    }
}

#[tokio::test]
async fn a_normal_end_is_stop_in_every_api() {
    for api in [&OPENAI, &ANTHROPIC, &OLLAMA] {
        let server = MockServer::start(handler(move |_| {
            std::future::ready(Reply::json(200, (api.whole)("Rayleigh.", 9, 3)))
        }))
        .await;
        let answer = provider_at(api, &server, "stream = false")
            .answer(&ask(64))
            .await
            .unwrap();
        // Anthropic says `end_turn`; all three mean the same: the model finished.
        assert_eq!(answer.finish.as_deref(), Some("stop"), "{}", api.kind);
        assert_eq!(answer.served_model.as_deref(), Some(MODEL), "{}", api.kind);
    }
}

#[tokio::test]
async fn the_output_limit_goes_in_the_configured_field() {
    let server = MockServer::start(handler(|_| {
        std::future::ready(Reply::json(200, (OPENAI.whole)("ok", 1, 1)))
    }))
    .await;
    let p = provider_at(
        &OPENAI,
        &server,
        "stream = false\nmax_tokens_field = \"max_completion_tokens\"",
    );
    p.answer(&ask(64)).await.unwrap();
    let body = server.requests()[0].json();
    assert_eq!(body["max_completion_tokens"], 64);
    assert!(body.get("max_tokens").is_none(), "{body}");
}

#[tokio::test]
async fn a_400_asking_for_max_completion_tokens_says_which_key_to_set() {
    let server = MockServer::start(handler(|_| {
        std::future::ready(Reply::json(
            400,
            json!({"error": {"message": "Unsupported parameter: 'max_tokens' is not supported \
                   with this model. Use 'max_completion_tokens' instead.",
                   "type": "invalid_request_error", "param": "max_tokens"}}),
        ))
    }))
    .await;
    let error = provider_at(&OPENAI, &server, "stream = false")
        .answer(&ask(64))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("HTTP 400"), "{error}");
    assert!(
        error.contains("max_tokens_field = \"max_completion_tokens\" in [providers.p]"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn a_budget_capped_query_sends_its_cap_to_every_api() {
    for api in [&OPENAI, &ANTHROPIC, &OLLAMA] {
        let server = MockServer::start(handler(move |_| {
            std::future::ready(Reply::json(200, (api.whole)("ok", 1, 1)))
        }))
        .await;
        let mut q = ask(1000);
        q.max_tokens_capped = Some(37);
        provider_at(api, &server, "stream = false")
            .answer(&q)
            .await
            .unwrap();
        let body = server.requests()[0].json();
        assert_eq!((api.max_tokens_of)(&body), Some(37), "{}: {body}", api.kind);
    }
}

/// A 60-line answer streamed in pieces, cut off at the output limit.
fn long_cut_off_stream() -> Reply {
    let mut pieces: Vec<Piece> = (1..=60)
        .map(|i| {
            let line = if i == 1 {
                "line 1 of the draft\n".to_string()
            } else {
                format!("line {i}\n")
            };
            Piece::Data(sse(
                json!({"choices": [{"index": 0, "delta": {"content": line}}]}),
            ))
        })
        .collect();
    pieces.push(Piece::Data(sse(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}),
    )));
    pieces.push(Piece::Data(b"data: [DONE]\n\n".to_vec()));
    Reply::chunks(OPENAI.stream_type, pieces)
}

/// A stream that never ends on its own: a piece of text every 10 ms.
fn endless_stream(api: &'static Api) -> Reply {
    Reply::endless(api.stream_type, move |n| {
        if n % 2 == 0 {
            Piece::Data((api.stream_delta)("tok "))
        } else {
            Piece::Pause(Duration::from_millis(10))
        }
    })
}

#[tokio::test]
async fn dropping_a_streaming_request_closes_it_at_the_server() {
    for api in [&OPENAI, &ANTHROPIC, &OLLAMA] {
        let server =
            MockServer::start(handler(move |_| std::future::ready(endless_stream(api)))).await;
        let p = provider_at(api, &server, "");
        let (first_tx, mut first) = unbounded_channel::<()>();
        let sink: TextSink = Arc::new(move |_: &str| {
            let _ = first_tx.send(());
        });
        let request = p.answer_streaming(&ask(64), sink);
        tokio::select! {
            _ = request => panic!("an endless stream ended"),
            _ = first.recv() => {}
        }
        // The request future is dropped here, mid-stream.
        tokio::time::timeout(Duration::from_secs(10), server.wait_gone(1))
            .await
            .unwrap_or_else(|_| panic!("{}: the server never saw the request go", api.kind));
    }
}

// The TUI loop, with a real HTTP provider.

type Keys = UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, code: KeyCode, mods: KeyModifiers) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(code, mods))));
}

fn key_stream(
    mut rx: UnboundedReceiver<io::Result<Event>>,
) -> impl futures_util::Stream<Item = io::Result<Event>> + Unpin {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn screen_with(frames: &mut UnboundedReceiver<String>, wanted: impl Fn(&str) -> bool) {
    if wait_for_screen(frames, wanted).await.is_none() {
        panic!("the loop ended before the screen showed what the test waits for");
    }
}

/// `ctrl-r` while a draft streams closes that request at the server; `f5` asks again
/// (request 2, a cut-off answer that becomes the draft, marked ✂); a third request
/// streaming when `c` cancels the session is closed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejecting_or_cancelling_in_the_tui_stops_the_request_at_the_server() {
    let server = MockServer::start(handler(|incoming: Incoming| {
        std::future::ready(match incoming.index {
            1 => long_cut_off_stream(),
            _ => endless_stream(&OPENAI),
        })
    }))
    .await;
    let source = provider_at(&OPENAI, &server, "");
    let (session, events) = ScriptedSession::start(vec![vec![
        started("s.lua", json!({})),
        SessionEvent::Paused {
            pause: 1,
            queries: vec![ask(64)],
        },
    ]]);
    let port = session.clone();
    let slot = Mutex::new(Some(events));
    let starter: Starter = Box::new(move |_req: &StartRequest| {
        let events = slot.lock().unwrap().take().ok_or("started twice")?;
        Ok((port.clone() as Arc<dyn SessionPort>, events))
    });
    let (backend, mut frames) = WatchedBackend::new(100, 30);
    let (keys, key_rx) = unbounded_channel();
    let server = Arc::new(server);
    let watched = server.clone();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("streaming from p…")).await;
        // Focus the Pending pane (the draft's keys live there), then reject.
        press(&keys, KeyCode::Tab, KeyModifiers::NONE);
        press(&keys, KeyCode::Char('r'), KeyModifiers::CONTROL);
        screen_with(&mut frames, |s| s.contains("stopped waiting for p")).await;
        tokio::time::timeout(Duration::from_secs(10), watched.wait_gone(1))
            .await
            .expect("ctrl-r closes the request at the server");
        press(&keys, KeyCode::F(5), KeyModifiers::NONE);
        // The finished draft opens at its start (the reviewer reads from the top),
        // though it streamed in following its tail; and it says it was cut off.
        screen_with(&mut frames, |s| {
            s.contains("✂ cut off") && s.contains("line 1 of the draft") && !s.contains("line 60")
        })
        .await;
        // Reject the draft, ask once more, and cancel the session mid-stream.
        press(&keys, KeyCode::Char('r'), KeyModifiers::CONTROL);
        press(&keys, KeyCode::F(5), KeyModifiers::NONE);
        screen_with(&mut frames, |s| s.contains("streaming from p…")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        press(&keys, KeyCode::Char('c'), KeyModifiers::NONE);
        tokio::time::timeout(Duration::from_secs(10), watched.wait_gone(2))
            .await
            .expect("c closes the request at the server");
        press(&keys, KeyCode::Char('q'), KeyModifiers::NONE);
    });
    let (mut app, initial) = App::new(AppOptions {
        script: Some("s.lua".into()),
        ctx: json!({}),
        autostart: true,
        mode: Mode::Review,
        answer_source: Some("p".into()),
        source_is_provider: true,
        ..Default::default()
    });
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: Some(source),
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    driver.await.unwrap();
    assert_eq!(server.requests().len(), 3, "ctrl-r, f5, f5: three requests");
    assert_eq!(
        server.gone(),
        2,
        "the two streams nobody waited for were closed"
    );
}
