//! Pure text helpers behind Layer 0 primitives (match_enum, match_bool, chunk) and the
//! token estimate. No Lua here: the bindings in `lua/` convert and call these.
//!
//! Everything is a pure function of its arguments: no I/O, no globals, no panics on any
//! input (the text comes straight from a model or a person).

use strsim::jaro_winkler;

/// Words that make [`match_bool`] answer `true`.
const TRUE_WORDS: &[&str] = &[
    "approved", "yes", "ok", "accept", "pass", "confirm", "agree", "true", "lgtm",
];

/// Words that make [`match_bool`] answer `false`.
const FALSE_WORDS: &[&str] = &[
    "rejected", "no", "deny", "block", "fail", "refuse", "disagree", "false",
];

/// Splits text into words: maximal runs of alphanumeric characters (Unicode-aware), so
/// punctuation, whitespace and apostrophes all separate words.
fn words(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Picks the candidate a free-form answer names (ALC_API `alc.match_enum`).
///
/// Case-insensitive. Among candidates occurring as substrings of `text`, returns the
/// one whose **last** occurrence starts latest: models tend to reason first and state
/// the verdict at the end ("not A ... so B"). When two candidates' last occurrences
/// start at the same place (e.g. `"pass"` and `"passed"` in "...passed"), the longer
/// one wins, because it is the more specific match; remaining ties go to the earlier
/// candidate in the list. Empty candidates never match (they occur everywhere).
///
/// If no candidate occurs, falls back to the best Jaro-Winkler similarity between any
/// word of the text and any lowercased candidate; returned if `>= threshold` (ties go
/// to the earlier candidate). The candidate comes back exactly as given.
pub fn match_enum(text: &str, candidates: &[String], threshold: f64) -> Option<String> {
    let haystack = text.to_lowercase();
    let lowered: Vec<String> = candidates.iter().map(|c| c.to_lowercase()).collect();

    // (start of last occurrence, candidate length, index): larger start, then larger
    // length wins; `>` keeps the earlier index on a full tie.
    let mut best_substring: Option<(usize, usize, usize)> = None;
    for (index, needle) in lowered.iter().enumerate() {
        if needle.is_empty() {
            continue;
        }
        if let Some(start) = haystack.rfind(needle.as_str()) {
            let key = (start, needle.len(), index);
            let better = match best_substring {
                None => true,
                Some((s, l, _)) => (start, needle.len()) > (s, l),
            };
            if better {
                best_substring = Some(key);
            }
        }
    }
    if let Some((_, _, index)) = best_substring {
        return Some(candidates[index].clone());
    }

    let text_words: Vec<&str> = words(&haystack).collect();
    let mut best_fuzzy: Option<(f64, usize)> = None;
    for (index, needle) in lowered.iter().enumerate() {
        if needle.is_empty() {
            continue;
        }
        for word in &text_words {
            let score = jaro_winkler(word, needle);
            if best_fuzzy.is_none_or(|(best, _)| score > best) {
                best_fuzzy = Some((score, index));
            }
        }
    }
    match best_fuzzy {
        // A NaN threshold compares false, so it matches nothing rather than everything.
        Some((score, index)) if score >= threshold => Some(candidates[index].clone()),
        _ => None,
    }
}

/// Reads a yes/no verdict from free-form text (ALC_API `alc.match_bool`).
///
/// Looks at whole words only (so "I know" does not contain "no"), case-insensitively,
/// and returns the polarity of the keyword that occurs **last**: "no, wait, yes" is
/// `true`, "yes... actually no" is `false`. `None` when no keyword occurs.
pub fn match_bool(text: &str) -> Option<bool> {
    words(text).rev().find_map(|word| {
        let word = word.to_lowercase();
        if TRUE_WORDS.contains(&word.as_str()) {
            Some(true)
        } else if FALSE_WORDS.contains(&word.as_str()) {
            Some(false)
        } else {
            None
        }
    })
}

/// The unit [`chunk`] counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkMode {
    /// Lines (split like [`str::lines`]: `\n` or `\r\n`, no trailing empty line).
    Lines,
    /// Unicode scalar values; a character is never split.
    Chars,
}

