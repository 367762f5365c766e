//! Stage one of the parser: split the text into lines of whitespace-separated
//! tokens, each with its span, recording indentation and dropping `!` comments.

use crate::diag::Span;

/// One word of a configuration line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub span: Span,
}

/// A non-empty, non-comment line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u32,
    /// Leading whitespace, in characters (a tab counts as one).
    pub indent: usize,
    pub tokens: Vec<Token>,
}

impl Line {
    /// Span just past the last token (where a missing argument would go).
    pub fn end_span(&self) -> Span {
        match self.tokens.last() {
            Some(t) => Span::new(self.number, t.span.column + t.span.len, 1),
            None => Span::new(self.number, 1, 1),
        }
    }

    /// The words joined by single spaces.
    pub fn text(&self) -> String {
        join(&self.tokens)
    }
}

/// Join token texts with single spaces.
pub fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Tokenize a whole file. Blank lines and lines whose first non-blank
/// character is `!` are dropped.
pub fn tokenize(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let number = saturating_u32(idx + 1);
        let mut tokens = Vec::new();
        let mut indent = 0usize;
        let mut seen_word = false;
        let mut current: Option<(usize, String)> = None;
        for (col, ch) in raw.chars().enumerate() {
            if ch.is_whitespace() {
                if let Some((start, word)) = current.take() {
                    tokens.push(make_token(number, start, word));
                }
                if !seen_word {
                    indent += 1;
                }
            } else {
                seen_word = true;
                match current.as_mut() {
                    Some((_, w)) => w.push(ch),
                    None => current = Some((col, ch.to_string())),
                }
            }
        }
        if let Some((start, word)) = current.take() {
            tokens.push(make_token(number, start, word));
        }
        match tokens.first() {
            None => continue,
            Some(t) if t.text.starts_with('!') => continue,
            Some(_) => {}
        }
        lines.push(Line {
            number,
            indent,
            tokens,
        });
    }
    lines
}

fn make_token(line: u32, start: usize, word: String) -> Token {
    let len = saturating_u32(word.chars().count());
    Token {
        span: Span::new(line, saturating_u32(start + 1), len),
        text: word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_comments() {
        let lines = tokenize("! hello\ninterface Tunnel0\n  ip nhrp holdtime 300\r\n\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].number, 3);
        assert_eq!(lines[1].indent, 2);
        assert_eq!(lines[1].tokens[2].text, "holdtime");
        assert_eq!(lines[1].tokens[2].span, Span::new(3, 11, 8));
        assert_eq!(lines[1].text(), "ip nhrp holdtime 300");
    }
}
