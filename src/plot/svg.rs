//! A plotters drawing backend writing self-contained SVG, and the figure backend that draws
//! one chart either as PNG or as SVG.
//!
//! [`SvgBackend`] writes lines, rectangles, polylines, circles and polygons as SVG paths
//! (consecutive opaque shapes of one colour and stroke merged into one `<path>`), and **text as
//! glyph outlines** of the embedded DejaVu Sans (no `<text>` element, no font needed by the
//! viewer). Glyphs are placed with the layout plotters uses for the PNG: the same layout box,
//! anchors, advance widths, kerning and the same per-glyph pixel offsets, so a label lands where
//! the bitmap backend puts it. Raster-like content — a run of at least [`RASTER_RUN`]
//! consecutive filled rectangles (heat maps, sphere maps), single pixels, and `blit_bitmap` — is
//! embedded as a base64 PNG `<image>` at its place in the drawing order, so files stay small.
//!
//! Coordinates follow the bitmap convention: pixel `(x, y)` covers `[x, x+1] × [y, y+1]`, so
//! strokes are drawn through pixel centres (`x + 0.5`) and a filled rectangle from `(x0, y0)` to
//! `(x1, y1)` covers `[x0, x1] × [y0, y1]`, as in the PNG.

use ab_glyph::{Font, FontRef, OutlineCurve, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};
use plotters_bitmap::{BitMapBackend, BitMapBackendError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Number of consecutive filled rectangles from which they are embedded as one PNG image
/// instead of SVG shapes (a heat map or sphere map is drawn as thousands of cells).
pub const RASTER_RUN: usize = 256;

/// Error of the SVG backend: the file could not be written or an image not encoded.
#[derive(Debug)]
pub struct SvgError(pub String);

impl std::fmt::Display for SvgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SvgError {}

/// How a merged path is painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paint {
    Fill((u8, u8, u8)),
    Stroke((u8, u8, u8), u32),
    /// Filled discs of the given diameter, written as zero-length round-capped strokes
    /// (`M x y h0`: a quarter of the bytes of a two-arc circle).
    Dot((u8, u8, u8), u32),
}

/// One filled axis-aligned rectangle `[x0, x1) × [y0, y1)` in pixels.
#[derive(Clone, Copy)]
struct Cell {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    color: BackendColor,
}

/// SVG drawing backend with text converted to glyph outlines (see the module documentation).
pub struct SvgBackend {
    target: Option<PathBuf>,
    size: (u32, u32),
    body: String,
    pending: Option<(Paint, String)>,
    /// Centres of the discs in the pending path (an opaque disc drawn again is dropped).
    dots: std::collections::HashSet<(i32, i32)>,
    cells: Vec<Cell>,
    images: usize,
    saved: bool,
}

impl SvgBackend {
    /// A backend of `size` pixels that writes its document to `path` on `present`.
    pub fn new(path: &Path, size: (u32, u32)) -> Self {
        let mut b = Self::in_memory(size);
        b.target = Some(path.to_path_buf());
        b
    }

    /// A backend that keeps its document in memory (read it with [`SvgBackend::document`]).
    pub fn in_memory(size: (u32, u32)) -> Self {
        Self {
            target: None,
            size,
            body: String::new(),
            pending: None,
            dots: std::collections::HashSet::new(),
            cells: Vec::new(),
            images: 0,
            saved: false,
        }
    }

    /// Number of embedded raster images written so far.
    pub fn images(&self) -> usize {
        self.images
    }