/// Splits text into windows of `size` units advancing by `size - overlap` (at least 1).
///
/// Windows start at 0, step, 2·step, …; the first window that reaches the end of the
/// text is the last one (it may be shorter than `size`), so no trailing window lies
/// wholly inside its predecessor. Lines are rejoined with `"\n"` and carry no trailing
/// newline. Empty text or `size == 0` gives no windows.
pub fn chunk(text: &str, mode: ChunkMode, size: usize, overlap: usize) -> Vec<String> {
    if text.is_empty() || size == 0 {
        return Vec::new();
    }
    match mode {
        ChunkMode::Lines => {
            let lines: Vec<&str> = text.lines().collect();
            window_ranges(lines.len(), size, overlap)
                .map(|(start, end)| lines[start..end].join("\n"))
                .collect()
        }
        ChunkMode::Chars => {
            // Byte offsets of every char boundary, including the end, so windows are
            // sliced from the original string without re-encoding.
            let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            bounds.push(text.len());
            let char_count = bounds.len() - 1;
            window_ranges(char_count, size, overlap)
                .map(|(start, end)| text[bounds[start]..bounds[end]].to_string())
                .collect()
        }
    }
}

/// The `[start, end)` unit ranges of [`chunk`]'s windows over `total` units.
fn window_ranges(
    total: usize,
    size: usize,
    overlap: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let step = size.saturating_sub(overlap).max(1);
    let mut next_start = Some(0usize).filter(|_| total > 0 && size > 0);
    std::iter::from_fn(move || {
        let start = next_start?;
        let end = start.saturating_add(size).min(total);
        next_start = if end >= total {
            None
        } else {
            Some(start + step)
        };
        Some((start, end))
    })
}

/// Whether a character is CJK script (Han, Hiragana, Katakana, Hangul) or CJK
/// punctuation/fullwidth forms, which tokenizers spend about one token on each.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF        // Hangul Jamo
        | 0x2E80..=0x2FDF      // CJK radicals, Kangxi radicals
        | 0x3000..=0x303F      // CJK symbols and punctuation
        | 0x3040..=0x309F      // Hiragana
        | 0x30A0..=0x30FF      // Katakana
        | 0x3130..=0x318F      // Hangul compatibility Jamo
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xA960..=0xA97F      // Hangul Jamo extended A
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xD7B0..=0xD7FF      // Hangul Jamo extended B
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFF00..=0xFFEF      // Halfwidth and fullwidth forms
        | 0x20000..=0x3FFFF    // CJK extensions B and later
    )
}

