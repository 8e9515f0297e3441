//! Vector figures: the SVG backend's output parses as XML, has no `<text>` (glyph outlines
//! instead), its glyphs sit where the PNG backend puts the same text's pixels, heat-map runs
//! are embedded as a PNG image with exactly the PNG backend's pixels, and `--format` on the
//! command line writes the files it names (bad value: one line, exit 2).

mod common;

use attnflow::plot::chart::{palette, Axis, Heatmap, LineChart, Series, Style};
use attnflow::plot::{render_figure_as, FigureFormat, FONT};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
use std::path::{Path, PathBuf};

/// A fresh, existing scratch directory for this test process.
fn tmp(name: &str) -> PathBuf {
    let d = common::scratch("svg", name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// RGB pixels of a PNG file, with its size.
fn read_png(bytes: &[u8]) -> (usize, usize, Vec<[u8; 4]>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(ch)
        .map(|c| match ch {
            3 => [c[0], c[1], c[2], 255],
            4 => [c[0], c[1], c[2], c[3]],
            _ => panic!("unexpected PNG colour type"),
        })
        .collect();
    (info.width as usize, info.height as usize, px)
}

/// Decode standard base64 (independent of the crate's encoder).
fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().take_while(|&&c| c != b'=').count();
        let mut v = 0u32;
        for (k, &c) in chunk[..n].iter().enumerate() {
            v |= val(c) << (18 - 6 * k);
        }
        for k in 0..n.saturating_sub(1) {
            out.push((v >> (16 - 8 * k)) as u8);
        }
    }
    out
}

/// All coordinate pairs of an SVG path's data (absolute commands M L Q C Z only).
fn path_points(d: &str) -> Vec<(f64, f64)> {
    let nums: Vec<f64> = d
        .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().unwrap())
        .collect();
    assert!(
        d.chars()
            .filter(|c| c.is_ascii_alphabetic())
            .all(|c| "MLQCZ".contains(c)),
        "glyph paths use absolute M L Q C Z: {d}"
    );
    nums.chunks(2).map(|p| (p[0], p[1])).collect()
}

/// Checks common to every SVG the backend writes; returns the document text.
fn check_svg(path: &Path, w: u32, h: u32) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some(w.to_string().as_str()));
    assert_eq!(root.attribute("height"), Some(h.to_string().as_str()));
    assert_eq!(
        root.attribute("viewBox"),
        Some(format!("0 0 {w} {h}").as_str())
    );
    assert!(
        !doc.descendants().any(|n| n.tag_name().name() == "text"),
        "no <text> element in {}",
        path.display()
    );
    text
}

/// Bounding box of the glyph outline labelled `label` (union over its elements).
fn glyph_box(svg: &str, label: &str) -> (f64, f64, f64, f64) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut found = false;
    for n in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "path" && n.attribute("aria-label") == Some(label))
    {
        found = true;
        for (x, y) in path_points(n.attribute("d").unwrap()) {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
    }
    assert!(found, "a glyph path labelled {label:?}");
    b
}

/// Box `[x0, x1] × [y0, y1]` (pixel edges) of the PNG's dark pixels (luminance < 50 %).
fn dark_box(png: &Path) -> (f64, f64, f64, f64) {
    let (w, h, px) = read_png(&std::fs::read(png).unwrap());
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for y in 0..h {
        for x in 0..w {
            let p = px[y * w + x];
            if (p[0] as u32 + p[1] as u32 + p[2] as u32) < 3 * 128 {
                b = (
                    b.0.min(x as f64),
                    b.1.min(y as f64),
                    b.2.max(x as f64 + 1.0),
                    b.3.max(y as f64 + 1.0),
                );
            }
        }
    }
    assert!(b.0 < b.2, "dark pixels in {}", png.display());
    b
}

