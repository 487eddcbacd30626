//! `flinkform fmt`: the canonical layout of HCL files, as `terraform fmt` does it — two-space
//! indentation by nesting, `=` aligned within runs of consecutive attributes, single blank
//! lines, no trailing spaces — keeping every comment and every heredoc byte as written.
//! Idempotent. The result is checked to mean exactly what the input meant before it is used.

/// Formats one file's text; an error when the input does not parse (or formatting would
/// change its meaning, which is a bug this refuses to write).
pub fn format(src: &str) -> Result<String, String> {
    let before: hcl::Body = hcl::from_str(src).map_err(|e| e.to_string())?;
    let mut scanner = Scanner::default();
    let mut lines: Vec<Line> = Vec::new();
    for raw in src.lines() {
        if scanner.heredoc.is_some() || scanner.in_block_comment {
            let was_heredoc_end = scanner.heredoc.as_deref().is_some_and(|t| raw.trim() == t);
            scanner.scan(raw);
            lines.push(Line { text: raw.to_string(), indent: 0, verbatim: true, kind: Kind::Other });
            if was_heredoc_end {
                // The terminator stays as written too (its indentation matters for `<<EOT`).
                lines.last_mut().expect("just pushed").verbatim = true;
            }
            continue;
        }
        let spaced = space(raw.trim());
        let trimmed = spaced.as_str();
        let start_depth = scanner.depth;
        let leading_closers = trimmed.chars().take_while(|c| matches!(c, '}' | ']' | ')')).count() as i32;
        scanner.scan(trimmed);
        let indent = (start_depth - leading_closers).max(0);
        let kind = match attribute_key(trimmed) {
            Some(key_len) if scanner.depth == start_depth && scanner.heredoc.is_none() => {
                Kind::Attribute { key_len, ends_group: false }
            }
            Some(key_len) => Kind::Attribute { key_len, ends_group: true },
            None => Kind::Other,
        };
        lines.push(Line { text: trimmed.to_string(), indent, verbatim: false, kind });
    }
    align(&mut lines);
    let mut out = String::new();
    let mut blank = 0;
    for l in &lines {
        if l.verbatim {
            out.push_str(&l.text);
            out.push('\n');
            blank = 0;
            continue;
        }
        if l.text.is_empty() {
            blank += 1;
            if blank == 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank = 0;
        out.push_str(&"  ".repeat(l.indent as usize));
        out.push_str(&l.text);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    let after: hcl::Body =
        hcl::from_str(&out).map_err(|e| format!("internal: formatting produced invalid HCL: {e}"))?;
    if before != after || comments(src) != comments(&out) {
        return Err("internal: formatting would change the file's meaning; left as it is".into());
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Attribute { key_len: usize, ends_group: bool },
    Other,
}

struct Line {
    text: String,
    indent: i32,
    verbatim: bool,
    kind: Kind,
}

/// Two-character operators, spaced on both sides.
const OPERATORS: &[[char; 2]] = &[['=', '='], ['!', '='], ['<', '='], ['>', '='], ['=', '>'], ['&', '&'], ['|', '|']];

/// Spacing inside one line, as `terraform fmt` writes it: one space on each side of `=` and of
/// the two-character operators (`==`, `=>`, `&&`…), after each `,` (none before it), and inside
/// a one-line object's braces. Strings and comments are left exactly as written.
fn space(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                // A quoted string, to its closing quote (escapes and interpolations kept).
                let end = string_end(&chars, i);
                out.extend(&chars[i..=end]);
                i = end;
            }
            '#' => {
                out.extend(&chars[i..]);
                break;
            }
            '/' if matches!(chars.get(i + 1), Some('/' | '*')) => {
                out.extend(&chars[i..]);
                break;
            }
            ',' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(',');
                while chars.get(i + 1) == Some(&' ') {
                    i += 1;
                }
                if i + 1 < chars.len() && !matches!(chars[i + 1], ']' | '}' | ')') {
                    out.push(' ');
                }
            }
            _ if i + 1 < chars.len() && OPERATORS.contains(&[c, chars[i + 1]]) => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(' ');
                out.push(c);
                out.push(chars[i + 1]);
                out.push(' ');
                i += 1;
                while chars.get(i + 1) == Some(&' ') {
                    i += 1;
                }
            }
            '=' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push_str(" = ");
                while chars.get(i + 1) == Some(&' ') {
                    i += 1;
                }
            }
            '{' => {
                out.push('{');
                if i + 1 < chars.len() && !matches!(chars[i + 1], '}' | ' ') {
                    out.push(' ');
                }
            }
            '}' => {
                if !out.is_empty() && !out.ends_with(['{', ' ']) {
                    out.push(' ');
                }
                out.push('}');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out.trim_end().to_string()
}

/// Index of the quote closing the string that opens at `i` (the last index if unterminated);
/// an interpolation's own strings and braces are skipped whole.
fn string_end(chars: &[char], mut i: usize) -> usize {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '$' | '%' if chars.get(i + 1) == Some(&'{') => i = interpolation_end(chars, i + 2),
            '"' => return i,
            _ => {}
        }
        i += 1;
    }
    chars.len().saturating_sub(1)
}

