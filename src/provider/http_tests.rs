//! Unit tests of the HTTP plumbing: backoff, Retry-After, API error messages, key scrubbing.

use super::*;

#[test]
fn backoff_doubles_with_jitter_in_the_upper_half() {
    let base = Duration::from_millis(100);
    for attempt in 0..4 {
        let step = 100u64 << attempt;
        for _ in 0..50 {
            let d = backoff(base, attempt).as_millis() as u64;
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d}");
        }
    }
    assert!(backoff(base, 40) <= MAX_BACKOFF);
    assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
}

#[test]
fn retry_after_seconds_only() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
    h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
    assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
    h.insert(RETRY_AFTER, HeaderValue::from_static("99999"));
    assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
}

#[test]
fn api_error_messages_of_each_api() {
    let openai =
        br#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error"}}"#;
    assert_eq!(api_error_message(openai), "The model `x` does not exist");
    let anthropic = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}"#;
    assert_eq!(api_error_message(anthropic), "max_tokens: required");
    let ollama = br#"{"error":"model \"qwen\" not found, try pulling it first"}"#;
    assert_eq!(
        api_error_message(ollama),
        "model \"qwen\" not found, try pulling it first"
    );
    assert_eq!(api_error_message(b"  Bad Gateway \n"), "Bad Gateway");
    assert_eq!(api_error_message(b""), "");
}

#[test]
fn keys_are_scrubbed_and_never_debug_printed() {
    let key = ApiKey("sk-secret-123".into());
    assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    assert_eq!(
        scrub("bad key sk-secret-123 here".into(), Some(&key)),
        "bad key [redacted] here"
    );
    assert_eq!(scrub("fine".into(), None), "fine");
    assert!(key.header("Bearer ").unwrap().is_sensitive());
}

#[test]
fn short_keys_do_not_turn_messages_into_redacted_soup() {
    let one = ApiKey("e".into());
    let message = "provider p: request rejected by http://example.test (HTTP 400)";
    assert_eq!(scrub(message.into(), Some(&one)), message);
    let seven = ApiKey("abcdefg".into());
    assert_eq!(scrub("x abcdefg y".into(), Some(&seven)), "x abcdefg y");
    let eight = ApiKey("abcdefgh".into());
    assert_eq!(scrub("x abcdefgh y".into(), Some(&eight)), "x [redacted] y");
}
