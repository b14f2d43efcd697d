//! The YAML the agent's config file uses: nested block mappings of scalars, with
//! comments, plain, `'single'` and `"double"` quoted values. Anything else YAML allows
//! (sequences, flow `{}`/`[]`, anchors, tags, multi-line scalars) is refused with the
//! line number, never silently misread.
//!
//! A full YAML library would be a quarter of the agent's binary; a config file of a
//! dozen keys does not need one.

use std::fmt;

/// One `key: value` leaf of the file, addressed by its dotted path (`server.url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    /// `None` for an empty value, `~` or `null`.
    pub value: Option<String>,
    /// 1-based line number, for messages.
    pub line: usize,
    /// Whether the key introduced a nested block instead of a value.
    pub is_section: bool,
}

/// A syntax error at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err(line: usize, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        message: message.into(),
    }
}

/// Parses the text into entries, in file order. Sections appear as entries too (with
/// `is_section`), so that a caller can tell a section from a value.
pub fn parse(text: &str) -> Result<Vec<Entry>, YamlError> {
    // (indent, path) of the open sections, innermost last.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out: Vec<Entry> = Vec::new();
    // The section opened by the previous line, waiting for its first child.
    let mut pending: Option<(usize, usize)> = None; // (indent of the section key, index in out)
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            return Err(err(line_no, "indent with spaces, not tabs"));
        }
        let indent = line.len() - body.len();
        if indent == 0 && (body == "---" || body == "...") {
            continue;
        }
        if body.starts_with("- ") || body == "-" {
            return Err(err(
                line_no,
                "lists are not used in this file; write `key: value`",
            ));
        }

        // Close sections this line is not inside of.
        match pending.take() {
            Some((parent_indent, idx)) if indent > parent_indent => {
                stack.push((indent, out[idx].path.clone()));
            }
            Some((_, idx)) => out[idx].is_section = false, // `key:` with nothing below: empty value
            None => {}
        }
        while stack.last().is_some_and(|(ind, _)| *ind > indent) {
            stack.pop();
        }
        let expected = stack.last().map_or(0, |(ind, _)| *ind);
        if indent != expected {
            return Err(err(
                line_no,
                "indentation does not line up with the keys above",
            ));
        }

        let (key, rest) = split_key(body).ok_or_else(|| err(line_no, "expected `key: value`"))?;
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(line_no, format!("`{key}` is not a valid key")));
        }
        let path = match stack.last() {
            Some((_, parent)) => format!("{parent}.{key}"),
            None => key.to_owned(),
        };
        if let Some(prev) = out.iter().find(|e| e.path == path) {
            return Err(err(
                line_no,
                format!("`{path}` is set twice (first on line {})", prev.line),
            ));
        }
        let value = scalar(rest, line_no)?;
        let is_section = value.is_none() && rest.trim().is_empty();
        out.push(Entry {
            path,
            value,
            line: line_no,
            is_section,
        });
        if is_section {
            pending = Some((indent, out.len() - 1));
        }
    }
    if let Some((_, idx)) = pending {
        out[idx].is_section = false;
    }
    Ok(out)
}

/// Splits `key: rest` (or `key:` at the end of the line).
fn split_key(body: &str) -> Option<(&str, &str)> {
    let idx = body.find(':')?;
    let (key, rest) = (&body[..idx], &body[idx + 1..]);
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key.trim_end(), rest))
}

/// Parses the value part of a line (after the colon).
fn scalar(rest: &str, line: usize) -> Result<Option<String>, YamlError> {
    let v = rest.trim();
    let Some(first) = v.chars().next() else {
        return Ok(None);
    };
    match first {
        '#' => Ok(None),
        '"' => double_quoted(&v[1..], line).map(Some),
        '\'' => single_quoted(&v[1..], line).map(Some),
        '[' | '{' => Err(err(
            line,
            "flow collections (`[...]`, `{...}`) are not supported here",
        )),
        '|' | '>' => Err(err(
            line,
            "multi-line values are not supported; quote the value on one line",
        )),
        '&' | '*' | '!' => Err(err(line, "anchors, aliases and tags are not supported")),
        _ => {
            let plain = match v.find(" #") {
                Some(i) => v[..i].trim_end(),
                None => v,
            };
            Ok(match plain {
                "~" | "null" | "Null" | "NULL" => None,
                other => Some(other.to_owned()),
            })
        }
    }
}

