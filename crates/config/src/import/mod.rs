//! Imports from other DMVPN dialects: Adtran AOS (seed 000) and VyOS `set`
//! commands (seed 004). Each converter produces text in our IOS dialect that
//! is then parsed and validated like any configuration, so the result is a
//! normal [`Config`] and its normalised text.

mod aos;
mod vyos;

use crate::diag::Diagnostic;
use crate::model::Config;

/// Source dialect of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Our own dialect (normalise only).
    Ios,
    /// Adtran AOS.
    Aos,
    /// VyOS `set` commands.
    Vyos,
}

/// The outcome of an import.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The converted model (what could be converted).
    pub config: Config,
    /// Conversion warnings and the diagnostics of the converted text.
    pub diagnostics: Vec<Diagnostic>,
}

impl Imported {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The converted configuration in normalised IOS form.
    pub fn text(&self) -> String {
        self.config.to_ios_text()
    }
}

/// Convert `text` from `dialect` into our model.
pub fn import(dialect: Dialect, text: &str) -> Imported {
    match dialect {
        Dialect::Ios => {
            let p = crate::parse(text);
            Imported {
                config: p.config,
                diagnostics: p.diagnostics,
            }
        }
        Dialect::Aos => aos::import(text),
        Dialect::Vyos => vyos::import(text),
    }
}
