//! Source files and diagnostics: every configuration error points at a file, line and column,
//! with a snippet (miette) and the fix. Errors are collected, never thrown one at a time.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::ops::Range;
use std::path::PathBuf;

/// One loaded configuration file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name shown in messages (relative to the configuration directory).
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// Every file of a configuration, indexed by the `file` of a [`Loc`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

/// A place in the configuration: file index plus byte range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: usize,
    pub range: Range<usize>,
}

impl Loc {
    pub fn new(file: usize, range: Option<Range<usize>>) -> Self {
        Loc { file, range: range.unwrap_or(0..0) }
    }
}

impl Sources {
    /// `file:line:column` (1-based) of a location.
    pub fn position(&self, loc: &Loc) -> String {
        let Some(f) = self.files.get(loc.file) else {
            return "<unknown>".into();
        };
        let (line, col) = line_col(&f.text, loc.range.start);
        format!("{}:{}:{}", f.name, line, col)
    }

    /// Builds a diagnostic at `loc`; `message` is the headline, `label` marks the span, `help` names the fix.
    pub fn error(
        &self,
        loc: &Loc,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> ConfigError {
        let (name, text) = match self.files.get(loc.file) {
            Some(f) => (f.name.clone(), f.text.clone()),
            None => ("<unknown>".to_string(), String::new()),
        };
        let end = loc.range.end.min(text.len());
        let start = loc.range.start.min(end);
        let message = message.into();
        let at = |offset: usize| {
            let (line, column) = line_col(&text, offset);
            Pos { line, column, byte: offset }
        };
        let range =
            self.files.get(loc.file).map(|_| SourceRange { filename: name.clone(), start: at(start), end: at(end) });
        ConfigError {
            loc: loc.clone(),
            secondary: false,
            message: format!("{}: {message}", self.position(loc)),
            summary: message,
            range,
            src: NamedSource::new(name, text),
            span: (start, end - start).into(),
            label: label.into(),
            help,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    // An offset inside a multi-byte character (a parser's byte position) counts from its start.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
#[test]
fn an_offset_inside_a_character_counts_from_its_start() {
    assert_eq!(line_col("a\né", 3), (2, 1));
    assert_eq!(line_col("a\né!", 4), (2, 2));
}

/// Where a diagnostic is, as Terraform's `validate -json` writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceRange {
    pub filename: String,
    pub start: Pos,
    pub end: Pos,
}

/// 1-based line and column (in characters), 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// One configuration error with its source snippet.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct ConfigError {
    /// `file:line:column: what`, as printed.
    pub message: String,
    /// What, without the place.
    pub summary: String,
    /// The place, when the error is in a file.
    pub range: Option<SourceRange>,
    /// Where it is (for de-duplication).
    pub loc: Loc,
    /// A consequence of another error (an evaluation failing on an undefined name): dropped
    /// when a primary error lies inside it.
    pub secondary: bool,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    pub help: Option<String>,
}

impl ConfigError {
    /// The error without its source snippet (the position stays in the message): for a value
    /// that is sensitive, whose line would otherwise be printed.
    pub fn redacted(self) -> ConfigError {
        let name = self.src.name().to_string();
        ConfigError { src: NamedSource::new(name, String::new()), span: (0, 0).into(), ..self }
    }
}

/// All errors found in a configuration.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the configuration has {} error(s); nothing was changed", .errors.len())]
pub struct ConfigErrors {
    #[related]
    pub errors: Vec<ConfigError>,
}

/// Drops secondary errors that contain a primary error's location (one mistake, one message).
pub fn dedupe(errors: Vec<ConfigError>) -> Vec<ConfigError> {
    let primaries: Vec<Loc> = errors.iter().filter(|e| !e.secondary).map(|e| e.loc.clone()).collect();
    // A repeated block (count, for_each, a module called twice) reports one mistake once.
    let mut seen = std::collections::BTreeSet::new();
    errors
        .into_iter()
        .filter(|e| seen.insert(e.message.clone()))
        .filter(|e| {
            !e.secondary
                || !primaries.iter().any(|p| {
                    p.file == e.loc.file && p.range.start >= e.loc.range.start && p.range.end <= e.loc.range.end
                })
        })
        .collect()
}

/// Closest valid name to `got` among `candidates`, for "did you mean" hints.
pub fn suggest<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(suggest("replica", ["replicas", "memory", "slots"]), Some("replicas".into()));
        assert_eq!(suggest("zzz", ["replicas", "memory"]), None);
    }
}
