//! The architecture test's lexer: identifiers, `::` and punctuation with their lines, comments
//! dropped and every literal one token, so a word in a message or a comment is not code.

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) text: String,
    /// An identifier or keyword (not a literal, not punctuation).
    pub(super) word: bool,
    pub(super) line: usize,
}

impl Token {
    pub(super) fn is(&self, text: &str) -> bool {
        self.text == text
    }
}

/// Identifiers, `::` and single punctuation characters, with their line; comments are dropped
/// and every literal becomes one `"…"` token.
pub(super) fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let (mut tokens, mut i, mut line) = (Vec::new(), 0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let ident_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let mut push = |text: String, word: bool| {
            tokens.push(Token {
                text,
                word,
                line: start_line,
            })
        };
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= chars.len() {
                    break;
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br"…", cr"…": up to the quote followed by as many #s.
            i += hashes.0;
            let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes.1)).collect();
            let closing: Vec<char> = closing.chars().collect();
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += closing.len();
            push("\"…\"".into(), false);
        } else if c == '"' || ((c == 'b' || c == 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
            push("\"…\"".into(), false);
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let quote = if c == 'b' { i + 1 } else { i };
            if at(quote + 1) == '\\' {
                // '\n', '\'', '\u{…}': past the escaped character, up to the closing quote.
                i = quote + 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                push("'…'".into(), false);
            } else if at(quote + 2) == '\'' {
                i = quote + 3;
                push("'…'".into(), false);
            } else {
                // A lifetime or a label: 'a, 'static.
                i = quote + 1;
                while ident_char(at(i)) {
                    i += 1;
                }
                push("'lifetime".into(), false);
            }
        } else if ident_char(c) {
            let start = i;
            while ident_char(at(i)) {
                i += 1;
            }
            let mut word: String = chars[start..i].iter().collect();
            if word == "r" && at(i) == '#' && ident_char(at(i + 1)) {
                // A raw identifier, r#type.
                i += 1;
                let start = i;
                while ident_char(at(i)) {
                    i += 1;
                }
                word = chars[start..i].iter().collect();
            }
            let is_word = !c.is_ascii_digit();
            push(word, is_word);
        } else if c == ':' && at(i + 1) == ':' {
            i += 2;
            push("::".into(), false);
        } else {
            i += 1;
            push(c.to_string(), false);
        }
    }
    tokens
}

/// At a raw string (`r"`, `r#"`, `br"`, `cr#"`…): how many characters open it and its #s.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    // Not the end of an identifier such as `bar"`.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((j + hashes + 1 - i, hashes))
}
