//! [`ThreadTitles`]: a new thread titled by a small model call made beside the answer.

use std::sync::Arc;
use std::time::Duration;

use crate::agents::model::{Model, ModelEvent, ModelSettings};
use crate::agents::{Agent, RunEvent, Runner};
use crate::server::ThreadHandle;

use super::response_stream::token_usage;

/// The instructions a title model gets by default.
pub const DEFAULT_TITLE_INSTRUCTIONS: &str = "Write a title for a conversation that starts with the user's message below: at most six words, in the language of the message, no quotes, no final period. Answer with the title only.";

/// How long the end of the first answer waits for its title by default.
pub const DEFAULT_TITLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest title kept (characters); a longer one is cut at a word.
const MAX_TITLE_CHARS: usize = 60;

/// Titles a thread from its first message with a small model call of its own (its own
/// model and instructions), for [`AgentServer::titles`](super::AgentServer::titles).
///
/// The call starts with the answer and runs beside it, so the answer is not delayed;
/// the title is saved and sent as `thread.updated` as soon as it arrives (or at the end
/// of the answer, which waits for it at most [`timeout`](Self::timeout)). When the call
/// fails, answers nothing usable or takes too long, the thread is titled with the
/// message's first characters instead ([`fallback_title`]). Its tokens are counted in the
/// thread's usage like the answer's.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::chatkit::ThreadTitles;
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// let small = Arc::new(ScriptedModel::new(vec![vec![Step::text("Weekend trip to Lisbon")]]));
/// let titles = ThreadTitles::new(small).model_name("gpt-5-nano");
/// # let _ = titles;
/// ```
#[derive(Clone)]
pub struct ThreadTitles {
    model: Arc<dyn Model>,
    model_name: Option<String>,
    instructions: String,
    timeout: Duration,
}

impl std::fmt::Debug for ThreadTitles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadTitles")
            .field("model_name", &self.model_name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ThreadTitles {
    /// Titles written by `model` with [`DEFAULT_TITLE_INSTRUCTIONS`].
    pub fn new(model: Arc<dyn Model>) -> Self {
        ThreadTitles {
            model,
            model_name: None,
            instructions: DEFAULT_TITLE_INSTRUCTIONS.into(),
            timeout: DEFAULT_TITLE_TIMEOUT,
        }
    }

    /// Asks for this model by name (a small one: `gpt-5-nano`, `gpt-4.1-mini`), when
    /// `model` serves several.
    pub fn model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = Some(name.into());
        self
    }

    /// Instructions of your own.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = instructions.into();
        self
    }

    /// How long the end of the first answer waits for the title (default
    /// [`DEFAULT_TITLE_TIMEOUT`]) before it uses the fallback.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts titling `thread` from `message`: the title is set on the thread when the
    /// model answers. Await the handle (see [`PendingTitle::finish`]) before the answer
    /// ends.
    pub(crate) fn start(&self, thread: ThreadHandle, message: String) -> PendingTitle {
        let titles = self.clone();
        let titled = thread.clone();
        let text = message.clone();
        let task = tokio::spawn(async move {
            match titles.write(&titled, &text).await {
                Some(title) => titled.set_title(title),
                None => titled.set_title(fallback_title(&text)),
            }
        });
        PendingTitle {
            task,
            thread,
            message,
            timeout: self.timeout,
        }
    }

    /// The model's title, cleaned, or none (logged).
    async fn write(&self, thread: &ThreadHandle, message: &str) -> Option<String> {
        let settings = ModelSettings {
            model: self.model_name.clone(),
            ..ModelSettings::default()
        };
        let agent = Agent::<()>::new("Title writer", self.model.clone())
            .instructions(self.instructions.clone())
            .settings(settings);
        let result = match Runner::new().run(&agent, message, ()).await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(thread_id = thread.id(), %error, "the title model failed; the thread is titled with its first words");
                return None;
            }
        };
        for event in &result.events {
            if let RunEvent::Model(ModelEvent::Completed { response }) = event {
                if let Some(usage) = &response.usage {
                    let model = response.model.as_deref().unwrap_or("unknown");
                    thread.add_usage(model, token_usage(usage));
                }
            }
        }
        let title = clean_title(&result.final_output);
        if title.is_none() {
            tracing::warn!(thread_id = thread.id(), "the title model answered no usable title; the thread is titled with its first words");
        }
        title
    }
}

/// A title being written: see [`ThreadTitles::start`].
pub(crate) struct PendingTitle {
    task: tokio::task::JoinHandle<()>,
    thread: ThreadHandle,
    message: String,
    timeout: Duration,
}

impl PendingTitle {
    /// Waits for the title at most the timeout; without one by then, the thread gets the
    /// fallback (and a late model title is not applied).
    pub(crate) async fn finish(mut self) {
        if tokio::time::timeout(self.timeout, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
            tracing::warn!(
                thread_id = self.thread.id(),
                "the title model took too long; the thread is titled with its first words"
            );
            self.thread.set_title(fallback_title(&self.message));
        }
    }
}

impl Drop for PendingTitle {
    fn drop(&mut self) {
        // An answer cancelled before its title: the title is not written any more.
        self.task.abort();
    }
}

/// The title a thread gets without a title model: its first message's first 40
/// characters, on one line.
///
/// ```
/// use chatkit_agents::agents::chatkit::fallback_title;
/// assert_eq!(fallback_title("  What is\nthe weather in Paris today, and tomorrow morning?"), "What is the weather in Paris today, and");
/// ```
pub fn fallback_title(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= 40 {
        return line;
    }
    let cut: String = line.chars().take(40).collect();
    match cut.rfind(' ') {
        Some(at) if at > 0 => cut[..at].to_owned(),
        _ => cut,
    }
}

/// The model's answer as a title: one line, no surrounding quotes or final period, at
/// most [`MAX_TITLE_CHARS`]; none when nothing is left.
fn clean_title(answer: &str) -> Option<String> {
    let line = answer
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    let line = line.trim_start_matches(|c: char| "\"'“”‘’*#".contains(c) || c.is_whitespace());
    let line = line.strip_prefix("Title:").unwrap_or(line).trim();
    let line = line.trim_end_matches(|c: char| "\"'“”‘’*.".contains(c) || c.is_whitespace());
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= MAX_TITLE_CHARS {
        return Some(line.to_owned());
    }
    let cut: String = line.chars().take(MAX_TITLE_CHARS).collect();
    Some(match cut.rfind(' ') {
        Some(at) if at > 0 => cut[..at].to_owned(),
        _ => cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_answers_are_cleaned_into_titles() {
        assert_eq!(
            clean_title("\"Trip to Lisbon.\"\n").as_deref(),
            Some("Trip to Lisbon")
        );
        assert_eq!(
            clean_title("Title: Budget review").as_deref(),
            Some("Budget review")
        );
        assert_eq!(
            clean_title("\n\n  ** Rust lifetimes **").as_deref(),
            Some("Rust lifetimes")
        );
        assert_eq!(clean_title("  \n \"\" "), None);
        let long = "word ".repeat(30);
        let title = clean_title(&long).unwrap();
        assert!(title.chars().count() <= MAX_TITLE_CHARS && !title.ends_with(' '));
    }

    #[test]
    fn fallback_titles_are_the_first_words() {
        assert_eq!(fallback_title("hi"), "hi");
        assert_eq!(fallback_title(&"é".repeat(50)).chars().count(), 40);
        assert_eq!(fallback_title(""), "");
    }
}