/// Index of the `}` closing an interpolation whose body starts at `i`.
fn interpolation_end(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        match chars[i] {
            '"' => i = string_end(chars, i),
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    chars.len().saturating_sub(1)
}

/// `key = value` (not `==`): the key's length.
fn attribute_key(line: &str) -> Option<usize> {
    let key_len = if let Some(rest) = line.strip_prefix('"') {
        rest.find('"')? + 2
    } else {
        line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?
    };
    if key_len == 0 {
        return None;
    }
    let after = line[key_len..].trim_start();
    (after.starts_with('=') && !after.starts_with("==")).then_some(key_len)
}

/// Pads keys so `=` lines up within each run of consecutive attributes at the same indent.
fn align(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        let Kind::Attribute { .. } = lines[i].kind else {
            i += 1;
            continue;
        };
        let indent = lines[i].indent;
        let mut j = i;
        while j < lines.len() && !lines[j].verbatim && lines[j].indent == indent {
            let Kind::Attribute { ends_group, .. } = lines[j].kind else { break };
            j += 1;
            if ends_group {
                break;
            }
        }
        let width = lines[i..j]
            .iter()
            .filter_map(|l| if let Kind::Attribute { key_len, .. } = l.kind { Some(key_len) } else { None })
            .max()
            .unwrap_or(0);
        for l in &mut lines[i..j] {
            if let Kind::Attribute { key_len, .. } = l.kind {
                let (key, rest) = l.text.split_at(key_len);
                let value = rest.trim_start().strip_prefix('=').unwrap_or("").trim_start();
                l.text = format!("{key:width$} = {value}").trim_end().to_string();
            }
        }
        i = j.max(i + 1);
    }
}

/// Tracks nesting across lines, ignoring brackets in strings, interpolations and comments.
#[derive(Default)]
struct Scanner {
    depth: i32,
    heredoc: Option<String>,
    in_block_comment: bool,
}

impl Scanner {
    fn scan(&mut self, line: &str) {
        if let Some(term) = &self.heredoc {
            if line.trim() == term {
                self.heredoc = None;
            }
            return;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut stack: Vec<char> = Vec::new(); // 's' string, 'i' interpolation (with its brace depth)
        let mut interp_braces: Vec<i32> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if self.in_block_comment {
                if c == '*' && next == Some('/') {
                    self.in_block_comment = false;
                    i += 1;
                }
                i += 1;
                continue;
            }
            match stack.last() {
                Some('s') => match c {
                    '\\' => i += 1,
                    '"' => {
                        stack.pop();
                    }
                    '$' | '%' if next == Some('{') => {
                        stack.push('i');
                        interp_braces.push(0);
                        i += 1;
                    }
                    _ => {}
                },
                _ => match c {
                    '"' => stack.push('s'),
                    '#' => return,
                    '/' if next == Some('/') => return,
                    '/' if next == Some('*') => {
                        self.in_block_comment = true;
                        i += 1;
                    }
                    '<' if next == Some('<') && stack.is_empty() => {
                        let rest: String = chars[i + 2..].iter().collect();
                        let ident: String = rest
                            .trim_start_matches('-')
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !ident.is_empty() {
                            self.heredoc = Some(ident);
                            return;
                        }
                    }
                    '{' if stack.last() == Some(&'i') => *interp_braces.last_mut().expect("interp") += 1,
                    '}' if stack.last() == Some(&'i') => {
                        let d = interp_braces.last_mut().expect("interp");
                        if *d == 0 {
                            stack.pop();
                            interp_braces.pop();
                        } else {
                            *d -= 1;
                        }
                    }
                    '{' | '[' | '(' => self.depth += 1,
                    '}' | ']' | ')' => self.depth -= 1,
                    _ => {}
                },
            }
            i += 1;
        }
    }
}

/// Every comment's text, in order (to prove none was lost).
fn comments(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| {
            let t = l.trim();
            (t.starts_with('#') || t.starts_with("//")).then(|| t.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_inside_lines_as_terraform_fmt_does() {
        let src =
            "c=2\nl=[\"a\",\"b\" , \"c\"]\no={a=1,b=\"x=y, z\"} # k=v,w\nb = a==1 ? x : y\nm={for k,v in x : k=>v}\n";
        let out = format(src).unwrap();
        assert_eq!(
            out,
            "c = 2\nl = [\"a\", \"b\", \"c\"]\no = { a = 1, b = \"x=y, z\" } # k=v,w\nb = a == 1 ? x : y\nm = { for k, v in x : k => v }\n"
        );
        assert_eq!(format(&out).unwrap(), out, "idempotent");
    }

    #[test]
    fn reindents_aligns_and_keeps_comments() {
        let src = "# top\ncluster \"a\" {\nimage = \"x\" # why\n    flink_config = {\n\"a.b\" = \"1\"\n      \"long.key.name\"   =    \"2\"\n }\n\n\n\n  taskmanager {\n  slots=2\n  replicas = 3\n  }\n}\n";
        let out = format(src).unwrap();
        assert_eq!(
            out,
            "# top\ncluster \"a\" {\n  image        = \"x\" # why\n  flink_config = {\n    \"a.b\"           = \"1\"\n    \"long.key.name\" = \"2\"\n  }\n\n  taskmanager {\n    slots    = 2\n    replicas = 3\n  }\n}\n"
        );
        assert_eq!(format(&out).unwrap(), out, "idempotent");
    }

    #[test]
    fn leaves_heredocs_and_strings_alone() {
        let src = "locals {\n  a = <<EOT\n  { not code\nEOT\n  b = \"{${join(\"}\", [\"x\"])}\"\n}\n";
        let out = format(src).unwrap();
        assert!(out.contains("  { not code\nEOT\n"), "{out}");
        assert_eq!(format(&out).unwrap(), out);
    }

    #[test]
    fn refuses_invalid_input() {
        assert!(format("cluster \"a\" {\n").is_err());
    }
}
