//! `kind = "command"`: the engine's [`CommandSource`] under a provider name, so a
//! script (`my-llm-cli`, a curl pipeline) can be chosen with `--provider` like any
//! model. The command contract is the command source's (query JSON on stdin, answer
//! on stdout); `timeout_secs` is its per-query limit and `max_concurrency` caps how
//! many run at once. Answers keep `source = command`; `model`, when configured, is
//! recorded. Spawns processes through `CommandSource`; no terminal.

use tokio::sync::Semaphore;

use super::{ProviderConfig, ProviderError};
use crate::answer::{AnswerFuture, AnswerSource, CommandSource};
use crate::engine::Query;

/// A command run per query, as a provider.
#[derive(Debug)]
pub struct CommandProvider {
    name: String,
    model: Option<String>,
    inner: CommandSource,
    permits: Semaphore,
}

impl CommandProvider {
    pub fn new(config: &ProviderConfig) -> Result<Self, ProviderError> {
        let command = config
            .command
            .as_deref()
            .ok_or_else(|| ProviderError::Invalid {
                name: config.name.clone(),
                message: "kind = \"command\" needs `command`".into(),
            })?;
        Ok(CommandProvider {
            name: config.name.clone(),
            model: config.model.clone(),
            inner: CommandSource::new(command, config.command_timeout)
                .with_max_answer_bytes(config.max_answer_bytes),
            permits: Semaphore::new(config.max_concurrency),
        })
    }

    pub fn command(&self) -> &CommandSource {
        &self.inner
    }
}

impl AnswerSource for CommandProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let query = query.clone();
        Box::pin(async move {
            // Never closed; see HttpProvider::run.
            let _permit = self.permits.acquire().await.map_err(|_| {
                crate::answer::SourceError::Failed(format!("provider {} was shut down", self.name))
            })?;
            let mut answer = self.inner.answer(&query).await?;
            if answer.model.is_none() {
                answer.model = self.model.clone();
            }
            answer.provider = Some(self.name.clone());
            Ok(answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::AnswerOrigin;

    #[tokio::test]
    async fn wraps_the_command_source() {
        let providers: toml::Table = toml::from_str(
            "[echo]\nkind = \"command\"\ncommand = \"read -r q; echo answered\"\nmodel = \"script-v1\"\n",
        )
        .unwrap();
        let source = super::super::build("echo", &providers).unwrap();
        assert_eq!(source.name(), "echo");
        let query = Query {
            max_tokens_capped: None,
            id: "q-1".into(),
            prompt: "p".into(),
            system: None,
            max_tokens: 5,
            grounded: false,
            underspecified: false,
            site: None,
            batch: None,
            fork: None,
        };
        let answer = source.answer(&query).await.unwrap();
        assert_eq!(answer.text, "answered");
        assert_eq!(answer.source, AnswerOrigin::Command);
        assert_eq!(answer.model.as_deref(), Some("script-v1"));
    }
}
