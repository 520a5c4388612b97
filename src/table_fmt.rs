//! Aligned text tables for the terminal: `ferry tables`, `ferry columns`, the run
//! summary and REPL results all print through here.

/// Renders `rows` under `headers`; columns flagged in `right` are right-aligned.
pub fn render(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(display_width(cell));
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let mut parts = Vec::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(display_width(cell));
            if right.get(i).copied().unwrap_or(false) {
                parts.push(format!("{}{cell}", " ".repeat(pad)));
            } else if i + 1 == n {
                parts.push(cell.to_string());
            } else {
                parts.push(format!("{cell}{}", " ".repeat(pad)));
            }
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied(), &mut out);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for row in rows {
        line(&mut row.iter().map(|s| s.as_str()), &mut out);
    }
    out
}

/// Terminal columns a string takes (CJK and emoji count two).
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let cp = c as u32;
            if (0x1100..=0x115F).contains(&cp)
                || (0x2E80..=0xA4CF).contains(&cp)
                || (0xAC00..=0xD7A3).contains(&cp)
                || (0xF900..=0xFAFF).contains(&cp)
                || (0xFE30..=0xFE4F).contains(&cp)
                || (0xFF00..=0xFF60).contains(&cp)
                || (0xFFE0..=0xFFE6).contains(&cp)
                || (0x1F300..=0x1FAFF).contains(&cp)
                || (0x20000..=0x3FFFD).contains(&cp)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

/// 1234567 -> "1.2 MB"
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_wide_characters() {
        let t = render(
            &["name", "n"],
            &[
                vec!["张三".into(), "1".into()],
                vec!["ab".into(), "22".into()],
            ],
            &[false, true],
        );
        assert_eq!(t, "name   n\n----  --\n张三   1\nab    22\n");
    }
}
