//! Figures with plotters, rendered with the DejaVu Sans font embedded in the binary.
//!
//! Call [`register_fonts`] (idempotent) before drawing; every chart then uses the family
//! [`FONT`], so a machine without any system font renders all labels, Greek letters included.

pub mod chart;
pub mod linear;
pub mod movie;
pub mod noise;
pub mod noise_compare;
pub mod rundir;
pub mod runplots;
pub mod svg;

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

/// Output format of the static figures: PNG (default), SVG, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureFormat {
    /// Raster PNG only.
    #[default]
    Png,
    /// Vector SVG only (text as glyph outlines, raster parts as embedded PNG images).
    Svg,
    /// Both, with the same file stem.
    Both,
}

impl FigureFormat {
    /// The accepted spellings, for error messages.
    pub const ACCEPTED: &'static str = "png, svg, both";

    /// Whether the PNG is written.
    pub fn png(self) -> bool {
        matches!(self, FigureFormat::Png | FigureFormat::Both)
    }

    /// Whether the SVG is written.
    pub fn svg(self) -> bool {
        matches!(self, FigureFormat::Svg | FigureFormat::Both)
    }

    /// The files a figure at `png_path` (a `.png` path) is written to in this format.
    pub fn files(self, png_path: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut v = Vec::new();
        if self.png() {
            v.push(png_path.to_path_buf());
        }
        if self.svg() {
            v.push(png_path.with_extension("svg"));
        }
        v
    }
}

impl std::str::FromStr for FigureFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "png" => Ok(FigureFormat::Png),
            "svg" => Ok(FigureFormat::Svg),
            "both" => Ok(FigureFormat::Both),
            _ => Err(format!("accepted values: {}", FigureFormat::ACCEPTED)),
        }
    }
}

static FORMAT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Set the process-wide format of [`render_figure`] (the command line's `--format`).
pub fn set_figure_format(format: FigureFormat) {
    let v = match format {
        FigureFormat::Png => 0,
        FigureFormat::Svg => 1,
        FigureFormat::Both => 2,
    };
    FORMAT.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// The process-wide figure format (PNG unless [`set_figure_format`] changed it).
pub fn figure_format() -> FigureFormat {
    match FORMAT.load(std::sync::atomic::Ordering::Relaxed) {
        1 => FigureFormat::Svg,
        2 => FigureFormat::Both,
        _ => FigureFormat::Png,
    }
}

/// Render a `width x height` figure with `draw` in the process-wide [`figure_format`]: the PNG
/// at `path` (a `.png` path) and/or the SVG beside it (same stem, `.svg`). See
/// [`render_figure_as`].
pub fn render_figure<F>(
    path: &std::path::Path,
    width: u32,
    height: u32,
    draw: F,
) -> crate::Result<()>
where
    F: FnMut(&chart::Area<'_>) -> crate::Result<()>,
{
    render_figure_as(path, width, height, figure_format(), draw)
}

/// Render a `width x height` figure with `draw` (called once per output format) as `format`,
/// each file saved atomically: written to a temporary file beside the target, renamed over it
/// only on success.
pub fn render_figure_as<F>(
    path: &std::path::Path,
    width: u32,
    height: u32,
    format: FigureFormat,
    mut draw: F,
) -> crate::Result<()>
where
    F: FnMut(&chart::Area<'_>) -> crate::Result<()>,
{
    use plotters::prelude::*;
    use svg::FigureBackend;
    register_fonts();
    for target in format.files(path) {
        let svg = target.extension().is_some_and(|e| e == "svg");
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "figure".into());
        let ext = if svg { "svg" } else { "png" };
        let tmp = target.with_file_name(format!(".{name}.tmp-{}.{ext}", std::process::id()));
        let result = (|| {
            let backend = if svg {
                FigureBackend::Svg(svg::SvgBackend::new(&tmp, (width, height)))
            } else {
                FigureBackend::Png(BitMapBackend::new(&tmp, (width, height)))
            };
            let root = backend.into_drawing_area();
            root.fill(&WHITE).map_err(draw_error(&target))?;
            draw(&root)?;
            root.present().map_err(draw_error(&target))?;
            drop(root);
            std::fs::rename(&tmp, &target).map_err(|e| crate::Error::Output {
                path: target.clone(),
                message: e.to_string(),
            })
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return result;
        }
    }
    Ok(())
}

/// Unicode subscript of `c`, if the alphabet has one (DejaVu Sans draws all of them).
fn subscript(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => char::from_u32(0x2080 + (c as u32 - '0' as u32))?,
        'a' => 'ₐ',
        'e' => 'ₑ',
        'h' => 'ₕ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'o' => 'ₒ',
        'p' => 'ₚ',
        'r' => 'ᵣ',
        's' => 'ₛ',
        't' => 'ₜ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'x' => 'ₓ',
        'β' => 'ᵦ',
        'γ' => 'ᵧ',
        'ρ' => 'ᵨ',
        '+' => '₊',
        '-' => '₋',
        _ => return None,
    })
}

/// Unicode superscript of `c`, if the alphabet has one.
fn superscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4'..='9' => char::from_u32(0x2074 + (c as u32 - '4' as u32))?,
        'n' => 'ⁿ',
        'k' => 'ᵏ',
        'l' => 'ˡ',
        't' => 'ᵗ',
        'β' => 'ᵝ',
        '-' | '−' => '⁻',
        '+' => '⁺',
        _ => return None,
    })
}

/// Typeset ASCII-style indices as real sub- and superscripts for figure text: `γ_l` → `γₗ`,
/// `ρ_lin` → `ρₗᵢₙ`, `_{l+1}` → `ₗ₊₁`, `e^β` → `eᵝ`, `10^4` → `10⁴`. An index (a braced group,
/// or the letters/digits after `_` or `^`) is converted only when every character of it has a
/// Unicode form; otherwise the text is kept as it is (`E_N` stays `E_N`).
pub fn typeset(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let map: Option<fn(char) -> Option<char>> = match c {
            '_' => Some(subscript),
            '^' => Some(superscript),
            _ => None,
        };
        if let (Some(map), true) = (map, i > 0 && i + 1 < chars.len()) {
            let (body, next): (Vec<char>, usize) = if chars[i + 1] == '{' {
                match chars[i + 2..].iter().position(|&x| x == '}') {
                    Some(p) => (chars[i + 2..i + 2 + p].to_vec(), i + 3 + p),
                    None => (Vec::new(), i + 1),
                }
            } else {
                let body: Vec<char> = chars[i + 1..]
                    .iter()
                    .take_while(|x| x.is_alphanumeric())
                    .copied()
                    .collect();
                let n = body.len();
                (body, i + 1 + n)
            };
            let mapped: Option<String> = if body.is_empty() {
                None
            } else {
                body.iter().map(|&x| map(x)).collect()
            };
            if let Some(m) = mapped {
                out += &m;
                i = next;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod typeset_tests {
    use super::typeset;

    #[test]
    fn indices_become_sub_and_superscripts() {
        assert_eq!(typeset("γ_l / γ_l*"), "γₗ / γₗ*");
        assert_eq!(typeset("ρ_lin at T"), "ρₗᵢₙ at T");
        assert_eq!(typeset("τ = e^β t"), "τ = eᵝ t");
        assert_eq!(typeset("C_{l+1}(t)"), "Cₗ₊₁(t)");
        assert_eq!(typeset("10^4 tokens"), "10⁴ tokens");
        // No Unicode subscript N: kept as written.
        assert_eq!(typeset("E_N"), "E_N");
        assert_eq!(typeset("a_"), "a_");
        assert_eq!(typeset("_x"), "_x");
    }
}
