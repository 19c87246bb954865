//! Streamed-body framing: Server-Sent Events (OpenAI, Anthropic) and newline-delimited
//! JSON (Ollama), decoded incrementally from byte chunks as they arrive.
//!
//! Chunks may split anywhere — inside a line, inside a multi-byte character — so both
//! decoders buffer bytes and only convert complete lines to text. A small decoder of
//! our own rather than a crate: the subset needed (`event:`, `data:`, comments, blank
//! line dispatch) is a few dozen lines. Pure: no I/O.

/// One decoded unit: an SSE event (`event` name and joined `data` lines), or one
/// NDJSON line (`event` is `None`, `data` the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

/// Splits bytes into lines (`\n`, `\r\n` or a lone `\r`), keeping the incomplete tail.
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting this one belongs to it.
    skip_lf: bool,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(String)) {
        for &byte in chunk {
            if self.skip_lf {
                self.skip_lf = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => on_line(self.take()),
                b'\r' => {
                    on_line(self.take());
                    self.skip_lf = true;
                }
                _ => self.pending.push(byte),
            }
        }
    }

    fn take(&mut self) -> String {
        let line = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        line
    }

    /// The unterminated last line, if any.
    fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }
}

/// Which framing a body uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Sse,
    Ndjson,
}

/// Decodes a streamed body into [`Frame`]s.
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    lines: LineSplitter,
    event: Option<String>,
    data: Vec<String>,
}

impl FrameDecoder {
    pub fn new(framing: Framing) -> Self {
        FrameDecoder {
            framing,
            lines: LineSplitter::default(),
            event: None,
            data: Vec::new(),
        }
    }

    /// Feeds a chunk; returns the frames it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut lines = Vec::new();
        self.lines.push(chunk, |line| lines.push(line));
        let mut frames = Vec::new();
        for line in lines {
            self.line(line, &mut frames);
        }
        frames
    }

    /// Bytes held while waiting for a line or an event to complete. The caller bounds
    /// it: a line that never ends would otherwise grow without limit.
    pub fn buffered_len(&self) -> usize {
        self.lines.pending.len() + self.data.iter().map(String::len).sum::<usize>()
    }

    /// The body ended: returns what was still buffered. An SSE event without its
    /// closing blank line is still delivered (some servers omit it at the very end);
    /// whether the answer was complete is the API parser's call, not the framing's.
    pub fn finish(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        if let Some(line) = self.lines.finish() {
            self.line(line, &mut frames);
        }
        if self.framing == Framing::Sse {
            self.dispatch(&mut frames);
        }
        frames
    }

    fn line(&mut self, line: String, frames: &mut Vec<Frame>) {
        match self.framing {
            Framing::Ndjson => {
                if !line.trim().is_empty() {
                    frames.push(Frame {
                        event: None,
                        data: line,
                    });
                }
            }
            Framing::Sse => {
                if line.is_empty() {
                    self.dispatch(frames);
                    return;
                }
                if line.starts_with(':') {
                    return; // a comment (keep-alive)
                }
                let (field, value) = match line.split_once(':') {
                    Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                    None => (line.as_str(), ""),
                };
                match field {
                    "data" => self.data.push(value.to_string()),
                    "event" => self.event = Some(value.to_string()),
                    _ => {} // id, retry: not used by these APIs
                }
            }
        }
    }

    fn dispatch(&mut self, frames: &mut Vec<Frame>) {
        let event = self.event.take();
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        frames.push(Frame { event, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sse(text: &str) -> Vec<Frame> {
        let mut d = FrameDecoder::new(Framing::Sse);
        let mut frames = d.push(text.as_bytes());
        frames.extend(d.finish());
        frames
    }

    fn frame(event: Option<&str>, data: &str) -> Frame {
        Frame {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn sse_events_data_and_comments() {
        let frames = sse(": ping\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x\ndata:y\n\ndata: [DONE]\n\n");
        assert_eq!(
            frames,
            vec![
                frame(Some("message_start"), "{\"a\":1}"),
                frame(None, "x\ny"),
                frame(None, "[DONE]"),
            ]
        );
    }

    #[test]
    fn sse_crlf_and_unterminated_last_event() {
        assert_eq!(
            sse("data: a\r\n\r\ndata: b"),
            vec![frame(None, "a"), frame(None, "b")]
        );
    }

    #[test]
    fn chunks_split_anywhere_even_inside_characters() {
        let text = "data: héllo wörld\r\n\r\ndata: 日本\n\n";
        let bytes = text.as_bytes();
        for size in 1..bytes.len() {
            let mut d = FrameDecoder::new(Framing::Sse);
            let mut frames = Vec::new();
            for chunk in bytes.chunks(size) {
                frames.extend(d.push(chunk));
            }
            frames.extend(d.finish());
            assert_eq!(
                frames,
                vec![frame(None, "héllo wörld"), frame(None, "日本")],
                "chunk size {size}"
            );
        }
    }

    #[test]
    fn buffered_bytes_are_counted_until_a_frame_completes() {
        let mut d = FrameDecoder::new(Framing::Sse);
        assert!(d.push(b"data: abc\ndata: de").is_empty());
        assert_eq!(d.buffered_len(), "abc".len() + "data: de".len());
        assert_eq!(d.push(b"\n\n"), vec![frame(None, "abc\nde")]);
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn ndjson_lines() {
        let mut d = FrameDecoder::new(Framing::Ndjson);
        let mut frames = d.push(b"{\"a\":1}\n\n{\"b\"");
        assert_eq!(frames, vec![frame(None, "{\"a\":1}")]);
        frames = d.push(b":2}\n{\"c\":3}");
        assert_eq!(frames, vec![frame(None, "{\"b\":2}")]);
        assert_eq!(d.finish(), vec![frame(None, "{\"c\":3}")]);
        assert_eq!(d.finish(), vec![]);
    }
}
