//! Flags both front ends share, defined once: who answers the queries (`--answers`,
//! `--answer-cmd`, `--answer-proc`, `--provider`, `--answer-timeout`,
//! `--max-answer-mb`) and how the engine runs a session (`--seed`, `--memory-mb`,
//! `--allow-exec`).
//! (`--budget-strict` is with the other budget flags in `CtxArgs`: it sets
//! `ctx.budget.strict`.) [`SourceArgs::answerer`] is the one
//! place an answer source is built from the flags; `run` and the TUI only differ in
//! what they wrap around a provider and who answers when no flag names a source.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{InputError, SandboxSettings};
use crate::answer::command::CommandSource;
use crate::answer::coprocess::CoprocessSource;
use crate::answer::script::ScriptSource;
use crate::answer::AnswerSource;
use crate::config::Config;
use crate::engine::SessionConfig;
use crate::limits::mib_to_bytes;
use crate::provider::Provider;

/// Who answers queries that are not typed by hand.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Answer queries from an answers file (JSON Lines).
    #[arg(long, value_name = "FILE", group = "source")]
    pub answers: Option<PathBuf>,
    /// Answer each query by running CMD (query JSON on stdin, answer on stdout).
    #[arg(long, value_name = "CMD", group = "source")]
    pub answer_cmd: Option<String>,
    /// Answer queries through one long-lived process speaking JSON lines.
    #[arg(long, value_name = "CMD", group = "source")]
    pub answer_proc: Option<String>,
    /// Answer with the provider NAME ([providers.NAME] in the config).
    #[arg(long, value_name = "NAME", group = "source")]
    pub provider: Option<String>,
    /// Seconds an answer command or process may take per query.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub answer_timeout: u64,
    /// Largest answer accepted from --answer-cmd, --answer-proc or a provider, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_answer_mb: u64,
}

/// What the source flags ask for.
pub enum Answerer {
    /// An answers file, a command or a coprocess: answers as scripted.
    Scripted(Arc<dyn AnswerSource>),
    /// A configured model provider (its source and prices).
    Provider(Box<Provider>),
    /// No source flag: the person answers (on stdin in `run`, in the editor in the TUI).
    Person,
}

impl SourceArgs {
    /// Builds the source the flags name. Must be called inside a Tokio runtime
    /// (`--answer-proc` starts its process at once, so a bad command is an input error
    /// before any strategy runs). `config` is the loaded config file, where providers
    /// are defined.
    pub fn answerer(&self, config: &Config) -> Result<Answerer, InputError> {
        let timeout = Duration::from_secs(self.answer_timeout.max(1));
        let max_answer = mib_to_bytes(self.max_answer_mb);
        if let Some(path) = &self.answers {
            let s = ScriptSource::from_path(path).map_err(|e| InputError(e.to_string()))?;
            return Ok(Answerer::Scripted(Arc::new(s)));
        }
        if let Some(cmd) = &self.answer_cmd {
            let s = CommandSource::new(cmd, timeout).with_max_answer_bytes(max_answer);
            return Ok(Answerer::Scripted(Arc::new(s)));
        }
        if let Some(cmd) = &self.answer_proc {
            let s = CoprocessSource::spawn(cmd, timeout)
                .map_err(|e| InputError(format!("--answer-proc: {e}")))?
                .with_max_answer_bytes(max_answer);
            return Ok(Answerer::Scripted(Arc::new(s)));
        }
        if let Some(name) = &self.provider {
            let provider = crate::provider::from_loaded_config(config, name, max_answer)
                .map_err(|e| InputError(e.to_string()))?;
            return Ok(Answerer::Provider(Box::new(provider)));
        }
        Ok(Answerer::Person)
    }
}

/// How the engine runs each session.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Seed for math.random (recorded in the transcript).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Lua memory limit per VM, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory_mb: usize,
    /// Let the strategy run processes (`io.popen`, `os.execute`); refused otherwise.
    /// Config: `allow_exec = true`.
    #[arg(long)]
    pub allow_exec: bool,
}

impl EngineArgs {
    /// Puts the seed and the memory limit into a session's config.
    pub fn apply(&self, config: &mut SessionConfig) {
        config.seed = self.seed;
        config.memory_limit = self.memory_mb.max(1) * 1024 * 1024;
    }

    /// The sandbox's settings: `--allow-exec` or the config's `allow_exec`, and the
    /// secret names the config's providers read their keys from.
    pub(crate) fn sandbox(&self, file_config: &Config) -> SandboxSettings {
        SandboxSettings::from_config(file_config, self.allow_exec)
    }
}
