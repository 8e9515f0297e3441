//! Figures with plotters, rendered with the DejaVu Sans font embedded in the binary.
//!
//! Call [`register_fonts`] (idempotent) before drawing; every chart then uses the family
//! [`FONT`], so a machine without any system font renders all labels, Greek letters included.

pub mod chart;
pub mod linear;
pub mod noise;

use plotters::style::FontStyle;
use std::sync::Once;

/// Font family name under which the embedded font is registered.
pub const FONT: &str = "sans-serif";

static REGISTER: Once = Once::new();

/// Register the embedded DejaVu Sans (regular, bold, oblique) with plotters. Idempotent.
pub fn register_fonts() {
    REGISTER.call_once(|| {
        // The bytes are static and valid TTF; registration cannot fail for them.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
        let _ = plotters::style::register_font(FONT, FontStyle::Oblique, dejavu::sans::oblique());
        let _ = plotters::style::register_font(FONT, FontStyle::Italic, dejavu::sans::oblique());
    });
}

/// Convert a plotters drawing error into the crate error, naming the output file.
pub fn draw_error<E: std::fmt::Display>(path: &std::path::Path) -> impl Fn(E) -> crate::Error + '_ {
    move |e| crate::Error::Output {
        path: path.to_path_buf(),
        message: format!("drawing failed: {e}"),
    }
}

/// Render a `width x height` PNG with `draw` and save it at `path` atomically: plotters
/// writes a temporary `.png` beside the target, which is renamed over it only on success.
pub fn render_png<F>(path: &std::path::Path, width: u32, height: u32, draw: F) -> crate::Result<()>
where
    F: FnOnce(
        &plotters::drawing::DrawingArea<
            plotters::prelude::BitMapBackend<'_>,
            plotters::coord::Shift,
        >,
    ) -> crate::Result<()>,
{
    use plotters::prelude::*;
    register_fonts();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "figure.png".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}.png", std::process::id()));
    let result = (|| {
        let root = BitMapBackend::new(&tmp, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error(path))?;
        draw(&root)?;
        root.present().map_err(draw_error(path))?;
        drop(root);
        std::fs::rename(&tmp, path).map_err(|e| crate::Error::Output {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
