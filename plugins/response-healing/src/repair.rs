//! Best-effort repair of almost-JSON: the text between code fences (or from the first `{` or
//! `[`), trailing commas removed, and unclosed strings, arrays and objects closed in order.

/// The repaired text, or `None` when it holds no `{` or `[`.
pub fn repair(text: &str) -> Option<String> {
    let text = unfence(text);
    let start = text.find(['{', '['])?;
    let mut out = String::with_capacity(text.len() + 8);
    let mut open: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in text[start..].chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                open.push(if c == '{' { '}' } else { ']' });
                out.push(c);
            }
            '}' | ']' => {
                drop_trailing_comma(&mut out);
                if open.last() == Some(&c) {
                    open.pop();
                }
                out.push(c);
                if open.is_empty() {
                    break; // the value is complete; what follows is prose
                }
            }
            _ => out.push(c),
        }
    }
    if in_string {
        if escaped {
            out.pop();
        }
        out.push('"');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if out.ends_with(':') {
        out.push_str(" null");
    }
    while let Some(close) = open.pop() {
        drop_trailing_comma(&mut out);
        out.push(close);
    }
    Some(out)
}

/// The inside of the first ```` ``` ```` fence, when the text has one.
fn unfence(text: &str) -> &str {
    let Some(start) = text.find("```") else {
        return text;
    };
    let after = &text[start + 3..];
    let body = after
        .find('\n')
        .map_or(after, |newline| &after[newline + 1..]);
    body.find("```").map_or(body, |end| &body[..end])
}

fn drop_trailing_comma(out: &mut String) {
    let trimmed = out.trim_end().len();
    if out[..trimmed].ends_with(',') {
        out.truncate(trimmed - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_breakages_are_repaired() {
        for (broken, fixed) in [
            ("```json\n{\"a\": [1, 2,],}\n```", r#"{"a": [1, 2]}"#),
            (r#"Here you go: {"a": {"b": "c"#, r#"{"a": {"b": "c"}}"#),
            (r#"[1, {"x": 2"#, r#"[1, {"x": 2}]"#),
            (r#"{"a": 1} and some prose {"#, r#"{"a": 1}"#),
            (r#"{"a":"#, r#"{"a": null}"#),
        ] {
            assert_eq!(repair(broken).as_deref(), Some(fixed), "{broken}");
        }
        assert_eq!(repair("no json here"), None);
    }
}
