//! A form: a `Card` with `asForm`, whose field values arrive in the submit action's
//! payload. The payload is untrusted: it is parsed into a typed struct and validated,
//! and a bad submission gets a clear message. Offline: `cargo run --example form`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::types::*;
use chatkit_agents::widgets::{self as w, WidgetRoot};
use chatkit_agents_workspace::example_support::{create, send, thread_id};
use serde::Deserialize;
use serde_json::{json, Value};

fn signup_form() -> WidgetRoot {
    w::Card::new()
        .as_form(true)
        .child(w::Title::new("Join the club"))
        .child(w::Label::new("Email", "email"))
        .child(
            w::Input::new("email")
                .input_type(w::InputType::Email)
                .required(true),
        )
        .child(w::Select::new(
            "house",
            vec![
                w::SelectOption::new("gryffindor", "Gryffindor"),
                w::SelectOption::new("ravenclaw", "Ravenclaw"),
            ],
        ))
        .confirm(w::CardAction::new(
            "Join",
            ActionConfig::new("signup.submit"),
        ))
        .into()
}

/// What the form sends (the client puts the field values in the payload).
#[derive(Debug, Deserialize)]
struct Signup {
    email: String,
    house: String,
}

impl Signup {
    fn validate(&self) -> Result<(), String> {
        if !self.email.contains('@') {
            return Err(format!("\"{}\" is not an email address.", self.email));
        }
        if !["gryffindor", "ravenclaw"].contains(&self.house.as_str()) {
            return Err("Please pick one of the listed houses.".into());
        }
        Ok(())
    }
}

struct FormServer {
    store: Arc<MemoryStore>,
}

fn reply(thread: &ThreadHandle, text: String) -> ThreadStreamEvent {
    ThreadStreamEvent::item_done(AssistantMessageItem {
        id: default_generate_id(StoreItemType::Message),
        thread_id: thread.id().into(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(text)],
    })
}

impl ChatKitServer for FormServer {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        let item = WidgetItem {
            id: default_generate_id(StoreItemType::Message),
            thread_id: thread.id().into(),
            created_at: Timestamp::now(),
            widget: signup_form(),
            copy_text: None,
        };
        Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
            item,
        ))]))
    }

    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        _: Option<WidgetItem>,
        _: (),
    ) -> EventStream {
        Box::pin(async_stream::try_stream! {
            let signup: Signup = action.parse_payload().map_err(|e| StreamError::custom(format!("The form could not be read ({e})."), false))?;
            match signup.validate() {
                Ok(()) => yield reply(&thread, format!("Welcome, {}! You are in {}.", signup.email, signup.house)),
                Err(problem) => Err(StreamError::custom(problem, false))?,
            }
        })
    }
}

/// Shows the form, then submits it twice: once valid, once not.
pub async fn run() -> Vec<Value> {
    let server = Arc::new(FormServer {
        store: Arc::new(MemoryStore::new()),
    });
    let mut all = send(&server, create("Sign me up"), ()).await;
    let thread = thread_id(&all);
    let submit = |payload: Value| json!({"type": "threads.custom_action", "params": {"thread_id": thread, "action": {"type": "signup.submit", "payload": payload}}});
    all.extend(
        send(
            &server,
            submit(json!({"email": "harry@hogwarts.edu", "house": "gryffindor"})),
            (),
        )
        .await,
    );
    all.extend(
        send(
            &server,
            submit(json!({"email": "not-an-email", "house": "gryffindor"})),
            (),
        )
        .await,
    );
    all.extend(send(&server, submit(json!({"email": 5})), ()).await);
    all
}

#[tokio::main]
async fn main() {
    run().await;
}
