//! Kafka Connect's `Values.Parser`: splits text into tokens at unescaped
//! `:`, `,`, `{`, `}`, `[`, `]` and `"` (each a token itself), with a
//! buffered look-ahead token and rewinding.

pub(super) struct Tokenizer<'a> {
    /// The whole text.
    pub(super) original: &'a str,
    /// Where the next token starts (after a buffered one).
    pub(super) pos: usize,
    next_token: Option<&'a str>,
    /// The token `next` returned last.
    pub(super) previous: Option<&'a str>,
}

impl<'a> Tokenizer<'a> {
    pub(super) fn new(original: &'a str) -> Self {
        Self {
            original,
            pos: 0,
            next_token: None,
            previous: None,
        }
    }

    pub(super) fn mark(&self) -> usize {
        self.pos - self.next_token.map_or(0, str::len)
    }

    pub(super) fn rewind_to(&mut self, position: usize) {
        self.pos = position;
        self.next_token = None;
        self.previous = None;
    }

    fn more_input(&self) -> bool {
        self.pos < self.original.len()
    }

    pub(super) fn has_next(&self) -> bool {
        self.next_token.is_some() || self.more_input()
    }

    pub(super) fn next(&mut self) -> &'a str {
        let token = match self.next_token.take() {
            Some(t) => t,
            None => self.consume(),
        };
        self.previous = Some(token);
        token
    }

    /// The text of the next `n` tokens, or `None` (and no change) when
    /// there are fewer.
    pub(super) fn next_n(&mut self, n: usize) -> Option<&'a str> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(&self.original[start..self.pos])
    }

    /// One token: a run up to an unescaped delimiter, or the delimiter.
    fn consume(&mut self) -> &'a str {
        let bytes = self.original.as_bytes();
        let start = self.pos;
        let mut escaped = false;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => escaped = !escaped,
                b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' => {
                    if !escaped {
                        if start < self.pos {
                            return &self.original[start..self.pos];
                        }
                        self.pos += 1;
                        return &self.original[start..start + 1];
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.pos += 1;
        }
        &self.original[start..self.pos]
    }

    pub(super) fn can_consume(&mut self, expected: &str) -> bool {
        if self.next_token.is_none() {
            if !self.has_next() {
                return false;
            }
            self.next_token = Some(self.consume());
        }
        while self.next_token.is_some_and(|t| t.trim().is_empty()) && self.more_input() {
            self.next_token = Some(self.consume());
        }
        if self.next_token.is_some_and(|t| t.trim() == expected) {
            self.next_token = None;
            true
        } else {
            false
        }
    }
}