    /// The complete SVG document of everything drawn so far.
    pub fn document(&mut self) -> Result<String, SvgError> {
        self.flush()?;
        let (w, h) = self.size;
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\">\n<g stroke-linejoin=\"round\" stroke-linecap=\"round\">\n{}</g>\n</svg>\n",
            self.body
        ))
    }

    fn flush(&mut self) -> Result<(), SvgError> {
        self.flush_cells()?;
        self.flush_pending();
        Ok(())
    }

    fn flush_pending(&mut self) {
        self.dots.clear();
        if let Some((paint, d)) = self.pending.take() {
            self.body += &element(paint, 1.0, &d, None);
        }
    }

    /// Emit the pending run of filled rectangles: as one PNG image when it is long, else as
    /// shapes.
    fn flush_cells(&mut self) -> Result<(), SvgError> {
        if self.cells.is_empty() {
            return Ok(());
        }
        let cells = std::mem::take(&mut self.cells);
        if cells.len() < RASTER_RUN {
            for c in cells {
                let d = format!("M{} {}H{}V{}H{}Z", c.x0, c.y0, c.x1, c.y1, c.x0);
                self.shape(Paint::Fill(c.color.rgb), c.color.alpha, d);
            }
            return Ok(());
        }
        self.flush_pending();
        let (w, h) = (self.size.0 as i32, self.size.1 as i32);
        let x0 = cells.iter().map(|c| c.x0).min().unwrap_or(0).max(0);
        let y0 = cells.iter().map(|c| c.y0).min().unwrap_or(0).max(0);
        let x1 = cells.iter().map(|c| c.x1).max().unwrap_or(0).min(w);
        let y1 = cells.iter().map(|c| c.y1).max().unwrap_or(0).min(h);
        if x0 >= x1 || y0 >= y1 {
            return Ok(());
        }
        let (iw, ih) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut rgba = vec![0f32; iw * ih * 4];
        for c in &cells {
            let a = c.color.alpha.clamp(0.0, 1.0) as f32;
            if a <= 0.0 {
                continue;
            }
            let (r, g, b) = c.color.rgb;
            let src = [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0];
            for y in c.y0.max(y0)..c.y1.min(y1) {
                for x in c.x0.max(x0)..c.x1.min(x1) {
                    let i = ((y - y0) as usize * iw + (x - x0) as usize) * 4;
                    let da = rgba[i + 3];
                    let oa = a + da * (1.0 - a);
                    for k in 0..3 {
                        rgba[i + k] = (src[k] * a + rgba[i + k] * da * (1.0 - a)) / oa;
                    }
                    rgba[i + 3] = oa;
                }
            }
        }
        let bytes: Vec<u8> = rgba
            .iter()
            .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        let png = encode_png(&bytes, iw as u32, ih as u32, png::ColorType::Rgba)?;
        self.image(x0, y0, iw as u32, ih as u32, &png);
        Ok(())
    }

    fn image(&mut self, x: i32, y: i32, w: u32, h: u32, png: &[u8]) {
        self.images += 1;
        let _ = writeln!(
            self.body,
            "<image x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" \
             image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" \
             xlink:href=\"data:image/png;base64,{}\"/>",
            base64(png)
        );
    }

    /// Add a shape: merged into the pending path when opaque and painted alike.
    fn shape(&mut self, paint: Paint, alpha: f64, d: String) {
        if alpha <= 0.0 {
            return;
        }
        if alpha < 1.0 {
            self.flush_pending();
            self.body += &element(paint, alpha, &d, None);
            return;
        }
        match &mut self.pending {
            Some((p, buf)) if *p == paint && buf.len() < 200_000 => buf.push_str(&d),
            _ => {
                self.flush_pending();
                self.pending = Some((paint, d));
            }
        }
    }

    /// Start a vector shape: the pending rectangles go first, in drawing order.
    fn vector(&mut self) -> Result<(), DrawingErrorKind<SvgError>> {
        self.flush_cells().map_err(DrawingErrorKind::DrawingError)
    }
}