/// Rough token count used when a provider reports no usage (budget and metrics).
///
/// Rule: `ceil(ascii_chars / 4) + cjk_chars + ceil(other_chars / 2)`. ASCII English
/// averages about four characters a token; CJK ideographs and kana are about one token
/// each; other non-ASCII text (accented Latin, Cyrillic, emoji, …) sits in between.
/// Empty text is 0.
pub fn estimate_tokens(text: &str) -> u64 {
    let (mut ascii, mut cjk, mut other) = (0u64, 0u64, 0u64);
    for c in text.chars() {
        if c.is_ascii() {
            ascii += 1;
        } else if is_cjk(c) {
            cjk += 1;
        } else {
            other += 1;
        }
    }
    ascii.div_ceil(4) + cjk + other.div_ceil(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn match_enum_prefers_latest_last_occurrence() {
        let c = strings(&["A", "B", "C"]);
        assert_eq!(match_enum("not a, I'd say b", &c, 0.7), Some("B".into()));
        // "a" occurs last (in "say" and alone at the end).
        assert_eq!(match_enum("b first, then a", &c, 0.7), Some("A".into()));
        let verdicts = strings(&["approve", "reject"]);
        assert_eq!(
            match_enum("I would reject... no, APPROVE it", &verdicts, 0.7),
            Some("approve".into())
        );
        assert_eq!(
            match_enum("approve? On reflection: reject.", &verdicts, 0.7),
            Some("reject".into())
        );
    }

    #[test]
    fn match_enum_returns_candidate_in_original_case() {
        let c = strings(&["Positive", "NEGATIVE"]);
        assert_eq!(
            match_enum("it's negative", &c, 0.7),
            Some("NEGATIVE".into())
        );
        assert_eq!(match_enum("POSITIVE!", &c, 0.7), Some("Positive".into()));
    }

    #[test]
    fn match_enum_tie_at_same_start_prefers_longer() {
        let c = strings(&["pass", "passed"]);
        assert_eq!(
            match_enum("the test passed", &c, 0.7),
            Some("passed".into())
        );
        let reversed = strings(&["passed", "pass"]);
        assert_eq!(
            match_enum("the test passed", &reversed, 0.7),
            Some("passed".into())
        );
        // Identical candidates: the first in the list wins.
        let dup = strings(&["Yes", "yes"]);
        assert_eq!(match_enum("yes", &dup, 0.7), Some("Yes".into()));
    }

    #[test]
    fn match_enum_falls_back_to_fuzzy_words() {
        let c = strings(&["positive", "negative", "neutral"]);
        // Misspelt: no substring match, but close by Jaro-Winkler.
        assert_eq!(
            match_enum("Sentiment: positve", &c, 0.7),
            Some("positive".into())
        );
        assert_eq!(
            match_enum("NEGATIV overall", &c, 0.7),
            Some("negative".into())
        );
    }

    #[test]
    fn match_enum_fuzzy_respects_threshold() {
        let c = strings(&["positive", "negative"]);
        assert_eq!(match_enum("zzz qqq", &c, 0.7), None);
        let score = jaro_winkler("positve", "positive");
        assert_eq!(match_enum("positve", &c, score), Some("positive".into()));
        assert_eq!(match_enum("positve", &c, score + 0.001), None);
        assert_eq!(match_enum("positve", &c, f64::NAN), None);
    }

    #[test]
    fn match_enum_edge_cases() {
        assert_eq!(match_enum("anything", &[], 0.0), None);
        assert_eq!(match_enum("", &strings(&["a"]), 0.7), None);
        // An empty candidate never matches, even at threshold 0.
        assert_eq!(match_enum("text", &strings(&[""]), 0.0), None);
        assert_eq!(
            match_enum("text", &strings(&["", "text"]), 0.7),
            Some("text".into())
        );
        // Multibyte text and candidates.
        let c = strings(&["はい", "いいえ"]);
        assert_eq!(
            match_enum("答えは「いいえ」です", &c, 0.7),
            Some("いいえ".into())
        );
        assert_eq!(
            match_enum("ÉTÉ", &strings(&["été"]), 0.7),
            Some("été".into())
        );
    }

    #[test]
    fn match_bool_uses_last_keyword() {
        assert_eq!(match_bool("no, wait, yes"), Some(true));
        assert_eq!(match_bool("yes... actually no"), Some(false));
        assert_eq!(match_bool("LGTM"), Some(true));
        assert_eq!(match_bool("I must refuse."), Some(false));
        assert_eq!(match_bool("Verdict: Approved"), Some(true));
        assert_eq!(match_bool("true? false."), Some(false));
        assert_eq!(match_bool("rejected, then approved"), Some(true));
    }

    #[test]
    fn match_bool_whole_words_only() {
        assert_eq!(match_bool("I know"), None);
        assert_eq!(match_bool("nobody passes the okapi"), None);
        assert_eq!(match_bool("yesterday"), None);
        assert_eq!(match_bool("I know, yes"), Some(true));
        assert_eq!(match_bool("ok-no"), Some(false));
        assert_eq!(match_bool("(yes)"), Some(true));
    }

    #[test]
    fn match_bool_none_without_keywords() {
        assert_eq!(match_bool(""), None);
        assert_eq!(match_bool("maybe later"), None);
        assert_eq!(match_bool("   \n\t"), None);
    }

    #[test]
    fn chunk_lines_without_overlap() {
        let text = "1\n2\n3\n4\n5";
        assert_eq!(
            chunk(text, ChunkMode::Lines, 2, 0),
            vec!["1\n2", "3\n4", "5"]
        );
        assert_eq!(chunk(text, ChunkMode::Lines, 5, 0), vec![text]);
        assert_eq!(chunk(text, ChunkMode::Lines, 50, 0), vec![text]);
    }

    #[test]
    fn chunk_lines_with_overlap() {
        let text = "a\nb\nc\nd\ne";
        assert_eq!(
            chunk(text, ChunkMode::Lines, 3, 1),
            vec!["a\nb\nc", "c\nd\ne"]
        );
        assert_eq!(
            chunk(text, ChunkMode::Lines, 2, 1),
            vec!["a\nb", "b\nc", "c\nd", "d\ne"]
        );
        // Overlap >= size: step 1.
        assert_eq!(
            chunk("a\nb\nc", ChunkMode::Lines, 2, 5),
            vec!["a\nb", "b\nc"]
        );
    }

    #[test]
    fn chunk_no_trailing_window_contained_in_previous() {
        // size 4, step 1 over 5 lines: windows [0,4) and [1,5); [2,5) would be contained.
        let text = "1\n2\n3\n4\n5";
        assert_eq!(
            chunk(text, ChunkMode::Lines, 4, 3),
            vec!["1\n2\n3\n4", "2\n3\n4\n5"]
        );
        // Every window but the last is full, and the last ends at the end.
        let windows = chunk("abcdefghij", ChunkMode::Chars, 4, 1);
        assert_eq!(windows, vec!["abcd", "defg", "ghij"]);
    }

    #[test]
    fn chunk_lines_trailing_newline_and_crlf() {
        assert_eq!(chunk("a\nb\n", ChunkMode::Lines, 1, 0), vec!["a", "b"]);
        assert_eq!(
            chunk("a\r\nb\r\nc", ChunkMode::Lines, 2, 0),
            vec!["a\nb", "c"]
        );
        assert_eq!(chunk("\n\n", ChunkMode::Lines, 5, 0), vec!["\n"]);
    }

    #[test]
    fn chunk_chars_never_splits_multibyte() {
        let text = "日本語のテキスト🎉é";
        let windows = chunk(text, ChunkMode::Chars, 3, 0);
        assert_eq!(windows, vec!["日本語", "のテキ", "スト🎉", "é"]);
        assert_eq!(windows.concat(), text);
        let overlapping = chunk("αβγδ", ChunkMode::Chars, 2, 1);
        assert_eq!(overlapping, vec!["αβ", "βγ", "γδ"]);
    }

    #[test]
    fn chunk_empty_and_zero_size() {
        assert!(chunk("", ChunkMode::Lines, 5, 0).is_empty());
        assert!(chunk("", ChunkMode::Chars, 5, 0).is_empty());
        assert!(chunk("abc", ChunkMode::Lines, 0, 0).is_empty());
        assert!(chunk("abc", ChunkMode::Chars, 0, 0).is_empty());
        assert_eq!(chunk("abc", ChunkMode::Chars, usize::MAX, 0), vec!["abc"]);
        assert_eq!(
            chunk("abc", ChunkMode::Chars, usize::MAX, usize::MAX),
            vec!["abc"]
        );
    }

    #[test]
    fn estimate_tokens_rule() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens(&"x".repeat(400)), 100);
        // CJK: one token per char.
        assert_eq!(estimate_tokens("日本語"), 3);
        assert_eq!(estimate_tokens("ひらがなカタカナ"), 8);
        assert_eq!(estimate_tokens("한국어"), 3);
        // Other non-ASCII: two chars a token.
        assert_eq!(estimate_tokens("éàü"), 2);
        // Mixed: ceil(4/4) + 2 + ceil(1/2).
        assert_eq!(estimate_tokens("abcd日本é"), 4);
        // CJK text costs more tokens per char than ASCII.
        assert!(estimate_tokens("漢字漢字") > estimate_tokens("abcd"));
    }
}
