//! A cursor over the tokens of one line, used by the per-command parsers. It
//! produces the error messages that name the offending token, say what was
//! expected and suggest near misses.

use std::net::Ipv4Addr;

use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::lexer::{Line, Token, join};
use crate::names::normalise_tunnel_name;

/// Result of a per-command parser.
pub type PResult<T> = Result<T, Diagnostic>;

pub struct Args<'l> {
    pub line: &'l Line,
    pub pos: usize,
}

fn list(expected: &[&str]) -> String {
    let quoted: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted.concat(),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

impl<'l> Args<'l> {
    pub fn new(line: &'l Line, pos: usize) -> Self {
        Args { line, pos }
    }

    /// The words consumed so far (for messages).
    pub fn ctx(&self) -> String {
        let end = self.pos.min(self.line.tokens.len());
        join(self.line.tokens.get(..end).unwrap_or(&[]))
    }

    pub fn peek(&self) -> Option<&'l Token> {
        self.line.tokens.get(self.pos)
    }

    pub fn peek_lower(&self) -> Option<String> {
        self.peek().map(|t| t.text.to_ascii_lowercase())
    }

    pub fn next(&mut self) -> Option<&'l Token> {
        let t = self.line.tokens.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub fn is_done(&self) -> bool {
        self.pos >= self.line.tokens.len()
    }

    fn missing(&self, what: &str) -> Diagnostic {
        Diagnostic::error(
            self.line.end_span(),
            format!("`{}` is incomplete: expected {what}", self.ctx()),
        )
    }

    /// One of the `expected` keywords (case-insensitive); returns it as listed.
    pub fn keyword(&mut self, expected: &[&'static str]) -> PResult<&'static str> {
        let Some(tok) = self.peek() else {
            return Err(self.missing(&list(expected)));
        };
        let lower = tok.text.to_ascii_lowercase();
        if let Some(k) = expected.iter().find(|k| **k == lower) {
            self.pos += 1;
            return Ok(k);
        }
        let ctx = self.ctx();
        let what = if ctx.is_empty() || ctx.eq_ignore_ascii_case("no") {
            format!("unknown command `{}` in this block", tok.text)
        } else {
            format!("unexpected `{}` after `{ctx}`", tok.text)
        };
        Err(Diagnostic::error(
            tok.span,
            format!(
                "{what}: expected {}{}",
                list(expected),
                did_you_mean(&tok.text, expected.iter().copied())
            ),
        ))
    }

    /// Consume the next token if it is one of `options`.
    pub fn opt_keyword(&mut self, options: &[&'static str]) -> Option<&'static str> {
        let lower = self.peek_lower()?;
        let k = options.iter().find(|k| **k == lower)?;
        self.pos += 1;
        Some(k)
    }

    /// Any word.
    pub fn word(&mut self, what: &str) -> PResult<&'l Token> {
        match self.peek() {
            Some(t) => {
                self.pos += 1;
                Ok(t)
            }
            None => Err(self.missing(what)),
        }
    }

    /// All remaining words joined by single spaces (at least one).
    pub fn rest(&mut self, what: &str) -> PResult<String> {
        if self.is_done() {
            return Err(self.missing(what));
        }
        let s = join(self.line.tokens.get(self.pos..).unwrap_or(&[]));
        self.pos = self.line.tokens.len();
        Ok(s)
    }

    /// An IPv4 address.
    pub fn ipv4(&mut self, what: &str) -> PResult<(Ipv4Addr, Span)> {
        let Some(tok) = self.peek() else {
            return Err(self.missing(&format!("{what} (an IPv4 address such as 192.0.2.1)")));
        };
        match tok.text.parse::<Ipv4Addr>() {
            Ok(a) => {
                self.pos += 1;
                Ok((a, tok.span))
            }
            Err(_) => Err(Diagnostic::error(
                tok.span,
                format!(
                    "`{}` is not a valid {what}: expected an IPv4 address such as 192.0.2.1",
                    tok.text
                ),
            )),
        }
    }

    /// Is the next token an IPv4 address?
    pub fn peek_is_ipv4(&self) -> bool {
        self.peek()
            .is_some_and(|t| t.text.parse::<Ipv4Addr>().is_ok())
    }

    /// A number in `min..=max`.
    pub fn number<T: TryFrom<u64>>(
        &mut self,
        what: &str,
        min: u64,
        max: u64,
    ) -> PResult<(T, Span)> {
        let Some(tok) = self.peek() else {
            return Err(self.missing(&format!("{what} (a number from {min} to {max})")));
        };
        let digits = !tok.text.is_empty() && tok.text.chars().all(|c| c.is_ascii_digit());
        let (true, Ok(n)) = (digits, tok.text.parse::<u64>()) else {
            return Err(Diagnostic::error(
                tok.span,
                format!(
                    "`{}` is not a valid {what}: expected a number from {min} to {max}",
                    tok.text
                ),
            ));
        };
        if n < min || n > max {
            return Err(Diagnostic::error(
                tok.span,
                format!("{what} {n} is out of range: expected a number from {min} to {max}"),
            ));
        }
        let Ok(v) = T::try_from(n) else {
            return Err(Diagnostic::error(
                tok.span,
                format!("{what} {n} is out of range"),
            ));
        };
        self.pos += 1;
        Ok((v, tok.span))
    }

    /// Nothing may follow.
    pub fn end(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(Diagnostic::error(
                t.span,
                format!(
                    "unexpected `{}` after `{}`: expected end of line",
                    t.text,
                    self.ctx()
                ),
            )),
        }
    }

    /// An interface name, written `eth0`, `Ethernet0/1` or `ethernet 0/1`;
    /// tunnel names are normalised to `Tunnel<n>`.
    pub fn interface_name(&mut self, what: &str) -> PResult<(String, Span)> {
        let first = self.word(what)?;
        let mut name = first.text.clone();
        let mut span = first.span;
        // `ethernet 0/1`, `tunnel 1`: a word without digits followed by a number.
        if !name.chars().any(|c| c.is_ascii_digit())
            && let Some(next) = self.peek()
            && next.text.starts_with(|c: char| c.is_ascii_digit())
            && next.text.parse::<Ipv4Addr>().is_err()
        {
            name.push_str(&next.text);
            span.len = (next.span.column + next.span.len).saturating_sub(span.column);
            self.pos += 1;
        }
        Ok((normalise_tunnel_name(&name).unwrap_or(name), span))
    }
}
