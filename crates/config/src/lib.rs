//! `dmvpn-config`: the IOS-style configuration language of the DMVPN router.
//!
//! * [`parse()`] turns configuration text into a typed [`Config`] plus
//!   [`Diagnostic`]s (`FILE:LINE:COLUMN: error: …`), reporting every error in
//!   one pass; [`validate`] runs the cross-checks alone on a model.
//! * [`Config::to_ios_text`] writes the normalised form; parsing it again
//!   gives the same model.
//! * [`import`] converts VyOS `set` commands and Adtran AOS configurations
//!   into this dialect.
//! * [`crypto::resolve`] turns a tunnel's `tunnel protection ipsec profile` into a fully
//!   typed IKEv2/ESP policy, with IOS-XE's smart defaults; [`Config::needs_ikev1`] tells
//!   which tunnels need IKEv1 (not supported yet).
//!
//! The language is documented in `docs/config.md`.

mod algs;
mod args;
pub mod crypto;
pub mod diag;
pub mod import;
pub mod lexer;
pub mod model;
mod names;
pub mod parse;
mod secret;
mod validate;
mod writer;

pub use diag::{Diagnostic, Severity, Span};
pub use model::*;
pub use names::{TUNNEL_NUMBER_MAX, normalise_interface_name, normalise_tunnel_name};
pub use parse::{BlockKind, CryptoSpans, Parsed, SpanIndex, parse_syntax};
pub use secret::Secret;
pub use validate::validate;

/// Parse and validate configuration text. The returned [`Parsed`] always has a
/// model (what could be understood); check [`Parsed::has_errors`].
pub fn parse(text: &str) -> Parsed {
    let mut p = parse_syntax(text);
    let more = validate(&p.config, &p.spans);
    p.diagnostics.extend(more);
    p.diagnostics.sort_by_key(|d| (d.span.line, d.span.column));
    p
}

/// Errors of [`parse_file`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Read, parse and validate a file; on errors, the rendered diagnostics.
pub fn parse_file(path: &std::path::Path) -> Result<(Config, Vec<Diagnostic>), LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: name.clone(),
        source,
    })?;
    let p = parse(&text);
    if p.has_errors() {
        return Err(LoadError::Invalid(p.render(&name)));
    }
    Ok((p.config, p.diagnostics))
}
