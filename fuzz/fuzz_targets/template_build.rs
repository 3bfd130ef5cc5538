//! libFuzzer target: `chatkit_agents_workspace::fuzzing::template_build`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatkit_agents_workspace::fuzzing::template_build(data);
});
