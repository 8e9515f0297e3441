//! Small reusable chart types on top of plotters: line charts with linear or log axes, shaded
//! bands and reference lines; heat maps with a colour bar; and equal-area (Hammer) maps of
//! a function on the 2-sphere with points overlaid.
//!
//! Log axes are drawn in `log10` coordinates with tick labels mapped back, so one code path
//! serves every combination of axis scales.

use super::{draw_error, typeset, FONT};
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A drawing area of the figure backend (PNG or SVG, see [`super::svg::FigureBackend`]).
pub type Area<'a> = DrawingArea<super::svg::FigureBackend<'a>, Shift>;

/// Colour `i` of the categorical palette: Okabe–Ito (distinguishable under the common forms of
/// colour-vision deficiency), without its yellow, which is unreadable on white.
pub fn palette(i: usize) -> RGBColor {
    const C: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(213, 94, 0),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
    ];
    C[i % C.len()]
}

/// Axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (data must be positive; non-positive points are dropped).
    Log,
}

/// One axis: label, scale and data range `(lo, hi)` in data units.
#[derive(Clone, Debug)]
pub struct Axis {
    /// Axis description, with units.
    pub label: String,
    /// Scale.
    pub scale: Scale,
    /// Range in data units.
    pub range: (f64, f64),
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self {
            label: label.into(),
            scale: Scale::Linear,
            range: (lo, hi),
        }
    }

    /// A log axis.
    pub fn log(label: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self {
            label: label.into(),
            scale: Scale::Log,
            range: (lo, hi),
        }
    }

    fn map(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => v.is_finite().then_some(v),
            Scale::Log => (v > 0.0 && v.is_finite()).then(|| v.log10()),
        }
    }

    fn mapped_range(&self) -> std::ops::Range<f64> {
        let (lo, hi) = self.range;
        match self.scale {
            Scale::Linear => lo..hi,
            Scale::Log => lo.max(f64::MIN_POSITIVE).log10()..hi.log10(),
        }
    }

    /// Tick text: data value for linear axes; for log axes only whole decades are labelled.
    fn tick(&self, v: f64) -> String {
        match self.scale {
            // ticks generated as lo + k step carry rounding: a tick within 1e-9 of the span
            // from zero is zero (not "-2.78e-17")
            Scale::Linear if v.abs() <= 1e-9 * (self.range.1 - self.range.0).abs() => {
                tick_text(0.0)
            }
            Scale::Linear => tick_text(v),
            Scale::Log if (v - v.round()).abs() < 1e-9 => tick_text(10f64.powf(v.round())),
            Scale::Log => String::new(),
        }
    }
}

/// Compact tick text: integers without decimals, otherwise up to 3 significant digits.
pub fn tick_text(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e5).contains(&a) {
        if (x - x.round()).abs() < 1e-9 * a.max(1.0) {
            format!("{}", x.round())
        } else {
            let digits = (2 - a.log10().floor() as i32).max(0) as usize;
            let s = format!("{x:.digits$}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    } else {
        let k = a.log10().floor();
        let m = x / 10f64.powf(k);
        if (m - m.round()).abs() < 1e-9 {
            format!("{}e{k}", m.round())
        } else {
            format!("{m:.2}e{k}")
        }
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    /// Solid line of the given width.
    Line(u32),
    /// Dashed line of the given width.
    Dashed(u32),
    /// Filled circles of the given radius.
    Points(u32),
    /// Solid line with filled circles.
    LinePoints(u32, u32),
}

/// A data series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text (`None`: not in the legend).
    pub label: Option<String>,
    /// Points in data units.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Style.
    pub style: Style,
}

impl Series {
    /// A series with a legend label.
    pub fn new(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        color: RGBColor,
        style: Style,
    ) -> Self {
        Self {
            label: Some(label.into()),
            points,
            color,
            style,
        }
    }

    /// A series without a legend entry.
    pub fn unlabelled(points: Vec<(f64, f64)>, color: RGBColor, style: Style) -> Self {
        Self {
            label: None,
            points,
            color,
            style,
        }
    }
}

/// A shaded band between `lower` and `upper` (same abscissae).
#[derive(Clone, Debug)]
pub struct Band {
    /// `(x, y_low)`.
    pub lower: Vec<(f64, f64)>,
    /// `(x, y_high)`.
    pub upper: Vec<(f64, f64)>,
    /// Colour (drawn at 25% opacity).
    pub color: RGBColor,
}

/// A line chart.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Caption above the plot.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Series, drawn in order.
    pub series: Vec<Series>,
    /// Shaded bands, drawn first.
    pub bands: Vec<Band>,
    /// Vertical reference lines `(x, colour)` (dashed).
    pub vlines: Vec<(f64, RGBColor)>,
    /// Legend position.
    pub legend: SeriesLabelPosition,
}

