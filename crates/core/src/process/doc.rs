//! A tiny document model (headings, paragraphs, lists, tables) and its two
//! renderings: Markdown, and aligned plain text without markup. The process
//! document is built once as blocks, so both formats always say the same.

/// Marks inline code inside block text; rendered as backticks in Markdown
/// and dropped in plain text.
const CODE_OPEN: char = '\u{1}';
const CODE_CLOSE: char = '\u{2}';

/// Inline code: a command, a template, a key.
pub(crate) fn code(s: &str) -> String {
    format!("{CODE_OPEN}{s}{CODE_CLOSE}")
}

pub(crate) enum Block {
    Title(String),
    Heading(String),
    Subheading(String),
    Para(String),
    Bullets(Vec<String>),
    Numbered(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

fn md_inline(s: &str) -> String {
    s.replace([CODE_OPEN, CODE_CLOSE], "`")
}

fn plain(s: &str) -> String {
    s.replace([CODE_OPEN, CODE_CLOSE], "")
}

pub(crate) fn markdown(blocks: &[Block]) -> String {
    let mut parts = Vec::new();
    for b in blocks {
        parts.push(match b {
            Block::Title(t) => format!("# {}", md_inline(t)),
            Block::Heading(t) => format!("## {}", md_inline(t)),
            Block::Subheading(t) => format!("### {}", md_inline(t)),
            Block::Para(t) => md_inline(t),
            Block::Bullets(items) => items
                .iter()
                .map(|i| format!("- {}", md_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Numbered(items) => items
                .iter()
                .enumerate()
                .map(|(n, i)| format!("{}. {}", n + 1, md_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Table { head, rows } => {
                let cell = |c: &String| md_inline(c).replace('|', "\\|");
                let line = |r: &[String]| {
                    format!("| {} |", r.iter().map(cell).collect::<Vec<_>>().join(" | "))
                };
                let mut out = vec![line(head), format!("|{}", "---|".repeat(head.len()))];
                out.extend(rows.iter().map(|r| line(r)));
                out.join("\n")
            }
        });
    }
    parts.join("\n\n") + "\n"
}

fn underline(t: &str, c: char) -> String {
    format!("{t}\n{}", c.to_string().repeat(t.chars().count()))
}

pub(crate) fn text(blocks: &[Block]) -> String {
    let mut parts = Vec::new();
    for b in blocks {
        parts.push(match b {
            Block::Title(t) => underline(&plain(t), '='),
            Block::Heading(t) => underline(&plain(t), '-'),
            Block::Subheading(t) => format!("{}:", plain(t)),
            Block::Para(t) => plain(t),
            Block::Bullets(items) => items
                .iter()
                .map(|i| format!("  * {}", plain(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Numbered(items) => items
                .iter()
                .enumerate()
                .map(|(n, i)| format!("  {}. {}", n + 1, plain(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Table { head, rows } => table(head, rows),
        });
    }
    parts.join("\n\n") + "\n"
}

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let head: Vec<String> = head.iter().map(|c| plain(c)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| plain(c)).collect())
        .collect();
    let mut widths: Vec<usize> = head.iter().map(|c| c.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |r: &[String]| {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // Padded by hand: `format!` widths stop at 65,535.
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(c.chars().count());
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        format!("  {}", cells.join("  ")).trim_end().to_string()
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = vec![line(&head), line(&rule)];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}
