//! Runs the real TUI against a scripted fake session (no Lua), for trying the screen
//! by hand and for `tests/pty.rs`: `ALC_TUI_BIN=target/debug/examples/tui_fake`.
//! With an argument it starts that "script" at once; without, it opens the picker.

use std::sync::Arc;

use serde_json::json;

use alc_workbench::app::{SessionPort, StartRequest, Starter};
use alc_workbench::engine::{LogLevel, Metrics, SessionEvent};
use alc_workbench::runtime::{run_tui, TuiOptions};
use alc_workbench::testkit::{batch, completed, query, started, ScriptedSession};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let starter: Starter = Box::new(|req: &StartRequest| {
        let file = req.script.clone();
        let steps = vec![
            vec![
                started(&file, req.ctx.clone()),
                SessionEvent::Log {
                    level: LogLevel::Info,
                    msg: "starting".into(),
                },
                SessionEvent::Paused {
                    pause: 1,
                    queries: vec![query("q-1", "Why is the sky blue?", &file, 2)],
                },
            ],
            vec![SessionEvent::Paused {
                pause: 2,
                queries: batch(vec![
                    query("q-2", "Vote A or B?", &file, 3),
                    query("q-3", "Vote again", &file, 3),
                ]),
            }],
            vec![completed(json!({"done": true}), Metrics::default())],
        ];
        let (session, events) = ScriptedSession::start(steps);
        Ok((session as Arc<dyn SessionPort>, events))
    });
    let script = std::env::args().nth(1);
    run_tui(
        TuiOptions {
            script,
            ctx: json!({"budget": {"max_llm_calls": 5}}),
            choices: vec!["fake.lua".into(), "other.lua".into()],
            ..Default::default()
        },
        starter,
    )
    .await?;
    Ok(())
}