impl LineChart {
    /// An empty chart with the given title and axes; legend at the upper right.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Self {
            title: title.into(),
            x,
            y,
            series: Vec::new(),
            bands: Vec::new(),
            vlines: Vec::new(),
            legend: SeriesLabelPosition::UpperRight,
        }
    }

    fn map_points(&self, pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
        pts.iter()
            .filter_map(|&(a, b)| Some((self.x.map(a)?, self.y.map(b)?)))
            .collect()
    }

    /// Draw on `area`; `path` names the output in error messages.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        path: &Path,
    ) -> Result<()> {
        let err = draw_error(path);
        let (xdesc, ydesc) = (typeset(&self.x.label), typeset(&self.y.label));
        let mut chart = ChartBuilder::on(area)
            .caption(typeset(&self.title), (FONT, 20))
            .margin(12)
            .margin_right(25)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(self.x.mapped_range(), self.y.mapped_range())
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc(xdesc.as_str())
            .y_desc(ydesc.as_str())
            .x_label_formatter(&|v| self.x.tick(*v))
            .y_label_formatter(&|v| self.y.tick(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(&err)?;
        for b in &self.bands {
            let mut poly = self.map_points(&b.lower);
            let mut up = self.map_points(&b.upper);
            up.reverse();
            poly.extend(up);
            if poly.len() >= 3 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        b.color.mix(0.25).filled(),
                    )))
                    .map_err(&err)?;
            }
        }
        let yr = self.y.mapped_range();
        for &(x, c) in &self.vlines {
            if let Some(xm) = self.x.map(x) {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(xm, yr.start), (xm, yr.end)],
                        6,
                        5,
                        c.stroke_width(1),
                    ))
                    .map_err(&err)?;
            }
        }
        let mut any_label = false;
        for s in &self.series {
            let pts = self.map_points(&s.points);
            let c = s.color;
            let (anno, width) = match s.style {
                Style::Line(w) => (
                    chart.draw_series(LineSeries::new(pts, c.stroke_width(w))),
                    w,
                ),
                Style::Dashed(w) => (
                    chart.draw_series(DashedLineSeries::new(pts, 8, 5, c.stroke_width(w))),
                    w,
                ),
                Style::Points(r) => (
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, r, c.filled()))),
                    2,
                ),
                Style::LinePoints(w, r) => {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, r, c.filled())))
                        .map_err(&err)?;
                    (
                        chart.draw_series(LineSeries::new(pts, c.stroke_width(w))),
                        w,
                    )
                }
            };
            let anno = anno.map_err(&err)?;
            if let Some(label) = &s.label {
                any_label = true;
                anno.label(typeset(label)).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(width.max(2)))
                });
            }
        }
        if any_label {
            chart
                .configure_series_labels()
                .position(self.legend.clone())
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 14))
                .draw()
                .map_err(&err)?;
        }
        Ok(())
    }
}

/// A heat map of `values[iy * nx + ix]` on a regular grid, with a colour bar.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Caption.
    pub title: String,
    /// Horizontal axis label and range (cell edges).
    pub x: Axis,
    /// Vertical axis label and range (cell edges).
    pub y: Axis,
    /// Cells along x.
    pub nx: usize,
    /// Cells along y.
    pub ny: usize,
    /// Values, row-major with y outer.
    pub values: Vec<f64>,
    /// Colour-bar label.
    pub color_label: String,
    /// Colour range `(lo, hi)`; values outside are clamped.
    pub color_range: (f64, f64),
    /// Curves drawn over the map (white, with a legend), in axis coordinates.
    pub overlays: Vec<(String, Vec<(f64, f64)>)>,
}

