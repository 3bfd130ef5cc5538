//! Tool calls that wait for a person, with the Runner alone (no ChatKit): a turn's calls
//! that need approval interrupt the run after the others ran; the `RunState` survives
//! JSON; approving runs the call once, rejecting gives the model the rejection; calls
//! still undecided interrupt again; a state that no longer fits the agents is refused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chatkit_agents::agents::{
    function_tool, Agent, ApprovalDecision, RequireApproval, RunError, RunEvent, RunState,
    RunStateError, Runner, ToolContext, ToolFailure, DEFAULT_APPROVAL_REJECTION_MESSAGE,
};
use chatkit_agents::testing::{ScriptedModel, Step};
use serde_json::{json, Value};

/// How many times each tool body ran.
#[derive(Clone, Default)]
struct Calls(Arc<[AtomicUsize; 3]>);

impl Calls {
    fn count(&self, tool: usize) -> usize {
        self.0[tool].load(Ordering::SeqCst)
    }
}

/// Delete a file.
#[function_tool(needs_approval)]
async fn delete_file(ctx: &ToolContext<Calls>, path: String) -> String {
    ctx.0[0].fetch_add(1, Ordering::SeqCst);
    format!("deleted {path}")
}

/// List files.
#[function_tool]
async fn list_files(ctx: &ToolContext<Calls>) -> String {
    ctx.0[1].fetch_add(1, Ordering::SeqCst);
    "a.txt b.txt".into()
}

#[derive(serde::Deserialize)]
struct Amount {
    amount: f64,
}

async fn is_large(_ctx: &ToolContext<Calls>, args: Amount) -> bool {
    args.amount > 100.0
}

/// Pay an amount.
#[function_tool(needs_approval = is_large)]
async fn pay(ctx: &ToolContext<Calls>, amount: f64) -> String {
    ctx.0[2].fetch_add(1, Ordering::SeqCst);
    format!("paid {amount}")
}

fn call(name: &str, id: &str, arguments: Value) -> Step {
    Step::ToolCall {
        name: name.into(),
        arguments,
        call_id: Some(id.into()),
        id: None,
    }
}

fn files_agent(turns: Vec<Vec<Step>>) -> (Agent<Calls>, Arc<ScriptedModel>) {
    let model = Arc::new(ScriptedModel::new(turns));
    let agent = Agent::new("Files", model.clone())
        .tool(delete_file)
        .tool(list_files)
        .tool(pay);
    (agent, model)
}