/// One `<path>` element.
fn element(paint: Paint, alpha: f64, d: &str, label: Option<&str>) -> String {
    let opacity = if alpha < 1.0 {
        format!(" opacity=\"{}\"", num(alpha))
    } else {
        String::new()
    };
    let label = label
        .map(|l| format!(" aria-label=\"{}\"", xml_escape(l)))
        .unwrap_or_default();
    match paint {
        Paint::Fill(c) => format!("<path{label} fill=\"{}\"{opacity} d=\"{d}\"/>\n", hex(c)),
        Paint::Stroke(c, w) => format!(
            "<path fill=\"none\" stroke=\"{}\" stroke-width=\"{w}\"{opacity} d=\"{d}\"/>\n",
            hex(c)
        ),
        Paint::Dot(c, w) => format!(
            "<path fill=\"none\" stroke=\"{}\" stroke-width=\"{w}\"{opacity} d=\"{d}\"/>\n",
            hex(c)
        ),
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A number with at most two decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn encode_png(data: &[u8], w: u32, h: u32, color: png::ColorType) -> Result<Vec<u8>, SvgError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc
            .write_header()
            .map_err(|e| SvgError(format!("PNG encoding failed: {e}")))?;
        writer
            .write_image_data(data)
            .map_err(|e| SvgError(format!("PNG encoding failed: {e}")))?;
    }
    Ok(out)
}

/// The embedded DejaVu Sans face for a plotters font style (bold, oblique/italic, regular).
pub fn face(style: FontStyle) -> &'static FontRef<'static> {
    static FACES: OnceLock<[FontRef<'static>; 3]> = OnceLock::new();
    let faces = FACES.get_or_init(|| {
        // The bytes are the static, valid DejaVu TTFs also registered with plotters.
        let load = |b: &'static [u8]| FontRef::try_from_slice(b).expect("embedded DejaVu Sans");
        [
            load(dejavu::sans::regular()),
            load(dejavu::sans::bold()),
            load(dejavu::sans::oblique()),
        ]
    });
    match style {
        FontStyle::Bold => &faces[1],
        FontStyle::Oblique | FontStyle::Italic => &faces[2],
        FontStyle::Normal => &faces[0],
    }
}

/// Path data (`M`, `L`, `Q`, `C`, `Z`; one subpath per contour, nonzero fill) of the outline of
/// `text` in `face` at pixel size `size`, laid out exactly as plotters' ab_glyph text renderer
/// lays out its pixels (same advances, kerning and per-glyph integer offsets). `map` takes a
/// point in the renderer's local pixel frame (origin at the top left of the text box) to the
/// output coordinates.
pub fn text_outline(
    face: &FontRef<'static>,
    size: f64,
    text: &str,
    map: impl Fn(f64, f64) -> (f64, f64),
) -> String {
    let font = face.as_scaled(size as f32);
    let (hs, vs) = (font.h_scale_factor() as f64, font.v_scale_factor() as f64);
    let mut d = String::new();
    let mut x_shift = 0f32;
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if let Some(pc) = prev {
            x_shift += font.kern(font.glyph_id(pc), font.glyph_id(c));
        }
        prev = Some(c);
        let glyph = font.scaled_glyph(c);
        if let Some(q) = font.outline_glyph(glyph) {
            let rect = q.px_bounds();
            // plotters draws the glyph's pixel (x, y) at (x + x_shift, y + y_shift), where the
            // bitmap's pixel (0, 0) is px_bounds.min.
            let y_shift = ((size as f32) / 2.0 + rect.min.y) as i32;
            let ox = (x_shift as i32) as f64 - rect.min.x as f64;
            let oy = y_shift as f64 - rect.min.y as f64;
            let pt = |p: &ab_glyph::Point| {
                let (x, y) = map(p.x as f64 * hs + ox, -(p.y as f64) * vs + oy);
                format!("{} {}", num(x), num(y))
            };
            if let Some(outline) = face.outline(font.glyph_id(c)) {
                let mut last: Option<ab_glyph::Point> = None;
                for curve in &outline.curves {
                    let (start, end) = match curve {
                        OutlineCurve::Line(a, b) => (*a, *b),
                        OutlineCurve::Quad(a, _, b) => (*a, *b),
                        OutlineCurve::Cubic(a, _, _, b) => (*a, *b),
                    };
                    if last != Some(start) {
                        if last.is_some() {
                            d.push('Z');
                        }
                        d += &format!("M{}", pt(&start));
                    }
                    match curve {
                        OutlineCurve::Line(_, b) => d += &format!("L{}", pt(b)),
                        OutlineCurve::Quad(_, c1, b) => d += &format!("Q{} {}", pt(c1), pt(b)),
                        OutlineCurve::Cubic(_, c1, c2, b) => {
                            d += &format!("C{} {} {}", pt(c1), pt(c2), pt(b))
                        }
                    }
                    last = Some(end);
                }
                if last.is_some() {
                    d.push('Z');
                }
            }
        }
        x_shift += font.h_advance(font.glyph_id(c));
    }
    d
}

