//! Fuzz target: the configuration language (`dmvpn_config`).
//!
//! Arbitrary text goes through `parse` (lexer, parser, validator) and the
//! Adtran AOS and VyOS importers; none may panic. Whatever model `parse`
//! understood must survive the writer: `parse(to_ios_text(c)).config == c`,
//! and the same holds for the model an importer produced.
#![no_main]

use dmvpn_config::import::{self, Dialect};
use libfuzzer_sys::fuzz_target;

fn assert_round_trip(config: &dmvpn_config::Config, what: &str) {
    let text = config.to_ios_text();
    let again = dmvpn_config::parse(&text);
    assert_eq!(
        &again.config, config,
        "{what}: writer round trip changed the model; written text:\n{text}"
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let parsed = dmvpn_config::parse(&text);
    let _ = parsed.has_errors();
    assert_round_trip(&parsed.config, "parse");

    for dialect in [Dialect::Aos, Dialect::Vyos] {
        let imported = import::import(dialect, &text);
        let _ = imported.has_errors();
        assert_round_trip(&imported.config, "import");
    }
});
