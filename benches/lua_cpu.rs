//! CPU-bound Lua under the workbench against the stock interpreter
//! (`cargo bench --bench lua_cpu`, a plain harness printing medians and ratios):
//! - `lua5.4` (Debian's package) running benches/lua/cpu.lua, when it is installed;
//! - the engine running the same file (`Session::start` to `Finished`);
//! - the engine with the debugger armed: a breakpoint in a function never called, so
//!   the VM takes line events all along but never stops.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use alc_workbench::engine::{
    BreakpointSpec, ScriptSpec, Session, SessionConfig, SessionEvent, Status,
};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/lua/cpu.lua");
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stock() -> Option<Duration> {
    let run = || {
        let started = Instant::now();
        let out = Command::new("lua5.4").arg(FILE).output().ok()?;
        out.status.success().then(|| started.elapsed())
    };
    run()?; // warm-up (and: is it there?)
    Some(median((0..RUNS).filter_map(|_| run()).collect()))
}

fn engine(armed: bool) -> Duration {
    let mut config = SessionConfig::new(ScriptSpec::File(Path::new(FILE).to_path_buf()));
    config.seed = Some(1);
    if armed {
        config.breakpoints = vec![BreakpointSpec {
            file: "lua/cpu.lua".into(),
            line: 3,
            condition: None,
        }];
    }
    let started = Instant::now();
    let (_session, mut events) = Session::start(config).unwrap();
    while let Some(ev) = events.blocking_recv() {
        match ev.event {
            SessionEvent::Finished(o) => {
                assert_eq!(o.status, Status::Completed, "{:?}", o.error);
                return started.elapsed();
            }
            SessionEvent::Debug(alc_workbench::engine::DebugEvent::Stopped { .. }) => {
                panic!("the armed breakpoint is in a function never called")
            }
            _ => {}
        }
    }
    panic!("no Finished event");
}

fn main() {
    engine(false); // warm-up
    let plain = median((0..RUNS).map(|_| engine(false)).collect());
    let armed = median((0..RUNS).map(|_| engine(true)).collect());
    println!("engine, {FILE}: {:.1} ms (median of {RUNS})", ms(plain));
    println!(
        "engine, debugger armed (breakpoint in a function never called): {:.1} ms = {:.2}x plain",
        ms(armed),
        armed.as_secs_f64() / plain.as_secs_f64()
    );
    match stock() {
        Some(lua) => println!(
            "lua5.4, same file: {:.1} ms (median of {RUNS}); engine / lua5.4 = {:.2}x",
            ms(lua),
            plain.as_secs_f64() / lua.as_secs_f64()
        ),
        None => {
            println!("lua5.4 not found (apt install lua5.4): no ratio to the stock interpreter")
        }
    }
}