#[test]
fn text_lands_where_the_png_puts_it() {
    // One label per figure, drawn through the same closure into PNG and SVG; the SVG glyph
    // outlines' box must match the PNG's dark-pixel box (plotters' own rasterisation of the
    // same font) within a pixel and a half, for every anchor and rotation used by charts.
    let dir = tmp("place");
    let cases: Vec<(&str, Pos, FontTransform, u32)> = vec![
        (
            "γₗ / γₗ* at β = 25",
            Pos::new(HPos::Left, VPos::Top),
            FontTransform::None,
            20,
        ),
        (
            "Ag l*(β) τ = eᵝ t",
            Pos::new(HPos::Center, VPos::Center),
            FontTransform::None,
            24,
        ),
        (
            "density ρ (right)",
            Pos::new(HPos::Right, VPos::Bottom),
            FontTransform::None,
            14,
        ),
        (
            "Cₗ(t) rotated",
            Pos::new(HPos::Center, VPos::Center),
            FontTransform::Rotate270,
            18,
        ),
        (
            "quarter turn",
            Pos::new(HPos::Left, VPos::Top),
            FontTransform::Rotate90,
            16,
        ),
    ];
    for (i, (label, pos, trans, size)) in cases.into_iter().enumerate() {
        let png = dir.join(format!("t{i}.png"));
        render_figure_as(&png, 300, 260, FigureFormat::Both, |area| {
            let style = TextStyle::from((FONT, size).into_font())
                .pos(pos)
                .transform(trans.clone())
                .color(&BLACK);
            area.draw_text(label, &style, (150, 130))
                .map_err(|e| attnflow::Error::Output {
                    path: png.clone(),
                    message: e.to_string(),
                })
        })
        .unwrap();
        let svg = check_svg(&png.with_extension("svg"), 300, 260);
        let g = glyph_box(&svg, label);
        let p = dark_box(&png);
        for (a, b, what) in [
            (g.0, p.0, "left"),
            (g.1, p.1, "top"),
            (g.2, p.2, "right"),
            (g.3, p.3, "bottom"),
        ] {
            assert!(
                (a - b).abs() <= 1.5,
                "{label:?}: {what} edge of the glyphs {a:.2} vs PNG dark pixels {b}"
            );
        }
    }
}

#[test]
fn chart_svg_has_glyph_outlines_and_matches_png_text() {
    let dir = tmp("chart");
    let png = dir.join("chart.png");
    let mut c = LineChart::new(
        "growth γ_l of degree l at β = 9",
        Axis::linear("degree l", 0.0, 10.0),
        Axis::log("rate γ_l / γ_l*", 0.01, 1.0),
    );
    let pts: Vec<(f64, f64)> = (1..=10)
        .map(|l| (l as f64, (-(l as f64 - 4.0).powi(2) / 4.0).exp()))
        .collect();
    c.series
        .push(Series::new("β = 9", pts, palette(0), Style::Line(2)));
    render_figure_as(&png, 700, 450, FigureFormat::Both, |a| c.draw(a, &png)).unwrap();
    let svg = check_svg(&png.with_extension("svg"), 700, 450);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let labels: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("aria-label"))
        .collect();
    // Typeset labels (real subscripts), tick labels and the legend are all outlines.
    for want in [
        "growth γₗ of degree l at β = 9",
        "degree l",
        "rate γₗ / γₗ*",
        "β = 9",
        "0.1",
    ] {
        assert!(labels.contains(&want), "{want:?} among {labels:?}");
    }
    // The x-axis label below the plot: its glyph box matches the PNG's dark pixels in a window
    // around it (nothing else dark within 4 px of the label).
    let g = glyph_box(&svg, "degree l");
    let (w, _, px) = read_png(&std::fs::read(&png).unwrap());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for y in (g.1 as usize - 4)..(g.3 as usize + 4) {
        for x in (g.0 as usize - 4)..(g.2 as usize + 4) {
            let p = px[y * w + x];
            if (p[0] as u32 + p[1] as u32 + p[2] as u32) < 3 * 128 {
                x0 = x0.min(x as f64);
                y0 = y0.min(y as f64);
                x1 = x1.max(x as f64 + 1.0);
                y1 = y1.max(y as f64 + 1.0);
            }
        }
    }
    for (a, b) in [(g.0, x0), (g.1, y0), (g.2, x1), (g.3, y1)] {
        assert!(
            (a - b).abs() <= 1.5,
            "x label glyph box {g:?} vs PNG {:?}",
            (x0, y0, x1, y1)
        );
    }
    // Both files share the stem.
    assert!(png.is_file() && png.with_extension("svg").is_file());
}