impl Heatmap {
    /// Draw on `area` (the right 90 px hold the colour bar).
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        path: &Path,
    ) -> Result<()> {
        let err = draw_error(path);
        let (w, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(95));
        let xr = self.x.range.0..self.x.range.1;
        let yr = self.y.range.0..self.y.range.1;
        let (xdesc, ydesc) = (typeset(&self.x.label), typeset(&self.y.label));
        let mut chart = ChartBuilder::on(&main)
            .caption(typeset(&self.title), (FONT, 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(&err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(xdesc.as_str())
            .y_desc(ydesc.as_str())
            .x_label_formatter(&|v| tick_text(*v))
            .y_label_formatter(&|v| tick_text(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(&err)?;
        let (dx, dy) = (
            (xr.end - xr.start) / self.nx as f64,
            (yr.end - yr.start) / self.ny as f64,
        );
        let (lo, hi) = self.color_range;
        chart
            .draw_series((0..self.ny).flat_map(|iy| {
                (0..self.nx).map(move |ix| {
                    let v = self.values[iy * self.nx + ix];
                    let x0 = xr.start + ix as f64 * dx;
                    let y0 = yr.start + iy as f64 * dy;
                    Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], colormap(v, lo, hi).filled())
                })
            }))
            .map_err(&err)?;
        for (i, (label, pts)) in self.overlays.iter().enumerate() {
            let style = ShapeStyle::from(&WHITE).stroke_width(3);
            let inside: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .filter(|(x, y)| xr.contains(x) && yr.contains(y))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(inside, 10 + 4 * i as u32, 6, style))
                .map_err(&err)?
                .label(typeset(label))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        if !self.overlays.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 14))
                .draw()
                .map_err(&err)?;
        }
        color_bar(&bar, &self.color_label, lo, hi, path)
    }
}

/// Viridis colour of `v` on `[lo, hi]` (clamped; NaN is light grey).
pub fn colormap(v: f64, lo: f64, hi: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(220, 220, 220);
    }
    let h = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    ViridisRGB::get_color(h as f32)
}

