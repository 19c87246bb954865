//! Unit tests of the trace model: clock format, filters, follow and scrolling.

use super::*;

fn log(t: u64, level: LogLevel, msg: &str) -> Stamped {
    Stamped {
        seq: t,
        t_ms: t,
        event: SessionEvent::Log {
            level,
            msg: msg.into(),
        },
        metrics: Default::default(),
    }
}

#[test]
fn clock_is_minutes_seconds_tenths() {
    assert_eq!(clock(0), "00:00.0");
    assert_eq!(clock(1_234), "00:01.2");
    assert_eq!(clock(61_999), "01:01.9");
}

#[test]
fn filter_keeps_an_index_and_new_entries_join_it() {
    let mut t = TracePane::new();
    t.record(&log(1, LogLevel::Info, "a"));
    t.record(&log(2, LogLevel::Error, "b"));
    t.set_filter(TraceFilter::Errors);
    assert_eq!(t.len(), 1);
    assert_eq!(t.get(0).unwrap().summary(), "b");
    t.record(&log(3, LogLevel::Error, "c"));
    t.record(&log(4, LogLevel::Info, "d"));
    assert_eq!(t.len(), 2);
    assert_eq!(t.total(), 4);
    t.cycle_filter();
    assert_eq!(t.filter(), TraceFilter::Other);
    assert_eq!(t.len(), 0);
    t.cycle_filter();
    assert_eq!(t.len(), 4);
}

#[test]
fn follows_the_tail_until_scrolled_up() {
    let mut t = TracePane::new();
    for i in 0..100 {
        t.record(&log(i, LogLevel::Info, "x"));
    }
    assert_eq!(t.window(10), (90, 100));
    assert_eq!(t.cursor(), Some(99));
    t.move_cursor(-15, 10);
    assert!(!t.follow);
    assert_eq!(t.cursor(), Some(84));
    assert_eq!(t.window(10), (84, 94));
    t.record(&log(100, LogLevel::Info, "new"));
    assert_eq!(t.window(10), (84, 94), "a scrolled view stays put");
    t.jump(false, 10);
    assert!(t.follow);
    assert_eq!(t.cursor(), Some(100));
    t.jump(true, 10);
    assert_eq!(t.window(10), (0, 10));
    t.move_cursor(1000, 10);
    assert!(t.follow);
}
