//! [`FallbackSource`]: ask a provider first and, when it fails (retries exhausted, a
//! bad key, a malformed reply), hand the query to a second source — in headless `run`
//! with `--on-provider-error ask`, the person at the terminal. Without a fallback the
//! failure stands, so the strategy's `alc.llm` raises (and `alc.llm_safe` can catch
//! it). Nothing is ever dropped silently: every failure either reaches the fallback
//! or is returned. Touches nothing itself; the sources it wraps do the I/O.

use std::sync::Arc;

use crate::answer::{AnswerFuture, AnswerSource, SourceError, TextSink};
use crate::engine::Query;

/// Called when a query is handed over, with the primary's error (for a notice).
pub type FallbackNotice = Arc<dyn Fn(&Query, &SourceError) + Send + Sync>;

/// The primary source, then (on failure) the fallback, if any.
pub struct FallbackSource {
    primary: Arc<dyn AnswerSource>,
    fallback: Option<Arc<dyn AnswerSource>>,
    notice: Option<FallbackNotice>,
}

impl std::fmt::Debug for FallbackSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackSource")
            .field("primary", &self.primary.name())
            .field(
                "fallback",
                &self.fallback.as_ref().map(|s| s.name().to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl FallbackSource {
    pub fn new(primary: Arc<dyn AnswerSource>, fallback: Option<Arc<dyn AnswerSource>>) -> Self {
        FallbackSource {
            primary,
            fallback,
            notice: None,
        }
    }

    /// Calls `notice` before each hand-over (to say why the person is asked).
    pub fn with_notice(mut self, notice: FallbackNotice) -> Self {
        self.notice = Some(notice);
        self
    }

    fn run<'a>(&'a self, query: &Query, first: AnswerFuture<'a>) -> AnswerFuture<'a> {
        let query = query.clone();
        Box::pin(async move {
            let error = match first.await {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            let Some(fallback) = &self.fallback else {
                return Err(error);
            };
            if let Some(notice) = &self.notice {
                notice(&query, &error);
            }
            fallback.answer(&query).await
        })
    }
}

impl AnswerSource for FallbackSource {
    fn name(&self) -> &str {
        self.primary.name()
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        self.run(query, self.primary.answer(query))
    }

    fn answer_streaming<'a>(&'a self, query: &Query, on_text: TextSink) -> AnswerFuture<'a> {
        self.run(query, self.primary.answer_streaming(query, on_text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Answer, AnswerOrigin};
    use std::sync::Mutex;

    struct Fixed(Result<&'static str, &'static str>);

    impl AnswerSource for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn answer<'a>(&'a self, _query: &Query) -> AnswerFuture<'a> {
            let result = self
                .0
                .map(|t| Answer::new(t, AnswerOrigin::Human))
                .map_err(|e| SourceError::Failed(e.into()));
            Box::pin(async move { result })
        }
    }

    fn query() -> Query {
        Query {
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
        }
    }

    #[tokio::test]
    async fn failure_goes_to_the_fallback_or_stands() {
        let failing: Arc<dyn AnswerSource> = Arc::new(Fixed(Err("boom")));
        let person: Arc<dyn AnswerSource> = Arc::new(Fixed(Ok("mine")));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in = seen.clone();
        let source = FallbackSource::new(failing.clone(), Some(person)).with_notice(Arc::new(
            move |q: &Query, e: &SourceError| seen_in.lock().unwrap().push(format!("{} {e}", q.id)),
        ));
        assert_eq!(source.answer(&query()).await.unwrap().text, "mine");
        assert_eq!(*seen.lock().unwrap(), ["q-1 boom"]);
        let alone = FallbackSource::new(failing, None);
        assert_eq!(
            alone.answer(&query()).await,
            Err(SourceError::Failed("boom".into()))
        );
        let fine = FallbackSource::new(Arc::new(Fixed(Ok("model"))), None);
        assert_eq!(fine.answer(&query()).await.unwrap().text, "model");
    }
}