/// A vertical colour bar for `[lo, hi]` with a label, filling `area`.
pub fn color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    lo: f64,
    hi: f64,
    path: &Path,
) -> Result<()> {
    let err = draw_error(path);
    let mut chart = ChartBuilder::on(area)
        .margin_top(45)
        .margin_bottom(60)
        .margin_right(5)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(typeset(label))
        .y_label_formatter(&|v| tick_text(*v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(&err)?;
    let n = 128;
    chart
        .draw_series((0..n).map(|i| {
            let a = lo + (hi - lo) * i as f64 / n as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / n as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                colormap(0.5 * (a + b), lo, hi).filled(),
            )
        }))
        .map_err(&err)?;
    Ok(())
}

/// Hammer equal-area projection of longitude `lon` in `[-pi, pi]` and latitude `lat` in
/// `[-pi/2, pi/2]` to `(x, y)` in the ellipse `x^2/8 + y^2/2 <= 1`.
pub fn hammer(lon: f64, lat: f64) -> (f64, f64) {
    let c = (1.0 + lat.cos() * (lon / 2.0).cos()).sqrt();
    (
        2.0 * std::f64::consts::SQRT_2 * lat.cos() * (lon / 2.0).sin() / c,
        std::f64::consts::SQRT_2 * lat.sin() / c,
    )
}

/// Inverse of [`hammer`]; `None` outside the ellipse.
pub fn hammer_inverse(x: f64, y: f64) -> Option<(f64, f64)> {
    if x * x / 8.0 + y * y / 2.0 > 1.0 {
        return None;
    }
    let z = (1.0 - (x / 4.0).powi(2) - (y / 2.0).powi(2)).sqrt();
    let lon = 2.0 * (z * x).atan2(2.0 * (2.0 * z * z - 1.0));
    let lat = (z * y).clamp(-1.0, 1.0).asin();
    Some((lon, lat))
}

/// Largest number of tokens drawn over a sphere map; larger sets are subsampled evenly so that
/// the density underneath stays visible.
pub const MAX_MAP_POINTS: usize = 400;

/// Every `k`-th point of `points` with `k` chosen so that at most `max` remain.
pub fn subsample<T: Copy>(points: &[T], max: usize) -> Vec<T> {
    let stride = points.len().div_ceil(max.max(1)).max(1);
    points.iter().step_by(stride).copied().collect()
}

/// Density (w.r.t. the uniform probability measure) of unit vectors `x` (rows of 3) on the
/// sphere, as a histogram on `nlon x nlat` equal-area cells (longitude x sine of latitude),
/// smoothed by averaging each cell with its 8 neighbours; returned as a function of
/// `(lon, lat)`. Its mean over the sphere is 1.
pub fn sphere_histogram(x: &[f64], nlon: usize, nlat: usize) -> impl Fn(f64, f64) -> f64 + Sync {
    use std::f64::consts::PI;
    let n = (x.len() / 3).max(1);
    let cell = move |lon: f64, lat: f64| -> (usize, usize) {
        let i = (((lon + PI) / (2.0 * PI)) * nlon as f64).floor() as isize;
        let j = (((lat.sin() + 1.0) / 2.0) * nlat as f64).floor() as isize;
        (
            i.rem_euclid(nlon as isize) as usize,
            j.clamp(0, nlat as isize - 1) as usize,
        )
    };
    let mut h = vec![0.0; nlon * nlat];
    for p in x.chunks_exact(3) {
        let (i, j) = cell(p[1].atan2(p[0]), p[2].clamp(-1.0, 1.0).asin());
        h[j * nlon + i] += (nlon * nlat) as f64 / n as f64;
    }
    let mut s = vec![0.0; nlon * nlat];
    for j in 0..nlat {
        for i in 0..nlon {
            let (mut sum, mut cnt) = (0.0, 0.0);
            for dj in -1isize..=1 {
                let jj = j as isize + dj;
                if jj < 0 || jj >= nlat as isize {
                    continue;
                }
                for di in -1isize..=1 {
                    let ii = (i as isize + di).rem_euclid(nlon as isize) as usize;
                    sum += h[jj as usize * nlon + ii];
                    cnt += 1.0;
                }
            }
            s[j * nlon + i] = sum / cnt;
        }
    }
    move |lon, lat| {
        let (i, j) = cell(lon, lat);
        s[j * nlon + i]
    }
}

/// Draw `f(lon, lat)` on an equal-area Hammer map with colour range `(lo, hi)` and overlay
/// `points` (longitude, latitude) as small white dots with a dark rim (at most
/// [`MAX_MAP_POINTS`], subsampled evenly); with a colour bar labelled `color_label`.
pub fn sphere_map<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    f: &(dyn Fn(f64, f64) -> f64 + Sync),
    color_range: (f64, f64),
    color_label: &str,
    points: &[(f64, f64)],
    path: &Path,
) -> Result<()> {
    let err = draw_error(path);
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(90));
    let r2 = 2.0 * std::f64::consts::SQRT_2;
    let s2 = std::f64::consts::SQRT_2;
    let mut chart = ChartBuilder::on(&main)
        .caption(typeset(title), (FONT, 18))
        .margin(8)
        .build_cartesian_2d(-r2 * 1.02..r2 * 1.02, -s2 * 1.05..s2 * 1.05)
        .map_err(&err)?;
    let (pw, ph) = main.dim_in_pixel();
    let (nx, ny) = ((pw as usize).max(2), (ph as usize).max(2));
    let (x0, x1, y0, y1) = (-r2 * 1.02, r2 * 1.02, -s2 * 1.05, s2 * 1.05);
    let (dx, dy) = ((x1 - x0) / nx as f64, (y1 - y0) / ny as f64);
    let (lo, hi) = color_range;
    let cells: Vec<((f64, f64), RGBColor)> = (0..ny)
        .flat_map(|iy| (0..nx).map(move |ix| (ix, iy)))
        .filter_map(|(ix, iy)| {
            let (x, y) = (x0 + (ix as f64 + 0.5) * dx, y0 + (iy as f64 + 0.5) * dy);
            let (lon, lat) = hammer_inverse(x, y)?;
            Some((
                (x0 + ix as f64 * dx, y0 + iy as f64 * dy),
                colormap(f(lon, lat), lo, hi),
            ))
        })
        .collect();
    chart
        .draw_series(
            cells
                .iter()
                .map(|&((x, y), c)| Rectangle::new([(x, y), (x + dx, y + dy)], c.filled())),
        )
        .map_err(&err)?;
    // Graticule: meridians every 60 degrees, parallels every 30 degrees.
    let grey = RGBColor(255, 255, 255).mix(0.5);
    for k in -3..=3 {
        let lon = k as f64 * std::f64::consts::PI / 3.0;
        let line: Vec<(f64, f64)> = (0..=90)
            .map(|i| {
                hammer(
                    lon,
                    -std::f64::consts::FRAC_PI_2 + std::f64::consts::PI * i as f64 / 90.0,
                )
            })
            .collect();
        chart
            .draw_series(LineSeries::new(line, grey))
            .map_err(&err)?;
    }
    for k in -2..=2 {
        let lat = k as f64 * std::f64::consts::PI / 6.0;
        let line: Vec<(f64, f64)> = (0..=180)
            .map(|i| {
                hammer(
                    -std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / 180.0,
                    lat,
                )
            })
            .collect();
        chart
            .draw_series(LineSeries::new(line, grey))
            .map_err(&err)?;
    }
    let shown = subsample(points, MAX_MAP_POINTS);
    chart
        .draw_series(
            shown
                .iter()
                .map(|&(lon, lat)| Circle::new(hammer(lon, lat), 3, RGBColor(40, 40, 40).filled())),
        )
        .map_err(&err)?;
    chart
        .draw_series(
            shown
                .iter()
                .map(|&(lon, lat)| Circle::new(hammer(lon, lat), 2, WHITE.filled())),
        )
        .map_err(&err)?;
    color_bar(&bar, color_label, lo, hi, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hammer_round_trip_and_equal_area() {
        for &(lon, lat) in &[(0.3, 0.2), (-2.9, 1.2), (3.0, -1.4), (0.0, 0.0)] {
            let (x, y) = hammer(lon, lat);
            let (a, b) = hammer_inverse(x, y).unwrap();
            assert!((a - lon).abs() < 1e-12 && (b - lat).abs() < 1e-12);
        }
        // Equal area: |d(x,y)/d(lon, sin lat)| is constant, equal to the ellipse area 4 pi over
        // the area 4 pi of the (lon, sin lat) rectangle, i.e. 1.
        let h = 1e-6;
        let jac = |lon: f64, lat: f64| {
            let s = lat.sin();
            let p = |l: f64, s: f64| hammer(l, s.asin());
            let (a, b) = (p(lon + h, s), p(lon - h, s));
            let (c, d) = (p(lon, s + h), p(lon, s - h));
            let (xl, yl) = ((a.0 - b.0) / (2.0 * h), (a.1 - b.1) / (2.0 * h));
            let (xs, ys) = ((c.0 - d.0) / (2.0 * h), (c.1 - d.1) / (2.0 * h));
            (xl * ys - xs * yl).abs()
        };
        let j0 = jac(0.1, 0.1);
        for &(lon, lat) in &[(1.0, 0.5), (-2.5, -1.0), (2.9, 1.3)] {
            assert!((jac(lon, lat) - j0).abs() < 1e-6, "{}", jac(lon, lat));
        }
        assert!((j0 - 1.0).abs() < 1e-6, "{j0}");
    }

    #[test]
    fn charts_render_to_png() {
        let dir = std::env::temp_dir().join(format!("attnflow-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("line.png");
        let mut c = LineChart::new(
            "test: y = x^2",
            Axis::log("x", 0.1, 10.0),
            Axis::log("y", 0.01, 100.0),
        );
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| 0.1 * 1.1f64.powi(i))
            .map(|x| (x, x * x))
            .collect();
        c.bands.push(Band {
            lower: pts.iter().map(|&(x, y)| (x, 0.5 * y)).collect(),
            upper: pts.iter().map(|&(x, y)| (x, 2.0 * y)).collect(),
            color: palette(0),
        });
        c.series
            .push(Series::new("x²", pts, palette(0), Style::Line(2)));
        c.vlines.push((1.0, BLACK));
        super::super::render_figure(&p, 500, 400, |a| c.draw(a, &p)).unwrap();
        let h = dir.join("heat.png");
        let map = Heatmap {
            title: "heat".into(),
            x: Axis::linear("x", 0.0, 1.0),
            y: Axis::linear("y", 0.0, 2.0),
            nx: 20,
            ny: 10,
            values: (0..200).map(|i| i as f64).collect(),
            color_label: "v".into(),
            color_range: (0.0, 199.0),
            overlays: vec![("line".into(), vec![(0.1, 0.2), (0.9, 1.8)])],
        };
        super::super::render_figure(&h, 500, 400, |a| map.draw(a, &h)).unwrap();
        let s = dir.join("sphere.png");
        super::super::render_figure(&s, 600, 340, |a| {
            sphere_map(
                a,
                "lat",
                &|_, lat: f64| lat.sin(),
                (-1.0, 1.0),
                "sin lat",
                &[(0.0, 0.0)],
                &s,
            )
        })
        .unwrap();
        for f in [p, h, s] {
            let bytes = std::fs::read(&f).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
            assert!(bytes.len() > 5_000, "{} has content", f.display());
        }
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(tick_text(100.0), "100");
        assert_eq!(tick_text(0.25), "0.25");
        assert_eq!(tick_text(1e-6), "1e-6");
        assert_eq!(tick_text(2.5e-7), "2.50e-7");
        assert_eq!(tick_text(3e6), "3e6");
        assert_eq!(tick_text(0.0), "0");
        let a = Axis::linear("y", -0.15, 0.07);
        assert_eq!(a.tick(-2.7755575615628914e-17), "0");
        assert_eq!(a.tick(0.05), "0.05");
        assert_eq!(Axis::linear("y", 1e-12, 3e-12).tick(2e-12), "2e-12");
    }
}
