//! (stand-in)
use super::*;
pub struct CommandSource;
impl CommandSource { pub fn new(_c: &str, _t: std::time::Duration) -> Self { CommandSource } }
impl AnswerSource for CommandSource { fn name(&self) -> &str { "x" } fn answer<'a>(&'a self, _q: &Query) -> AnswerFuture<'a> { Box::pin(async { Err(SourceError::Failed("stub".into())) }) } }
