//! Typed access to the span-carrying TOML tree: every table declares the
//! keys it knows (any other key is reported, with the closest known one),
//! and every getter reports a value of the wrong type. Getters return `None`
//! after reporting, so later stages never report the same problem twice.

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::diag::{Sink, Span, list, suggest};

/// A value with the span of its text in the file.
#[derive(Debug, Clone)]
pub(crate) struct Sp<T> {
    pub v: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(v: T, span: Span) -> Sp<T> {
        Sp { v, span }
    }
}

type Entry<'a, 'i> = (&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>);

/// A table of the process file and how messages name it.
pub(crate) struct Obj<'a, 'i> {
    pub t: &'a DeTable<'i>,
    /// Where "missing key" problems point: the header or the inline table.
    pub span: Span,
    /// `[project]`, `[kinds.fix]`, `[[environments]]`...
    pub name: String,
}

pub(crate) fn describe(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a, 'i> Obj<'a, 'i> {
    /// Entries in file order (the parser keeps them sorted by name).
    pub fn entries(&self) -> Vec<Entry<'a, 'i>> {
        let mut e: Vec<Entry<'a, 'i>> = self.t.iter().collect();
        e.sort_by_key(|(k, _)| k.span().start);
        e
    }

    /// Report every key not in `known`.
    pub fn known_keys(&self, s: &mut Sink<'_>, known: &[&str]) {
        for (k, _) in self.entries() {
            let key: &str = k.get_ref();
            if !known.contains(&key) {
                let rest = format!("{} accepts: {}", self.name, list(known));
                s.error(
                    k.span(),
                    format!("unknown key `{key}` in {}", self.name),
                    Some(suggest(key, known, rest)),
                );
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.t.get(key)
    }

    fn missing(&self, s: &mut Sink<'_>, key: &str, example: &str) {
        s.error(
            self.span.clone(),
            format!("{} is missing `{key}`", self.name),
            Some(format!("add {key} = {example}")),
        );
    }

    fn wrong(
        &self,
        s: &mut Sink<'_>,
        key: &str,
        v: &Spanned<DeValue<'_>>,
        want: &str,
        example: &str,
    ) {
        s.error(
            v.span(),
            format!(
                "`{key}` in {} must be {want}, not {}",
                self.name,
                describe(v.get_ref())
            ),
            Some(format!("write {key} = {example}")),
        );
    }

    pub fn str(&self, s: &mut Sink<'_>, key: &str, example: &str) -> Option<Sp<String>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(x) => Some(Sp::new(x.to_string(), v.span())),
            _ => {
                self.wrong(s, key, v, "a string", example);
                None
            }
        }
    }

    pub fn req_str(&self, s: &mut Sink<'_>, key: &str, example: &str) -> Option<Sp<String>> {
        if self.get(key).is_none() {
            self.missing(s, key, example);
        }
        self.str(s, key, example)
    }

    /// A date written either as a TOML local date or as a `"YYYY-MM-DD"` string.
    pub fn req_date_text(&self, s: &mut Sink<'_>, key: &str, example: &str) -> Option<Sp<String>> {
        match self.get(key) {
            None => {
                self.missing(s, key, example);
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::Datetime(d) if d.date.is_some() && d.time.is_none() => {
                    Some(Sp::new(d.to_string(), v.span()))
                }
                _ => self.str(s, key, example),
            },
        }
    }

    pub fn bool(&self, s: &mut Sink<'_>, key: &str) -> Option<Sp<bool>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Sp::new(*b, v.span())),
            _ => {
                self.wrong(s, key, v, "true or false", "true");
                None
            }
        }
    }

    pub fn u32(&self, s: &mut Sink<'_>, key: &str, example: &str) -> Option<Sp<u32>> {
        let v = self.get(key)?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => u32::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        if n.is_none() {
            if let DeValue::Integer(_) = v.get_ref() {
                s.error(
                    v.span(),
                    format!("`{key}` in {} is out of range", self.name),
                    Some(format!(
                        "write a whole number from 0 up, for example {key} = {example}"
                    )),
                );
            } else {
                self.wrong(s, key, v, "a whole number", example);
            }
        }
        n.map(|n| Sp::new(n, v.span()))
    }

    /// An array of strings; `None` when absent or not an array.
    pub fn strings(
        &self,
        s: &mut Sink<'_>,
        key: &str,
        example: &str,
    ) -> Option<Sp<Vec<Sp<String>>>> {
        let v = self.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong(s, key, v, "an array of strings", example);
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(x) => out.push(Sp::new(x.to_string(), item.span())),
                other => s.error(
                    item.span(),
                    format!(
                        "`{key}` in {} must hold strings, not {}",
                        self.name,
                        describe(other)
                    ),
                    Some(format!("write {key} = {example}")),
                ),
            }
        }
        Some(Sp::new(out, v.span()))
    }

    /// Either one string or an array of strings (`"qa"` or `["qa", "dev_lead"]`).
    pub fn one_or_many(
        &self,
        s: &mut Sink<'_>,
        key: &str,
        example: &str,
    ) -> Option<Sp<Vec<Sp<String>>>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(x) => Some(Sp::new(vec![Sp::new(x.to_string(), v.span())], v.span())),
            DeValue::Array(_) => self.strings(s, key, example),
            _ => {
                self.wrong(s, key, v, "a string or an array of strings", example);
                None
            }
        }
    }

    /// A sub-table (`[a.b]` or an inline table).
    pub fn table(
        &self,
        s: &mut Sink<'_>,
        key: &str,
        name: String,
        example: &str,
    ) -> Option<Obj<'a, 'i>> {
        let v = self.get(key)?;
        as_table(s, v, name, example)
    }

    /// An array of tables (`[[key]]`).
    pub fn tables(&self, s: &mut Sink<'_>, key: &str, example: &str) -> Vec<Obj<'a, 'i>> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            s.error(
                v.span(),
                format!(
                    "`{key}` must be an array of tables, not {}",
                    describe(v.get_ref())
                ),
                Some(format!("write each entry under its own [[{key}]] header")),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| as_table(s, item, format!("[[{key}]]"), example))
            .collect()
    }
}

pub(crate) fn as_table<'a, 'i>(
    s: &mut Sink<'_>,
    v: &'a Spanned<DeValue<'i>>,
    name: String,
    example: &str,
) -> Option<Obj<'a, 'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(Obj {
            t,
            span: v.span(),
            name,
        }),
        other => {
            s.error(
                v.span(),
                format!("{name} must be a table, not {}", describe(other)),
                Some(format!("write it as {example}")),
            );
            None
        }
    }
}
