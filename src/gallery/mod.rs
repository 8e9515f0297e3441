//! `attnflow gallery`: the figures of the seed papers, reproduced by attnflow's own runs, with
//! captions, an `index.html` and a `README.md`.
//!
//! Every experiment is one of the comparison experiments of [`crate::compare`], run through its
//! run specification ([`crate::run::CompareSpec`]) into its own subdirectory (with its
//! `run.json`, `report.md` and `data.json`), so a gallery figure is re-made by the command its
//! caption names. Two sizes: the default (a few minutes on 2 cores) and `quick` (well under a
//! minute, for tests and CI) with fewer tokens, seeds and betas.

pub mod glpr;

use crate::control::RunControl;
use crate::run::compare::{
    ClustersSpec, CompareSpec, GrowthSpec, OnsetSpec, PhaseSpec, PredictSpec, PvpSpec,
    ReproduceSpec, StaircasePreset, StaircaseSpec,
};
use crate::run::RunSpec;
use crate::Result;
use std::path::{Path, PathBuf};

/// One experiment of the gallery.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Subdirectory of the gallery.
    pub dir: &'static str,
    /// Heading.
    pub title: &'static str,
    /// Source: the paper (or "attnflow") and its figure.
    pub source: &'static str,
    /// What the paper reported, and what to compare.
    pub reported: &'static str,
    /// What is run (parameters, seed, time unit); `None` for the linear-theory figures.
    pub spec: Option<CompareSpec>,
}

/// One figure written by the gallery.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figure {
    /// Path relative to the gallery directory.
    pub file: String,
    /// Caption from the experiment's report.
    pub caption: String,
}

