//! Size limits on what the workbench reads from outside: answers (from a command, a
//! coprocess or a provider) and whole input files (`--ctx @FILE`, answers files). One
//! place for the numbers and their messages; reads only the files it is asked to.

use std::io::Read;
use std::path::Path;

/// The largest answer accepted from a command, coprocess or provider unless
/// `--max-answer-mb` says otherwise.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * MIB;

/// The largest input file read whole: `--ctx @FILE` and answers files.
pub const MAX_INPUT_FILE_BYTES: usize = 64 * MIB;

const MIB: usize = 1024 * 1024;

/// `--max-answer-mb N` as bytes (saturating; the flag bounds N anyway).
pub fn mib_to_bytes(mib: u64) -> usize {
    usize::try_from(mib)
        .unwrap_or(usize::MAX)
        .saturating_mul(MIB)
}

/// A size as people read it: `16 MiB`, `0.5 MiB`, `900 bytes`.
pub fn format_size(bytes: usize) -> String {
    if bytes < MIB / 1024 {
        return format!("{bytes} bytes");
    }
    if bytes.is_multiple_of(MIB) {
        return format!("{} MiB", bytes / MIB);
    }
    let mib = bytes as f64 / MIB as f64;
    let text = format!("{mib:.3}");
    format!("{} MiB", text.trim_end_matches('0').trim_end_matches('.'))
}

/// The message of an answer over the limit: `{what} exceeded the maximum answer size
/// of 16 MiB (raise it with --max-answer-mb)`.
pub fn answer_too_large(what: &str, limit: usize) -> String {
    format!(
        "{what} exceeded the maximum answer size of {} (raise it with --max-answer-mb)",
        format_size(limit)
    )
}

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the file is larger than the limit of {} for {what}", format_size(*limit))]
    TooLarge { what: &'static str, limit: usize },
}

/// Reads a whole input file, refusing one over `limit` bytes. Reads at most `limit + 1`
/// bytes, so a device or a growing file (`/dev/zero`) cannot exhaust memory either.
/// `what` names the input in the message (`--ctx files`, `answers files`).
pub fn read_input_file(
    path: &Path,
    limit: usize,
    what: &'static str,
) -> Result<Vec<u8>, InputFileError> {
    let file = std::fs::File::open(path)?;
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > limit as u64 {
            return Err(InputFileError::TooLarge { what, limit });
        }
    }
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(InputFileError::TooLarge { what, limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_size(16 * MIB), "16 MiB");
        assert_eq!(format_size(MIB / 2), "0.5 MiB");
        assert_eq!(format_size(900), "900 bytes");
        assert_eq!(mib_to_bytes(64), MAX_INPUT_FILE_BYTES);
        assert_eq!(
            answer_too_large("answer command output", MIB),
            "answer command output exceeded the maximum answer size of 1 MiB \
             (raise it with --max-answer-mb)"
        );
    }

    #[test]
    fn input_files_over_the_limit_are_refused_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, vec![b' '; 2000]).unwrap();
        let err = read_input_file(&path, 1000, "answers files").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is larger than the limit of 1000 bytes for answers files"
        );
        assert_eq!(read_input_file(&path, 2000, "x").unwrap().len(), 2000);
        // A device with no size: stopped after limit + 1 bytes.
        let err = read_input_file(Path::new("/dev/zero"), 1000, "--ctx files").unwrap_err();
        assert!(matches!(err, InputFileError::TooLarge { .. }), "{err}");
    }
}