#[test]
fn heat_map_is_one_embedded_image_with_the_png_pixels() {
    let dir = tmp("heat");
    let png = dir.join("heat.png");
    let (nx, ny) = (120, 80);
    let map = Heatmap {
        title: "ρ(θ, t)".into(),
        x: Axis::linear("θ", 0.0, std::f64::consts::TAU),
        y: Axis::linear("t", 0.0, 1.0),
        nx,
        ny,
        values: (0..nx * ny)
            .map(|i| ((i % nx) as f64 * 0.1).sin() * ((i / nx) as f64 * 0.05).cos())
            .collect(),
        color_label: "density ρ".into(),
        color_range: (-1.0, 1.0),
        overlays: Vec::new(),
    };
    render_figure_as(&png, 800, 500, FigureFormat::Both, |a| map.draw(a, &png)).unwrap();
    let svg_path = png.with_extension("svg");
    let svg = check_svg(&svg_path, 800, 500);
    let size = std::fs::metadata(&svg_path).unwrap().len();
    // 9600 cells as shapes would be ~0.5 MB; as an image the whole figure stays small.
    assert!(size < 300_000, "heat-map SVG is {size} bytes");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let images: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "image")
        .collect();
    assert!(!images.is_empty(), "the cells are embedded as an image");
    // The largest image is the map: each of its opaque pixels equals the PNG's pixel there
    // (both backends fill the same integer rectangles), away from the frame drawn over its edge.
    let img = images
        .iter()
        .max_by_key(|n| n.attribute("width").unwrap().parse::<u32>().unwrap())
        .unwrap();
    let at = |k: &str| img.attribute(k).unwrap().parse::<usize>().unwrap();
    let (ix, iy, iw, ih) = (at("x"), at("y"), at("width"), at("height"));
    let href = img
        .attribute(("http://www.w3.org/1999/xlink", "href"))
        .unwrap();
    let data = unbase64(href.strip_prefix("data:image/png;base64,").unwrap());
    let (w2, h2, ipx) = read_png(&data);
    assert_eq!((w2, h2), (iw, ih));
    assert!(iw * ih > 200 * 200, "map image {iw}x{ih}");
    let (pw, _, ppx) = read_png(&std::fs::read(&png).unwrap());
    let mut compared = 0;
    for y in 2..ih - 2 {
        for x in 2..iw - 2 {
            let a = ipx[y * iw + x];
            if a[3] == 255 {
                let b = ppx[(iy + y) * pw + ix + x];
                assert_eq!(&a[..3], &b[..3], "pixel ({}, {})", ix + x, iy + y);
                compared += 1;
            }
        }
    }
    assert!(compared > iw * ih / 2, "{compared} opaque pixels");
}

#[test]
fn cli_format_both_writes_png_and_svg_with_matching_names() {
    let dir = tmp("cli");
    let stdout = common::ok(&[
        "figures",
        "linear",
        "--format",
        "both",
        "--out",
        dir.to_str().unwrap(),
    ]);
    for stem in ["growth_rates", "dominant_mode"] {
        let png = dir.join(format!("{stem}.png"));
        let svg = dir.join(format!("{stem}.svg"));
        assert!(
            stdout.contains(&format!("wrote {}", svg.display())),
            "{stdout}"
        );
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let (w, h, _) = read_png(&bytes);
        let text = check_svg(&svg, w as u32, h as u32);
        assert!(text.len() < 3_000_000);
        assert!(
            text.contains("aria-label=\""),
            "glyph outlines in {}",
            svg.display()
        );
    }
    // svg only: no PNG.
    let dir2 = tmp("cli-svg");
    common::ok(&[
        "figures",
        "linear",
        "--format",
        "svg",
        "--out",
        dir2.to_str().unwrap(),
    ]);
    assert!(dir2.join("growth_rates.svg").is_file());
    assert!(!dir2.join("growth_rates.png").exists());
}

#[test]
fn bad_format_is_one_line_exit_2() {
    for args in [
        vec!["figures", "linear", "--format", "pdf"],
        vec!["gallery", "--quick", "--format", "eps"],
        vec!["compare", "growth", "--format", "jpg"],
        vec!["plot", "nowhere", "--format", "svgz"],
    ] {
        common::refused(&args, &["--format", "png, svg, both"]);
    }
}

/// A compare experiment's report.md links the figures it wrote: the SVG in place of the PNG with
/// `--format svg`, the PNG plus a link to the SVG with `--format both`; every linked file exists.
#[test]
fn reports_link_the_files_of_the_format() {
    for (format, png, svg) in [
        ("svg", false, true),
        ("both", true, true),
        ("png", true, false),
    ] {
        let dir = tmp(&format!("report-{format}"));
        common::ok(&[
            "compare",
            "staircase",
            "--preset",
            "gkpr",
            "--format",
            format,
            "--out",
            dir.to_str().unwrap(),
        ]);
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        let mut links = Vec::new();
        for part in md.split("](").skip(1) {
            links.push(part.split(')').next().unwrap().to_string());
        }
        let figs: Vec<&String> = links
            .iter()
            .filter(|l| l.ends_with(".png") || l.ends_with(".svg"))
            .collect();
        assert!(figs.len() >= 2, "{format}: {md}");
        for f in &figs {
            assert!(dir.join(f).is_file(), "{format}: {f} linked but missing");
        }
        assert_eq!(
            figs.iter().any(|f| f.ends_with(".png")),
            png,
            "{format}: {md}"
        );
        assert_eq!(
            figs.iter().any(|f| f.ends_with(".svg")),
            svg,
            "{format}: {md}"
        );
    }
}