/// Outcome of one experiment.
#[derive(Clone, Debug)]
pub struct Section {
    /// The experiment.
    pub experiment: Experiment,
    /// Command that re-makes it.
    pub command: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// The experiments of the gallery, default or `quick` size.
pub fn experiments(quick: bool) -> Vec<Experiment> {
    let q = |small: usize, full: usize| Some(if quick { small } else { full });
    let mut v = vec![
        Experiment {
            dir: "linear",
            title: "Linear theory: growth rates and the dominant degree l*(β)",
            source: "attnflow (Bruno–Pasqualotto–Agazzi, Geshkovski et al.: γ_l from Funk–Hecke)",
            reported: "γ_l / γ_l* against l for several β on S¹ and S²; l*(β) with its \
                       asymptotes √(2β) and √(2β + a²) − a.",
            spec: None,
        },
        Experiment {
            dir: "reproduce",
            title: "Circle experiments of Bruno–Pasqualotto–Agazzi",
            source: "Bruno, Pasqualotto, Agazzi: growth-rate curve, trajectories, histograms, mean field from noise",
            reported: "USA on the circle, N = 2·10⁴ iid uniform tokens: 3 clusters near t = 0.3 \
                       at β = 5 and 4 clusters near t = 0.045 at β = 7 (physical time t); the \
                       mean field from 0.01 white noise develops a 3-periodic profile by t ≈ \
                       0.3–0.45 at β = 5 (their Fig. with 3 and 4 periodic profiles).",
            spec: Some(CompareSpec::Reproduce(ReproduceSpec {
                n: q(2000, 20_000),
                pde_lmax: q(64, 512),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "phase",
            title: "Phase diagrams of Geshkovski–Letrouit–Polyanskiy–Rigollet",
            source: "Geshkovski, Letrouit, Polyanskiy, Rigollet, A mathematical perspective on Transformers: (t, β) phase diagram per d",
            reported: "SA, n = 32 tokens, fraction of pairs with ⟨x_i, x_j⟩ > 1 − 10⁻³ over \
                       (β, t): clustering is fast for small β and slows as β grows, later in \
                       higher d (their setting 1024 systems, 90 betas, d up to 1024; here a \
                       reduced size, full size with --systems 1024 --betas 90).",
            spec: Some(CompareSpec::Phase(PhaseSpec {
                dims: Some(if quick { vec![2, 8] } else { vec![2, 8, 32, 128] }),
                systems: q(6, 32),
                betas: q(10, 30),
                steps: q(30, 60),
                seed: Some(0),
                ..Default::default()
            })),
        },
    ];
    if !quick {
        v.push(Experiment {
            dir: "staircase_gkpr",
            title: "Energy staircase of Geshkovski–Koubbi–Polyanskiy–Rigollet",
            source: "Geshkovski, Koubbi, Polyanskiy, Rigollet, Dynamic metastability in the self-attention model",
            reported: "n = 5 tokens on the circle at their initial angles, β from 500 to 4000, \
                       their rescaled time (normalised-gradient iterations × 10⁻⁵): plateaus \
                       (1,1,1,1,1) → (2,1,1,1) → (3,1,1) → (3,2) → (5) at E = 5, 7, 11, 13, 25 / 25.",
            spec: Some(CompareSpec::Staircase(StaircaseSpec {
                preset: Some(StaircasePreset::Gkpr),
                ..Default::default()
            })),
        });
    }
    v.extend([
        Experiment {
            dir: "staircase",
            title: "Energy staircase and merge events of a large system",
            source: "attnflow (the meta-stability picture of Geshkovski–Koubbi–Polyanskiy–Rigollet at N ≫ 5)",
            reported: "Energy against ln τ: plateaus at meta-stable states, jumps at merges; every \
                       jump non-negative for USA (gradient ascent of the energy).",
            spec: Some(CompareSpec::Staircase(StaircaseSpec {
                n: q(150, 300),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "growth",
            title: "Growth rates: theory vs PDE vs particles",
            source: "attnflow",
            reported: "ln C_l(t) of the particles grows at 2γ_l for l near l*, with the PDE's \
                       rate alongside.",
            spec: Some(CompareSpec::Growth(GrowthSpec {
                n: q(2000, 20_000),
                seeds: q(2, 4),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "clusters",
            title: "Meta-stable cluster counts against l*(β)",
            source: "attnflow (the l* prediction of Bruno–Pasqualotto–Agazzi)",
            reported: "The number of meta-stable clusters follows the l*(β) staircase.",
            spec: Some(CompareSpec::Clusters(ClustersSpec {
                n: q(500, 2000),
                seeds: q(1, 4),
                points: q(5, 12),
                beta_max: Some(if quick { 30.0 } else { 60.0 }),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "pde_vs_particles_d2",
            title: "PDE vs particles on the circle: kymographs",
            source: "attnflow",
            reported: "The same initial tokens through the particles and the spectral PDE; \
                       kymographs of the density side by side.",
            spec: Some(CompareSpec::PdeVsParticles(PvpSpec {
                ns: Some(if quick {
                    vec![500, 2000]
                } else {
                    vec![1000, 4000, 16000, 64000]
                }),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "pde_vs_particles_d3",
            title: "PDE vs particles on S²: equal-area sphere maps",
            source: "attnflow",
            reported: "PDE density and particle density on S² (Hammer equal-area) at three times.",
            spec: Some(CompareSpec::PdeVsParticles(PvpSpec {
                dim: Some(3),
                beta: Some(if quick { 4.0 } else { 9.0 }),
                ns: Some(if quick {
                    vec![500, 2000]
                } else {
                    vec![2000, 8000, 32000]
                }),
                lmax: q(16, 32),
                seed: Some(0),
                ..Default::default()
            })),
        },
        Experiment {
            dir: "predict_d3",
            title: "Predicted cluster locations on S²",
            source: "attnflow",
            reported: "Clusters predicted from the initial tokens alone (all degrees of the \
                       linear theory) against the clusters that form.",
            spec: Some(CompareSpec::Predict(PredictSpec {
                dim: Some(3),
                n: q(1000, 4000),
                seed: Some(0),
                ..Default::default()
            })),
        },
    ]);
    if !quick {
        // Two decades of N with several seeds each: the slowest experiment, default size only.
        v.push(Experiment {
            dir: "onset",
            title: "Onset time of the meta-stable structure against ln N",
            source: "attnflow",
            reported: "Onset time ≈ ln N / (2γ_l*): slope 1/(2γ_l*) against ln N.",
            spec: Some(CompareSpec::Onset(OnsetSpec {
                n_min: Some(300),
                n_max: Some(30_000),
                points: Some(5),
                seeds: Some(6),
                seed: Some(0),
                ..Default::default()
            })),
        });
    }
    v
}

/// The `attnflow compare ...` command that re-makes `spec` (its non-default fields as flags).
pub fn command_line(spec: &CompareSpec) -> String {
    let value = serde_json::to_value(spec).unwrap_or(serde_json::Value::Null);
    let mut s = format!("attnflow compare {}", spec.name());
    if let Some(obj) = value
        .as_object()
        .and_then(|o| o.values().next()?.as_object().cloned())
    {
        for (k, v) in obj {
            if k == "out" || k == "checkpoint_every" || v.is_null() {
                continue;
            }
            let flag = k.replace('_', "-");
            let text = match v {
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.to_string().trim_matches('"').to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string().trim_matches('"').to_string(),
            };
            s += &format!(" --{flag} {text}");
        }
    }
    s
}

/// Figures referenced by a report (`![caption](file)` lines), paths prefixed with `prefix`.
pub fn report_figures(markdown: &str, prefix: &str) -> Vec<Figure> {
    markdown
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("![")?;
            let (caption, tail) = rest.split_once("](")?;
            let file = tail.strip_suffix(')')?;
            Some(Figure {
                file: format!("{prefix}/{file}"),
                caption: caption.to_string(),
            })
        })
        .collect()
}

/// Run the gallery into `out` (`quick`: the CI size); returns the sections written. Each
/// experiment replaces an earlier run of itself in its subdirectory.
pub fn run(out: &Path, quick: bool, ctl: &RunControl) -> Result<Vec<Section>> {
    crate::io::prepare_output_dir(out)?;
    let mut sections = Vec::new();
    for e in experiments(quick) {
        let dir = out.join(e.dir);
        let start = std::time::Instant::now();
        let (command, figures) = match &e.spec {
            None => {
                crate::io::prepare_output_dir(&dir)?;
                let files = crate::plot::linear::write_linear_figures(&dir)?;
                let caps = [
                    "Linear growth rates γ_l / γ_l* of the uniform state on S¹ and S² for several β (USA and SA alike); dots mark l*",
                    "Dominant degree l*(β) for d = 2, 3, 8 with the asymptotes √(2β) and √(2β + a²) − a",
                ];
                let figs = files
                    .iter()
                    .zip(caps)
                    .map(|(f, c)| Figure {
                        file: format!(
                            "{}/{}",
                            e.dir,
                            f.file_name().unwrap_or_default().to_string_lossy()
                        ),
                        caption: c.to_string(),
                    })
                    .collect();
                ("attnflow figures linear".to_string(), figs)
            }
            Some(spec) => {
                let mut spec = spec.clone();
                *spec.out_mut() = Some(dir.clone());
                let (resolved, _) = spec.resolve()?;
                crate::run::execute(&RunSpec::Compare(spec), ctl, true)?;
                let md = std::fs::read_to_string(dir.join("report.md")).unwrap_or_default();
                (command_line(&resolved), report_figures(&md, e.dir))
            }
        };
        sections.push(Section {
            experiment: e,
            command,
            seconds: start.elapsed().as_secs_f64(),
            figures,
        });
    }
    {
        let e = Experiment {
            dir: "glpr_fig4",
            title: "Token trajectories of Geshkovski–Letrouit–Polyanskiy–Rigollet (Fig. 4)",
            source: "Geshkovski, Letrouit, Polyanskiy, Rigollet, A mathematical perspective on Transformers: Fig. 4",
            reported: "SA on the circle, n = 32 tokens at β = 4 and β = 9: the angles gather \
                       into a few clusters, which merge on a longer time scale.",
            spec: None,
        };
        let start = std::time::Instant::now();
        let figures = glpr::write(&out.join(e.dir), e.dir)?;
        sections.push(Section {
            experiment: e,
            command: "attnflow particles --dim 2 --n 32 --model sa --beta 4 --t-end 30 --tol 1e-9 \
                      --seed 0 --series-points 300 --movie --out DIR (and --beta 9)"
                .into(),
            seconds: start.elapsed().as_secs_f64(),
            figures,
        });
    }
    for m in movies(quick) {
        let dir = out.join(m.experiment.dir);
        let start = std::time::Instant::now();
        let spec = crate::run::ParticlesSpec {
            out: Some(dir.clone()),
            ..m.spec.clone()
        };
        crate::run::execute(&RunSpec::Particles(spec), ctl, true)?;
        let s = &m.spec;
        let command = format!(
            "attnflow particles --dim {} --n {} --beta {} --seed {} --movie --out DIR",
            s.dim.unwrap_or(2),
            s.n.unwrap_or(0),
            s.beta.unwrap_or(0.0),
            s.seed.unwrap_or(0)
        );
        sections.push(Section {
            experiment: m.experiment.clone(),
            command,
            seconds: start.elapsed().as_secs_f64(),
            figures: vec![Figure {
                file: format!("{}/movie.gif", m.experiment.dir),
                caption: m.caption.to_string(),
            }],
        });
    }
    write_index(out, &sections, quick)?;
    Ok(sections)
}

/// A movie of the gallery: a particle run with `movie = true`.
#[derive(Clone, Debug)]
pub struct Movie {
    /// Heading, directory and source (its `spec` is `None`: not an experiment).
    pub experiment: Experiment,
    /// The run (without `out`).
    pub spec: crate::run::ParticlesSpec,
    /// Caption.
    pub caption: &'static str,
}

/// The movies of the gallery: tokens on the circle (both sizes) and on S² (default size).
pub fn movies(quick: bool) -> Vec<Movie> {
    let mut v = vec![Movie {
        experiment: Experiment {
            dir: "movie_circle",
            title: "Movie: tokens on the circle",
            source: "attnflow (the circle experiments of Bruno–Pasqualotto–Agazzi, as a movie)",
            reported: "USA, β = 9 (l* = 4): iid uniform tokens organise into four meta-stable \
                       clusters (the degree l* = 4 of the linear theory), which later merge.",
            spec: None,
        },
        spec: crate::run::ParticlesSpec {
            dim: Some(2),
            n: Some(if quick { 500 } else { 2000 }),
            beta: Some(9.0),
            seed: Some(1),
            movie: Some(true),
            ..Default::default()
        },
        caption: "Tokens on the circle (USA, β = 9, seed 1; physical time t, default end time \
                  ≈ 2× the onset): each token at its angle, spread radially so that a cluster \
                  shows its mass, with fading trails of the previous 6 frames (at most 1000 \
                  tokens drawn)",
    }];
    if !quick {
        v.push(Movie {
            experiment: Experiment {
                dir: "movie_sphere",
                title: "Movie: tokens on S², rotating view",
                source: "attnflow",
                reported: "USA, β = 6 on S² (l* = 3): clusters form at the maxima of the \
                           growing degree-3 structure.",
                spec: None,
            },
            spec: crate::run::ParticlesSpec {
                dim: Some(3),
                n: Some(1000),
                beta: Some(6.0),
                seed: Some(2),
                movie: Some(true),
                ..Default::default()
            },
            caption: "Tokens on S² (USA, β = 6, N = 1000, seed 2; physical time t) in an \
                      orthographic view turning once about the vertical axis: front \
                      hemisphere in full colour, back hemisphere faded",
        });
    }
    v
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Write `index.html` and `README.md` listing every section and figure with its caption.
pub fn write_index(out: &Path, sections: &[Section], quick: bool) -> Result<()> {
    let size = if quick {
        "quick size (--quick: reduced tokens, seeds and betas, for CI)"
    } else {
        "default size"
    };
    let mut md = format!(
        "# attnflow gallery\n\nFigures of the seed papers, reproduced by attnflow's own runs \
         ({size}). Regenerate with `attnflow gallery --out DIR{}`. Each section names the \
         command that re-makes it; its directory holds `run.json` (the resolved specification), \
         `report.md` (numbers with uncertainties) and `data.json`. Time units: `τ = e^β t` for \
         USA and `t` for SA unless a caption says physical time `t`.\n\n",
        if quick { " --quick" } else { "" }
    );
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>attnflow gallery</title><style>body{font-family:sans-serif;max-width:1100px;\
         margin:auto;padding:1em;color:#222}img{max-width:100%;border:1px solid #ccc}\
         figure{margin:1.5em 0}figcaption{font-size:0.95em;color:#333}code{background:#f3f3f3;\
         padding:0 3px}.meta{color:#555;font-size:0.9em}</style></head><body>\n",
    );
    html += &format!(
        "<h1>attnflow gallery</h1><p>Figures of the seed papers, reproduced by attnflow's own \
         runs ({}). Time units: τ = e<sup>β</sup> t for USA and t for SA unless a caption says \
         physical time t.</p>\n",
        html_escape(size)
    );
    for s in sections {
        let e = &s.experiment;
        md += &format!(
            "## {}\n\n*Source:* {}.\n\n*Reported:* {}\n\n*Run:* `{}` ({:.0} s; files in \
             `{}/`{}).\n\n",
            e.title,
            e.source,
            e.reported,
            s.command,
            s.seconds,
            e.dir,
            if e.spec.is_some() {
                ", see its report.md"
            } else {
                ""
            }
        );
        html += &format!(
            "<h2>{}</h2><p class=\"meta\"><b>Source:</b> {}<br><b>Reported:</b> {}<br>\
             <b>Run:</b> <code>{}</code> ({:.0} s){}</p>\n",
            html_escape(e.title),
            html_escape(e.source),
            html_escape(e.reported),
            html_escape(&s.command),
            s.seconds,
            if e.spec.is_some() {
                format!(
                    " — <a href=\"{}/report.md\">report</a>, <a href=\"{}/run.json\">run.json</a>",
                    e.dir, e.dir
                )
            } else {
                String::new()
            }
        );
        for f in &s.figures {
            let (shown, svg) = vector_variant(out, &f.file);
            md += &format!("![{}]({})\n\n*{}*", f.caption, shown, f.caption);
            html += &format!(
                "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}",
                html_escape(&shown),
                html_escape(&f.caption),
                html_escape(&f.caption)
            );
            if let Some(svg) = svg {
                md += &format!(" ([SVG]({svg}))");
                html += &format!(" (<a href=\"{}\">SVG</a>)", html_escape(&svg));
            }
            md += "\n\n";
            html += "</figcaption></figure>\n";
        }
    }
    html += "</body></html>\n";
    crate::io::write_atomic(&out.join("README.md"), md.as_bytes())?;
    crate::io::write_atomic(&out.join("index.html"), html.as_bytes())
}

/// The image to show for the figure `file` (relative to `out`) and the link to its SVG: the
/// PNG with a link to `NAME.svg` when both exist, the SVG itself when only it exists
/// (`--format svg`).
fn vector_variant(out: &Path, file: &str) -> (String, Option<String>) {
    let Some(stem) = file.strip_suffix(".png") else {
        return (file.to_string(), None);
    };
    let svg = format!("{stem}.svg");
    match (out.join(file).is_file(), out.join(&svg).is_file()) {
        (true, true) => (file.to_string(), Some(svg)),
        (false, true) => (svg, None),
        _ => (file.to_string(), None),
    }
}

/// Every figure file of `sections` that is missing under `out` (an empty list when all exist).
pub fn missing_figures(out: &Path, sections: &[Section]) -> Vec<PathBuf> {
    sections
        .iter()
        .flat_map(|s| s.figures.iter())
        .map(|f| out.join(&f.file))
        .filter(|p| !p.is_file() && !p.with_extension("svg").is_file())
        .collect()
}
