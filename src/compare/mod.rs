//! Theory vs PDE vs particles: the comparison experiments (issue 5) and their reports.
//!
//! Every experiment writes `report.md` (plain words, numbers with uncertainties), `data.json`
//! (every number in the report) and PNG figures into one output directory, through [`Report`].

pub mod clusters_sweep;
pub mod common;
pub mod gkpr;
pub mod growth;
pub mod noise;
pub mod onset;
pub mod parts;
pub mod pde_run;
pub mod pde_vs_particles;
pub mod phase;
pub mod predict;
pub mod predict_run;
pub mod reproduce;
pub mod staircase;

use crate::Result;
use serde::Serialize;
use std::path::Path;

/// A markdown report with a parallel JSON record of every number it quotes.
#[derive(Debug, Default)]
pub struct Report {
    markdown: String,
    data: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    /// A report with a top-level title.
    pub fn new(title: &str) -> Self {
        Self {
            markdown: format!("# {title}\n\n"),
            data: serde_json::Map::new(),
        }
    }

    /// Add a section heading.
    pub fn section(&mut self, heading: &str) {
        self.markdown += &format!("## {heading}\n\n");
    }

    /// Add a paragraph.
    pub fn paragraph(&mut self, text: &str) {
        self.markdown += text.trim();
        self.markdown += "\n\n";
    }

    /// Add a markdown table.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.markdown += &format!("| {} |\n", header.join(" | "));
        self.markdown += &format!("|{}\n", " --- |".repeat(header.len()));
        for r in rows {
            self.markdown += &format!("| {} |\n", r.join(" | "));
        }
        self.markdown += "\n";
    }

    /// Reference a figure file (a `.png` name relative to the report) with a caption, in the
    /// process-wide figure format ([`crate::plot::figure_format`]): the PNG, the SVG in its
    /// place (`--format svg`), or the PNG with a link to the SVG (`--format both`).
    pub fn figure(&mut self, file: &str, caption: &str) {
        self.figure_as(file, caption, crate::plot::figure_format());
    }

    /// [`Report::figure`] for an explicit `format`.
    pub fn figure_as(&mut self, file: &str, caption: &str, format: crate::plot::FigureFormat) {
        use crate::plot::FigureFormat;
        let (shown, svg) = match (file.strip_suffix(".png"), format) {
            (Some(stem), FigureFormat::Svg) => (format!("{stem}.svg"), None),
            (Some(stem), FigureFormat::Both) => (file.to_string(), Some(format!("{stem}.svg"))),
            _ => (file.to_string(), None),
        };
        let link = svg.map(|f| format!(" ([SVG]({f}))")).unwrap_or_default();
        self.markdown += &format!("![{caption}]({shown})\n\n*{caption}*{link}\n\n");
    }

    /// Record `value` under `key` in `data.json`.
    pub fn record<T: Serialize>(&mut self, key: &str, value: &T) {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.data.insert(key.to_string(), v);
    }

    /// The markdown text so far.
    pub fn markdown(&self) -> &str {
        &self.markdown
    }

    /// Write `report.md` and `data.json` into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::io::write_atomic(&dir.join("report.md"), self.markdown.as_bytes())?;
        crate::io::write_json(&dir.join("data.json"), &self.data)
    }
}

/// `value ± half_width` with a sensible number of digits.
pub fn plus_minus(value: f64, half_width: f64) -> String {
    if !half_width.is_finite() || half_width <= 0.0 {
        return format!("{value:.6}");
    }
    let digits = (1 - half_width.log10().floor() as i32).max(0) as usize;
    format!("{value:.digits$} ± {half_width:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_links_follow_the_format() {
        use crate::plot::FigureFormat;
        let mut r = Report::new("t");
        r.figure_as("a.png", "A", FigureFormat::Png);
        r.figure_as("b.png", "B", FigureFormat::Svg);
        r.figure_as("c.png", "C", FigureFormat::Both);
        let md = r.markdown();
        assert!(md.contains("![A](a.png)\n\n*A*\n"), "{md}");
        assert!(
            md.contains("![B](b.svg)\n\n*B*\n") && !md.contains("b.png"),
            "{md}"
        );
        assert!(md.contains("![C](c.png)\n\n*C* ([SVG](c.svg))\n"), "{md}");
    }

    #[test]
    fn report_writes_markdown_and_json() {
        let dir = std::env::temp_dir().join(format!("attnflow-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Report::new("Test");
        r.section("Numbers");
        r.paragraph("The rate agrees.");
        r.table(&["l", "rate"], &[vec!["1".into(), "0.5".into()]]);
        r.record("rate", &0.5);
        r.write(&dir).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            md.starts_with("# Test\n")
                && md.contains("| l | rate |")
                && md.contains("| --- | --- |")
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("data.json")).unwrap()).unwrap();
        assert_eq!(v["rate"], 0.5);
    }

    #[test]
    fn plus_minus_rounds_to_the_uncertainty() {
        assert_eq!(plus_minus(1.23456, 0.012), "1.235 ± 0.012");
        assert_eq!(plus_minus(123.456, 3.0), "123.5 ± 3.0");
    }
}
