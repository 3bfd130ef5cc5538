//! libFuzzer target: `chatkit_agents_workspace::fuzzing::widget_diff`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatkit_agents_workspace::fuzzing::widget_diff(data);
});