/// Continuous version of plotters' pixel rotation `f` of the text: pixel centres go to pixel
/// centres, `g(p) = f(p − ½) + ½`.
fn rotate(t: &FontTransform, x: f64, y: f64) -> (f64, f64) {
    match t {
        FontTransform::None => (x, y),
        FontTransform::Rotate90 => (1.0 - y, x),
        FontTransform::Rotate180 => (1.0 - x, 1.0 - y),
        FontTransform::Rotate270 => (y, 1.0 - x),
    }
}

fn svg_err<E: std::fmt::Display>(e: E) -> DrawingErrorKind<SvgError> {
    DrawingErrorKind::DrawingError(SvgError(e.to_string()))
}

/// SVG path data `M x y L x y ...` through the centres of the pixels `points`, and their
/// number.
fn polyline(points: impl IntoIterator<Item = BackendCoord>) -> (String, usize) {
    let mut d = String::new();
    let mut n = 0;
    for (x, y) in points {
        let _ = write!(d, "{}{x}.5 {y}.5", if n == 0 { 'M' } else { 'L' });
        n += 1;
    }
    (d, n)
}

impl DrawingBackend for SvgBackend {
    type ErrorType = SvgError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<SvgError>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<SvgError>> {
        let doc = self.document().map_err(DrawingErrorKind::DrawingError)?;
        if let Some(path) = &self.target {
            std::fs::write(path, doc).map_err(svg_err)?;
        }
        self.saved = true;
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        (x, y): BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        if color.alpha > 0.0 {
            self.flush_pending();
            self.cells.push(Cell {
                x0: x,
                y0: y,
                x1: x + 1,
                y1: y + 1,
                color,
            });
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        self.vector()?;
        let c = style.color();
        let d = format!("M{}.5 {}.5L{}.5 {}.5", from.0, from.1, to.0, to.1);
        self.shape(Paint::Stroke(c.rgb, style.stroke_width()), c.alpha, d);
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = style.color();
        if c.alpha <= 0.0 {
            return Ok(());
        }
        let (x0, x1) = (ul.0.min(br.0), ul.0.max(br.0));
        let (y0, y1) = (ul.1.min(br.1), ul.1.max(br.1));
        if fill {
            if x0 < x1 && y0 < y1 {
                self.cells.push(Cell {
                    x0,
                    y0,
                    x1,
                    y1,
                    color: c,
                });
            }
            return Ok(());
        }
        self.vector()?;
        let d = format!("M{x0}.5 {y0}.5H{x1}.5V{y1}.5H{x0}.5Z");
        self.shape(Paint::Stroke(c.rgb, style.stroke_width()), c.alpha, d);
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = style.color();
        if c.alpha <= 0.0 {
            return Ok(());
        }
        self.vector()?;
        let (d, n) = polyline(path);
        if n >= 2 {
            self.shape(Paint::Stroke(c.rgb, style.stroke_width()), c.alpha, d);
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = style.color();
        if c.alpha <= 0.0 {
            return Ok(());
        }
        self.vector()?;
        if fill {
            // A filled bitmap disc of radius r covers the pixels within r of the centre pixel,
            // i.e. radius r + ½ about the centre pixel's middle: a zero-length round-capped
            // stroke of width 2r + 1 through it.
            let paint = Paint::Dot(c.rgb, 2 * radius + 1);
            let same = matches!(&self.pending, Some((p, _)) if *p == paint);
            if c.alpha >= 1.0 && same && self.dots.contains(&center) {
                return Ok(());
            }
            let d = format!("M{}.5 {}.5h0", center.0, center.1);
            self.shape(paint, c.alpha, d);
            if c.alpha >= 1.0 {
                self.dots.insert(center);
            }
            return Ok(());
        }
        let r = radius as f64;
        let (cx, cy) = (center.0 as f64 + 0.5, center.1 as f64 + 0.5);
        let d = format!(
            "M{} {}a{r2} {r2} 0 1 0 {d2} 0a{r2} {r2} 0 1 0 -{d2} 0Z",
            num(cx - r),
            num(cy),
            r2 = num(r),
            d2 = num(2.0 * r)
        );
        let paint = Paint::Stroke(c.rgb, style.stroke_width());
        self.shape(paint, c.alpha, d);
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let c = style.color();
        if c.alpha <= 0.0 {
            return Ok(());
        }
        self.vector()?;
        let (mut d, n) = polyline(vert);
        if n >= 3 {
            d.push('Z');
            self.shape(Paint::Fill(c.rgb), c.alpha, d);
        }
        Ok(())
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        let color = style.color();
        if color.alpha <= 0.0 {
            return Ok(());
        }
        self.vector()?;
        self.flush_pending();
        // The anchor arithmetic of plotters' default (bitmap) text drawing, in integers.
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (sx, sy) = ((dx - min_x) as f64, (dy - min_y) as f64);
        let d = text_outline(face(style.style()), style.size(), text, |x, y| {
            let (x, y) = rotate(&trans, x + sx, y + sy);
            (x + pos.0 as f64, y + pos.1 as f64)
        });
        if !d.is_empty() {
            self.body += &element(Paint::Fill(color.rgb), color.alpha, &d, Some(text));
        }
        Ok(())
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<SvgError>> {
        self.vector()?;
        self.flush_pending();
        let n = (iw * ih * 3) as usize;
        if src.len() < n {
            return Err(svg_err("bitmap smaller than its declared size"));
        }
        let png = encode_png(&src[..n], iw, ih, png::ColorType::Rgb)
            .map_err(DrawingErrorKind::DrawingError)?;
        self.image(pos.0, pos.1, iw, ih, &png);
        Ok(())
    }
}

/// Error of [`FigureBackend`]: from the bitmap or the SVG backend.
#[derive(Debug)]
pub enum FigureError {
    /// Bitmap backend error.
    Png(BitMapBackendError),
    /// SVG backend error.
    Svg(SvgError),
}

impl std::fmt::Display for FigureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FigureError::Png(e) => write!(f, "{e}"),
            FigureError::Svg(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FigureError {}

/// The backend of every static figure: the same drawing code renders a PNG or an SVG.
pub enum FigureBackend<'a> {
    /// Raster output (plotters' bitmap backend).
    Png(BitMapBackend<'a>),
    /// Vector output ([`SvgBackend`]).
    Svg(SvgBackend),
}

fn lift<E: std::error::Error + Send + Sync>(
    e: DrawingErrorKind<E>,
    f: impl FnOnce(E) -> FigureError,
) -> DrawingErrorKind<FigureError> {
    match e {
        DrawingErrorKind::DrawingError(e) => DrawingErrorKind::DrawingError(f(e)),
        DrawingErrorKind::FontError(e) => DrawingErrorKind::FontError(e),
    }
}

macro_rules! delegate {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            FigureBackend::Png($b) => $call.map_err(|e| lift(e, FigureError::Png)),
            FigureBackend::Svg($b) => $call.map_err(|e| lift(e, FigureError::Svg)),
        }
    };
}

impl DrawingBackend for FigureBackend<'_> {
    type ErrorType = FigureError;

    fn get_size(&self) -> (u32, u32) {
        match self {
            FigureBackend::Png(b) => b.get_size(),
            FigureBackend::Svg(b) => b.get_size(),
        }
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.ensure_prepared())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.present())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_pixel(point, color))
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_line(from, to, style))
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        ul: BackendCoord,
        br: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_rect(ul, br, style, fill))
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_path(path, style))
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_circle(center, radius, style, fill))
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.fill_polygon(vert, style))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.draw_text(text, style, pos))
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.estimate_text_size(text, style))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<FigureError>> {
        delegate!(self, b => b.blit_bitmap(pos, size, src))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        // RFC 4648, section 10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    /// Number of contours (subpaths) of one glyph's outline.
    fn contours(c: char) -> usize {
        let d = text_outline(face(FontStyle::Normal), 40.0, &c.to_string(), |x, y| (x, y));
        d.matches('M').count()
    }

    #[test]
    fn glyph_outlines_have_the_letters_contours() {
        // Topology of the letter shapes: 'o' is a ring (outer and inner contour), 'l' one
        // stroke, 'B' and '8' have two counters, 'i' a stem and a dot.
        assert_eq!(contours('o'), 2);
        assert_eq!(contours('l'), 1);
        assert_eq!(contours('B'), 3);
        assert_eq!(contours('8'), 3);
        assert_eq!(contours('i'), 2);
        assert_eq!(contours(' '), 0);
        let d = text_outline(face(FontStyle::Normal), 40.0, "o", |x, y| (x, y));
        assert!(d.contains('Q'), "TrueType outlines are quadratic: {d}");
    }

    #[test]
    fn glyph_outline_has_the_font_metrics() {
        // 'H' at size 124 px: ab_glyph's scale is the line height (ascent − descent), and
        // DejaVu Sans has unitsPerEm 2048, ascent 1901, descent −483, cap height 1493 units
        // (the font's OS/2 table). The cap height in pixels must be 1493 / (1901 + 483) × 124.
        let size = 124.0;
        let d = text_outline(face(FontStyle::Normal), size, "H", |x, y| (x, y));
        let ys: Vec<f64> = d
            .split(|c: char| c.is_ascii_alphabetic())
            .filter(|s| !s.is_empty())
            .flat_map(|s| {
                let v: Vec<f64> = s.split(' ').filter_map(|t| t.parse().ok()).collect();
                v.chunks(2).map(|p| p[1]).collect::<Vec<_>>()
            })
            .collect();
        let h = ys.iter().cloned().fold(f64::MIN, f64::max)
            - ys.iter().cloned().fold(f64::MAX, f64::min);
        let expect = 1493.0 / (1901.0 + 483.0) * size;
        assert!((h - expect).abs() < 0.05, "cap height {h} vs {expect}");
    }

    #[test]
    fn repeated_opaque_dots_are_written_once() {
        use plotters::prelude::*;
        let mut b = SvgBackend::in_memory((50, 50));
        for _ in 0..3 {
            b.draw_circle((10, 10), 2, &RED, true).unwrap();
        }
        b.draw_circle((20, 10), 2, &RED, true).unwrap();
        b.draw_circle((10, 10), 2, &BLUE, true).unwrap();
        let doc = b.document().unwrap();
        assert!(
            doc.contains("stroke=\"#ff0000\" stroke-width=\"5\" d=\"M10.5 10.5h0M20.5 10.5h0\""),
            "{doc}"
        );
        assert!(doc.contains("stroke=\"#0000ff\" stroke-width=\"5\" d=\"M10.5 10.5h0\""));
    }

    #[test]
    fn long_rect_runs_become_one_image_short_ones_shapes() {
        use plotters::prelude::*;
        let mut b = SvgBackend::in_memory((100, 100));
        for i in 0..(RASTER_RUN as i32 + 4) {
            let (x, y) = (i % 50, i / 50);
            b.draw_rect((x, y), (x + 1, y + 1), &RED, true).unwrap();
        }
        b.draw_line((0, 50), (99, 50), &BLACK).unwrap();
        b.draw_rect((10, 60), (20, 70), &BLUE, true).unwrap();
        let doc = b.document().unwrap();
        assert_eq!(b.images(), 1);
        assert_eq!(doc.matches("<image").count(), 1);
        assert!(
            doc.contains("fill=\"#0000ff\" d=\"M10 60H20V70H10Z\""),
            "{doc}"
        );
        // Drawing order kept: image, then the line, then the blue square.
        let (i, l, s) = (
            doc.find("<image").unwrap(),
            doc.find("stroke=\"#000000\"").unwrap(),
            doc.find("#0000ff").unwrap(),
        );
        assert!(i < l && l < s);
    }
}
