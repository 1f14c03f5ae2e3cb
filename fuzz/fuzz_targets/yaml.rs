//! The input layer: bytes -> text (size, NUL, UTF-8 checks) -> YAML documents with spans ->
//! objects. Must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statelint::object::FileId;
use statelint::source::{Limits, decode_text, parse_file};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(text) = decode_text(data.to_vec(), &limits) {
        let (objects, errors) = parse_file(FileId(0), &text, "default", &limits);
        // every error position must be inside the text
        for (at, _) in errors {
            if let Some(at) = at {
                assert!(at.start as usize <= text.len() && at.end as usize <= text.len());
            }
        }
        for o in objects {
            if let Some(origin) = &o.origin {
                if let Some(s) = origin.span("") {
                    assert!(s.value.end as usize <= text.len());
                }
            }
        }
    }
});
