//! The Budget pane shows the engine's figures and limits: a gauge at its limit takes
//! the `gauge_over` style (spent: no further call may start), one past it also says
//! "over budget", and a limit written as a float (`10.0`) is a limit. Drawn on a
//! `TestBackend`: characters as insta snapshots, styles checked cell by cell.

use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use serde_json::{json, Value};

use alc_workbench::app::{update, App, AppOptions, Msg};
use alc_workbench::engine::{Metrics, Stamped};
use alc_workbench::testkit::started;
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

fn app(ctx: Value) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("s.lua".into()),
        ctx: ctx.clone(),
        autostart: true,
        size: (100, 30),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::Session(Stamped {
            seq: 1,
            t_ms: 0,
            event: started("s.lua", ctx),
            metrics: Metrics::default(),
        }),
    );
    app
}

/// The engine's figures at a tick.
fn engine_says(app: &mut App, metrics: Metrics) {
    update(
        app,
        Msg::Tick {
            now_ms: metrics.wall_ms,
            metrics: Some(metrics),
        },
    );
}

fn draw_buffer(app: &App, theme: &Theme) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| draw(f, &View::new(app, theme))).unwrap();
    terminal.backend().buffer().clone()
}

/// The Budget pane's rows (the right-hand column, from its title down).
fn budget_rows(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    let rows: Vec<String> = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect();
    let top = rows.iter().position(|r| r.contains("Budget")).unwrap();
    let byte = rows[top].find("Budget").unwrap();
    let col = rows[top][..byte].chars().count().saturating_sub(2);
    rows[top..top + 7]
        .iter()
        .map(|r| {
            r.chars()
                .skip(col)
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Foreground colours of the bar cells (█) on the row that starts with `label`.
fn bar_styles(buffer: &Buffer, label: &str) -> Vec<Option<ratatui::style::Color>> {
    let area = buffer.area;
    for y in 0..area.height {
        let row: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        if let Some(at) = row.find(&format!("│{label} ")) {
            let start = row[..at].chars().count();
            return (start as u16..area.width)
                .filter(|&x| buffer[(x, y)].symbol() == "█")
                .map(|x| Some(buffer[(x, y)].fg))
                .collect();
        }
    }
    panic!("no {label} row");
}

fn metrics(llm_calls: u64) -> Metrics {
    Metrics {
        llm_calls,
        prompt_tokens: 120,
        completion_tokens: 30,
        estimated_calls: llm_calls,
        wall_ms: 4_000,
        human_ms: 1_000,
        elapsed_ms: 3_000,
        ..Metrics::default()
    }
}

#[test]
fn a_gauge_at_its_limit_and_past_it_takes_the_over_budget_style() {
    let theme = Theme::built_in("dark").unwrap();
    let over = theme.slots.gauge_over.fg;
    let normal = theme.slots.gauge_calls.fg;
    assert_ne!(over, normal);
    let mut app = app(json!({"budget": {"max_llm_calls": 2, "max_tokens": 1000}}));

    engine_says(&mut app, metrics(1));
    let buffer = draw_buffer(&app, &theme);
    assert!(bar_styles(&buffer, "calls").iter().all(|c| *c == normal));

    engine_says(&mut app, metrics(2));
    let buffer = draw_buffer(&app, &theme);
    let at_limit = bar_styles(&buffer, "calls");
    assert!(
        !at_limit.is_empty() && at_limit.iter().all(|c| *c == over),
        "{at_limit:?}"
    );
    assert_snapshot!("budget_at_its_limit", budget_rows(&buffer).join("\n"));

    let mut later = metrics(5);
    later.wall_ms = 5_000;
    engine_says(&mut app, later);
    let buffer = draw_buffer(&app, &theme);
    assert!(bar_styles(&buffer, "calls").iter().all(|c| *c == over));
    let rows = budget_rows(&buffer).join("\n");
    assert!(rows.contains("5/2  over budget"), "{rows}");
    assert_snapshot!("budget_over_after_a_batch", rows);
}

#[test]
fn a_float_limit_is_shown_as_a_limit_and_strict_is_shown() {
    let theme = Theme::built_in("dark").unwrap();
    let mut app = app(json!({"budget": {"max_llm_calls": 10.0, "strict": true}}));
    engine_says(&mut app, metrics(3));
    let rows = budget_rows(&draw_buffer(&app, &theme)).join("\n");
    assert!(rows.contains("3/10 strict"), "{rows}");
    assert_snapshot!("budget_float_limit_strict", rows);
}

#[test]
fn the_persons_time_is_the_engines_figure() {
    let theme = Theme::built_in("dark").unwrap();
    let mut app = app(json!({"budget": {"max_elapsed_ms": 60000}}));
    engine_says(
        &mut app,
        Metrics {
            wall_ms: 25_000,
            human_ms: 20_000,
            elapsed_ms: 5_000,
            ..Metrics::default()
        },
    );
    let rows = budget_rows(&draw_buffer(&app, &theme)).join("\n");
    assert!(rows.contains("5s/1m00s  you 20s"), "{rows}");
}
