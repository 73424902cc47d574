//! Charts drawn on the server as SVG (no script): columns over weeks and
//! horizontal bars. Every text is escaped here; the pages embed the result.

use std::fmt::Write;

/// One bar: its label, its value (the bar's length), the text shown beside
/// it, and where it links (the releases or patches behind it).
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
    pub href: Option<String>,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn link(out: &mut String, href: &Option<String>, inner: &str) {
    match href {
        Some(h) => {
            let _ = write!(out, "<a href=\"{}\">{inner}</a>", esc(h));
        }
        None => out.push_str(inner),
    }
}

/// Vertical columns, one per bar (weeks), with the value above each and the
/// label below; `title` names the chart for screen readers.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let (w, h, top, bottom) = (44.0, 120.0, 16.0, 18.0);
    let width = (bars.len().max(1) as f64) * w;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\"><title>{}</title>",
        h + top + bottom,
        h + top + bottom,
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64 * w;
        let bh = if max > 0.0 { b.value / max * h } else { 0.0 };
        let y = top + h - bh;
        let mut g = format!(
            "<g><title>{}: {}</title><rect class=\"bar\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"/>",
            esc(&b.label),
            esc(&b.shown),
            x + 6.0,
            w - 12.0
        );
        let _ = write!(
            g,
            "<text class=\"value\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            x + w / 2.0,
            (y - 3.0).max(10.0),
            esc(&b.shown),
            x + w / 2.0,
            top + h + 13.0,
            esc(&b.label)
        );
        link(&mut out, &b.href, &g);
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars, one per line, the label left and the value right.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let (label_w, bar_w, value_w, row) = (220.0, 300.0, 150.0, 22.0);
    let width = label_w + bar_w + value_w;
    let height = (bars.len().max(1) as f64) * row + 4.0;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\"><title>{}</title>",
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let len = if max > 0.0 {
            b.value / max * bar_w
        } else {
            0.0
        };
        let g = format!(
            "<g><title>{}: {}</title><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{label_w}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\"/><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(&b.label),
            esc(&b.shown),
            label_w - 6.0,
            y + 15.0,
            esc(&b.label),
            y + 3.0,
            row - 6.0,
            label_w + len + 6.0,
            y + 15.0,
            esc(&b.shown)
        );
        link(&mut out, &b.href, &g);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_bars_scale_to_the_largest() {
        let svg = bars(
            "t<>",
            &[
                Bar {
                    label: "<script>".into(),
                    value: 2.0,
                    shown: "2 \"h\"".into(),
                    href: Some("/x?a=1&b=2".into()),
                },
                Bar {
                    label: "b".into(),
                    value: 1.0,
                    shown: "1".into(),
                    href: None,
                },
            ],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("href=\"/x?a=1&amp;b=2\""));
        assert!(svg.contains("width=\"300.0\""), "the largest fills: {svg}");
        assert!(svg.contains("width=\"150.0\""), "half of it: {svg}");
        let svg = columns("none", &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