fn after_quote(rest: &str, line: usize) -> Result<(), YamlError> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err(err(
            line,
            format!("unexpected `{rest}` after the quoted value"),
        ))
    }
}

fn single_quoted(s: &str, line: usize) -> Result<String, YamlError> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            after_quote(&s[i + 1..], line)?;
            return Ok(out);
        }
        out.push(c);
    }
    Err(err(line, "missing closing `'`"))
}

fn double_quoted(s: &str, line: usize) -> Result<String, YamlError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                after_quote(&s[i + 1..], line)?;
                return Ok(out);
            }
            '\\' => {
                let (_, e) = chars
                    .next()
                    .ok_or_else(|| err(line, "missing closing `\"`"))?;
                match e {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| err(line, format!("bad escape `\\u{hex}`")))?;
                        out.push(ch);
                    }
                    other => return Err(err(line, format!("unknown escape `\\{other}`"))),
                }
            }
            c => out.push(c),
        }
    }
    Err(err(line, "missing closing `\"`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(text: &str) -> Vec<(String, Option<String>)> {
        parse(text)
            .unwrap()
            .into_iter()
            .filter(|e| !e.is_section)
            .map(|e| (e.path, e.value))
            .collect()
    }

    fn s(p: &str, v: &str) -> (String, Option<String>) {
        (p.to_owned(), Some(v.to_owned()))
    }

    /// Nested mappings, comments and the three scalar styles parse to dotted paths.
    #[test]
    fn nested_maps_and_scalars() {
        let text = "---\n# top comment\nserver:\n  url: https://hub.example.com  # the hub\n  api_key: \"lsk_a\\\"b\"\n\
                    agent:\n    interval: 5s\n    buffer:\n        spool_path: '/var/lib/it''s'\n    machine_name: web #1\n\
                    logging:\n  level:\n";
        assert_eq!(
            leaves(text),
            vec![
                s("server.url", "https://hub.example.com"),
                s("server.api_key", "lsk_a\"b"),
                s("agent.interval", "5s"),
                s("agent.buffer.spool_path", "/var/lib/it's"),
                s("agent.machine_name", "web"), // ` #` starts a comment, as in YAML
                ("logging.level".to_owned(), None),
            ]
        );
    }

    /// Sections are marked so a value can be told from a block.
    #[test]
    fn sections_are_marked() {
        let e = parse("server:\n  url: x\nlink:\n").unwrap();
        assert!(e[0].is_section && e[0].path == "server");
        assert!(
            !e[2].is_section && e[2].value.is_none(),
            "empty `link:` is an empty value"
        );
    }

    /// Unsupported YAML and broken layout are errors with the line number.
    #[test]
    fn errors_name_the_line() {
        for (text, line, needle) in [
            ("server:\n  url: [a, b]\n", 2, "flow"),
            ("server:\n- a\n", 2, "lists"),
            ("a: 1\n\tb: 2\n", 2, "tabs"),
            ("server:\n    url: x\n  api_key: y\n", 3, "indentation"),
            ("a: 1\na: 2\n", 2, "twice"),
            ("a: \"open\n", 1, "closing"),
            ("a: 'x' y\n", 1, "after the quoted"),
            ("just words\n", 1, "key: value"),
            ("a: &anchor x\n", 1, "anchors"),
            ("a: |\n  text\n", 1, "multi-line"),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    /// URLs with colons and values with `#` inside stay whole.
    #[test]
    fn colons_and_hashes_in_values() {
        assert_eq!(
            leaves("url: http://127.0.0.1:8080/x#y\n"),
            vec![s("url", "http://127.0.0.1:8080/x#y")]
        );
        assert_eq!(leaves("k: ~\n"), vec![("k".to_owned(), None)]);
    }
}