/// The `function_call_output`s of a model request, as (call id, output).
fn outputs(input: &[Value]) -> Vec<(String, String)> {
    input
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| {
            (
                item["call_id"].as_str().unwrap().to_owned(),
                item["output"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_approved_call_runs_once_after_the_others_and_the_run_goes_on() {
    let (agent, model) = files_agent(vec![
        vec![
            call("list_files", "call_list", json!({})),
            call("delete_file", "call_del", json!({"path": "a.txt"})),
        ],
        vec![Step::text("Deleted a.txt.")],
    ]);
    let calls = Calls::default();
    let runner = Runner::new();

    let first = runner
        .run(&agent, "delete a.txt", calls.clone())
        .await
        .unwrap();
    assert_eq!(first.final_output, "");
    assert_eq!(calls.count(1), 1, "the call that needs no approval ran");
    assert_eq!(calls.count(0), 0, "the call that needs approval waits");
    let requested: Vec<_> = first
        .events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ApprovalRequested(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].tool_name, "delete_file");
    assert_eq!(requested[0].arguments, r#"{"path":"a.txt"}"#);
    assert_eq!(requested[0].agent, "Files");
    assert!(requested[0].id.starts_with("apr_"));
    assert!(matches!(
        first.events.last(),
        Some(RunEvent::ApprovalRequested(_))
    ));

    let state = first.interruption.unwrap();
    assert_eq!(state.turn(), 1);
    assert_eq!(state.usage().input_tokens, 10, "one model response so far");
    // A later request, perhaps in another process.
    let mut state = RunState::from_json(&state.to_json()).unwrap();
    state.approve("call_del").unwrap();
    let done = runner.resume(&agent, state, calls.clone()).await.unwrap();

    assert_eq!(done.final_output, "Deleted a.txt.");
    assert!(done.interruption.is_none());
    assert_eq!((calls.count(0), calls.count(1)), (1, 1), "each ran once");
    assert!(matches!(&done.events[0], RunEvent::AgentUpdated { name } if name == "Files"));
    assert_eq!(
        done.usage.input_tokens, 20,
        "usage carries over the interruption"
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let mut sent = outputs(&requests[1].input);
    sent.sort();
    assert_eq!(
        sent,
        [
            ("call_del".to_owned(), "deleted a.txt".to_owned()),
            ("call_list".to_owned(), "a.txt b.txt".to_owned()),
        ]
    );
    // The model's calls are in the conversation it reads, once.
    let fc = requests[1]
        .input
        .iter()
        .filter(|i| i["type"] == "function_call")
        .count();
    assert_eq!(fc, 2);
}

#[tokio::test]
async fn a_rejected_call_does_not_run_and_the_model_reads_why() {
    let (agent, model) = files_agent(vec![
        vec![
            call("delete_file", "call_1", json!({"path": "a.txt"})),
            call("delete_file", "call_2", json!({"path": "b.txt"})),
        ],
        vec![Step::text("I kept both files.")],
    ]);
    let calls = Calls::default();
    let runner = Runner::new();
    let mut state = runner
        .run(&agent, "delete both", calls.clone())
        .await
        .unwrap()
        .interruption
        .unwrap();
    assert_eq!(state.pending().len(), 2);
    state.reject("call_1", Some("Keep a.txt.".into())).unwrap();
    state.reject("call_2", None).unwrap();
    let done = runner.resume(&agent, state, calls.clone()).await.unwrap();
    assert_eq!(done.final_output, "I kept both files.");
    assert_eq!(calls.count(0), 0);
    assert_eq!(
        outputs(&model.requests()[1].input),
        [
            ("call_1".to_owned(), "Keep a.txt.".to_owned()),
            (
                "call_2".to_owned(),
                DEFAULT_APPROVAL_REJECTION_MESSAGE.to_owned()
            ),
        ]
    );
    let streamed: Vec<_> = done
        .events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ToolOutput { call, output } => Some((call.call_id.as_str(), output.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        streamed,
        [
            ("call_1", "Keep a.txt."),
            ("call_2", DEFAULT_APPROVAL_REJECTION_MESSAGE)
        ]
    );
}

#[tokio::test]
async fn the_runs_error_formatter_words_a_rejection_without_a_message() {
    let (agent, model) = files_agent(vec![
        vec![call("delete_file", "call_1", json!({"path": "a.txt"}))],
        vec![Step::text("ok")],
    ]);
    let runner = Runner::new().error_formatter(Arc::new(|failure: &ToolFailure| match failure {
        ToolFailure::NotApproved { tool } => format!("the user said no to {tool}"),
        other => other.default_output(),
    }));
    let mut state = runner
        .run(&agent, "delete", Calls::default())
        .await
        .unwrap()
        .interruption
        .unwrap();
    state.reject("call_1", None).unwrap();
    runner
        .resume(&agent, state, Calls::default())
        .await
        .unwrap();
    assert_eq!(
        outputs(&model.requests()[1].input),
        [(
            "call_1".to_owned(),
            "the user said no to delete_file".to_owned()
        )]
    );
}

#[tokio::test]
async fn calls_are_decided_one_by_one_and_undecided_ones_interrupt_again() {
    let (agent, model) = files_agent(vec![
        vec![
            call("delete_file", "call_1", json!({"path": "a.txt"})),
            call("pay", "call_small", json!({"amount": 5})),
            call("pay", "call_big", json!({"amount": 500})),
        ],
        vec![Step::text("Done.")],
    ]);
    let calls = Calls::default();
    let runner = Runner::new();
    let first = runner.run(&agent, "go", calls.clone()).await.unwrap();
    assert_eq!(calls.count(2), 1, "the small payment needs no approval");
    let mut state = first.interruption.unwrap();
    let waiting: Vec<_> = state.pending().iter().map(|a| a.call_id.clone()).collect();
    assert_eq!(waiting, ["call_1", "call_big"]);

    // Only one decided: that call runs, the other interrupts again (same approval id).
    let big_id = state.approval("call_big").unwrap().id.clone();
    state.approve("call_1").unwrap();
    let second = runner.resume(&agent, state, calls.clone()).await.unwrap();
    assert_eq!(calls.count(0), 1);
    assert_eq!(calls.count(2), 1, "the big payment still waits");
    let mut state = second.interruption.unwrap();
    assert_eq!(state.approvals().len(), 1);
    assert_eq!(state.approvals()[0].id, big_id);
    assert_eq!(model.requests().len(), 1, "no model call in between");

    state.approve(&big_id).unwrap();
    let done = runner.resume(&agent, state, calls.clone()).await.unwrap();
    assert_eq!(done.final_output, "Done.");
    assert_eq!((calls.count(0), calls.count(2)), (1, 2));
    let mut sent = outputs(&model.requests()[1].input);
    sent.sort();
    assert_eq!(
        sent,
        [
            ("call_1".to_owned(), "deleted a.txt".to_owned()),
            ("call_big".to_owned(), "paid 500".to_owned()),
            ("call_small".to_owned(), "paid 5".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_call_of_the_agent_handed_to_resumes_with_that_agent() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("transfer_to_files", json!({}))],
        vec![call("delete_file", "call_1", json!({"path": "a.txt"}))],
        vec![Step::text("Files deleted it.")],
    ]));
    let files: Agent<Calls> = Agent::new("Files", model.clone()).tool(delete_file);
    let triage: Agent<Calls> = Agent::new("Triage", model.clone()).handoff(files);
    let calls = Calls::default();
    let runner = Runner::new();
    let mut state = runner
        .run(&triage, "delete a.txt", calls.clone())
        .await
        .unwrap()
        .interruption
        .unwrap();
    assert_eq!(state.agent_name(), "Files");
    assert_eq!(state.approvals()[0].agent, "Files");
    state.approve("call_1").unwrap();
    let done = runner.resume(&triage, state, calls.clone()).await.unwrap();
    assert_eq!(done.final_output, "Files deleted it.");
    assert_eq!(calls.count(0), 1);
}

#[tokio::test]
async fn any_tool_can_require_approval() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![call("translate", "call_t", json!({"input": "hola"}))],
        vec![Step::text("hello")],
        vec![Step::text("It says hello.")],
    ]));
    let translator: Agent<Calls> = Agent::new("Translator", model.clone());
    let agent: Agent<Calls> = Agent::new("Main", model.clone()).tool(RequireApproval::always(
        translator.as_tool("translate", "Translate."),
    ));
    let runner = Runner::new();
    let mut state = runner
        .run(&agent, "translate hola", Calls::default())
        .await
        .unwrap()
        .interruption
        .unwrap();
    assert_eq!(state.pending()[0].tool_name, "translate");
    state.approve("call_t").unwrap();
    let done = runner
        .resume(&agent, state, Calls::default())
        .await
        .unwrap();
    assert_eq!(done.final_output, "It says hello.");
}

#[tokio::test]
async fn a_state_that_no_longer_fits_the_agents_is_refused() {
    let (agent, _) = files_agent(vec![vec![call(
        "delete_file",
        "call_1",
        json!({"path": "a.txt"}),
    )]]);
    let runner = Runner::new();
    let mut state = runner
        .run(&agent, "delete", Calls::default())
        .await
        .unwrap()
        .interruption
        .unwrap();
    state.approve("call_1").unwrap();

    // The tool is gone.
    let model = Arc::new(ScriptedModel::new(vec![]));
    let without_tool: Agent<Calls> = Agent::new("Files", model.clone()).tool(list_files);
    let error = runner
        .resume(&without_tool, state.clone(), Calls::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RunError::InvalidRunState(m) if m.contains("delete_file")),
        "{error}"
    );

    // The agent is gone.
    let other: Agent<Calls> = Agent::new("Other", model).tool(delete_file);
    let error = runner
        .resume(&other, state.clone(), Calls::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RunError::InvalidRunState(m) if m.contains("Files")),
        "{error}"
    );

    // Decisions are taken once; unknown calls and foreign JSON are errors.
    assert!(matches!(
        state.reject("call_1", None),
        Err(RunStateError::AlreadyDecided { approved: true, .. })
    ));
    assert_eq!(
        state.approvals()[0].decision,
        Some(ApprovalDecision::Approved)
    );
    assert!(matches!(
        state.approve("call_nope"),
        Err(RunStateError::UnknownCall(_))
    ));
    assert!(RunState::from_json(r#"{"version": 1}"#).is_err());
    assert!(RunState::from_json("").is_err());
}

#[tokio::test]
async fn the_streamed_run_hands_over_its_state() {
    let (agent, _) = files_agent(vec![vec![call(
        "delete_file",
        "call_1",
        json!({"path": "a.txt"}),
    )]]);
    let mut run = Runner::new().run_streamed(&agent, "delete", Calls::default());
    let outcome = run.outcome();
    use futures::StreamExt;
    while let Some(event) = run.next().await {
        event.unwrap();
    }
    assert!(run.interruption().is_some());
    assert_eq!(outcome.interruption().unwrap().pending().len(), 1);
    assert_eq!(outcome.final_output(), None);
}
