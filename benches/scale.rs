//! Benchmark: how the phases' times grow with the network's size, on real Fabric images.
//!
//! `cargo bench --bench scale -- [--sizes 5,11,23] [--topology FILE] [--cycles N] [--out DIR]`
//!
//! Without `--topology`, a sweep of three sizes built in code (orderer settings those of
//! network/default.yaml): 5 nodes (2 orgs x 1 peer + 3 orderers), 11 nodes (4 orgs x 2
//! peers + 3 orderers) and 23 nodes (6 orgs x 3 peers + 5 orderers); `--sizes` picks some
//! of them by node count. With `--topology FILE`, that one topology. Each topology is
//! isolated (its own Docker network and container names, no host ports).
//!
//! Per size, `--cycles` (default 3) cycles in a fresh state directory each: up, deploy
//! of a prebuilt examplecc image with init, one invoke, one query (checked), down.
//! Prints the medians per size, with up per node and deploy per org, and each size's
//! slowest steps; writes DIR/scale.md, DIR/scale.json and the plot DIR/scale.png
//! (DIR defaults to target/bench-scale).

use fabx::harness::{isolate, missing_images, TestNetwork};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::Call;
use fabx::{DockerEngine, Layout, Network, Topology};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod common;

use common::{secs, stats, StepTimes};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
const IMAGE: &str = "fabx/examplecc-bench:prebuilt";
const CHAINCODE: &str = "examplecc";
/// The built-in sweep: (nodes, orgs, peers per org, orderers).
const SIZES: [(usize, usize, usize, usize); 3] = [(5, 2, 1, 3), (11, 4, 2, 3), (23, 6, 3, 5)];
const PHASES: [&str; 5] = ["up", "deploy", "invoke", "query", "down"];
/// The phases drawn in the plot, with their colours.
const PLOTTED: [(&str, (u8, u8, u8)); 4] = [
    ("up", (31, 119, 180)),
    ("deploy", (214, 39, 40)),
    ("invoke", (44, 160, 44)),
    ("down", (148, 103, 189)),
];
/// How many of each size's steps are printed (the slowest by median).
const SLOWEST_STEPS: usize = 12;
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const USAGE: &str = "usage: cargo bench --bench scale -- [--sizes 5,11,23] [--topology FILE] [--cycles N] [--out DIR]";

struct Options {
    sizes: Option<Vec<usize>>,
    topology: Option<PathBuf>,
    cycles: usize,
    out: PathBuf,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        sizes: None,
        topology: None,
        cycles: 3,
        out: PathBuf::from("target/bench-scale"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to a bench without the test harness.
            "--bench" => {}
            "--sizes" => {
                let sizes = value()?
                    .split(',')
                    .map(|s| {
                        let n: usize = s
                            .trim()
                            .parse()
                            .map_err(|_| format!("--sizes: {s:?} is not a node count"))?;
                        if SIZES.iter().any(|size| size.0 == n) {
                            Ok(n)
                        } else {
                            Err(format!(
                                "--sizes: no built-in size of {n} nodes (there are 5, 11 and 23)"
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                options.sizes = Some(sizes);
            }
            "--topology" => options.topology = Some(PathBuf::from(value()?)),
            "--cycles" => {
                let v = value()?;
                options.cycles = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--cycles takes a number above 0, not {v:?}"))?;
            }
            "--out" => options.out = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.sizes.is_some() && options.topology.is_some() {
        return Err("--sizes picks built-in sizes; it does not go with --topology".into());
    }
    Ok(options)
}

/// One topology to measure.
struct Case {
    topology: Topology,
    /// "built-in" or the file it came from.
    source: String,
}

impl Case {
    fn orgs(&self) -> usize {
        self.topology.orgs.len()
    }
    fn peers(&self) -> usize {
        self.topology.orgs.iter().map(|o| o.peers.len()).sum()
    }
    fn orderers(&self) -> usize {
        self.topology.orderer_org.orderers.len()
    }
    fn nodes(&self) -> usize {
        self.peers() + self.orderers()
    }
}

fn cases(options: &Options) -> Result<Vec<Case>, String> {
    if let Some(file) = &options.topology {
        let topology = Topology::load(file).map_err(|e| format!("--topology: {e}"))?;
        return Ok(vec![Case {
            topology,
            source: file.display().to_string(),
        }]);
    }
    SIZES
        .iter()
        .filter(|size| options.sizes.as_ref().is_none_or(|s| s.contains(&size.0)))
        .map(|&(nodes, orgs, peers, orderers)| {
            let topology = TestNetwork::builder()
                .orgs(orgs)
                .peers_per_org(peers)
                .orderers(orderers)
                .build()
                .map_err(|e| format!("the {nodes}-node topology: {e}"))?;
            Ok(Case {
                topology,
                source: "built-in".into(),
            })
        })
        .collect()
}

/// One cycle's phase times, in the order of [`PHASES`].
type Sample = [Duration; 5];

/// One cycle in a fresh state directory. The network is taken down also when a phase
/// fails; the error says which phase.
async fn cycle(
    engine: &DockerEngine,
    topology: &Topology,
    steps: &StepTimes,
) -> Result<Sample, String> {
    let state = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let network = Network::new(
        engine.clone(),
        isolate(topology.clone()),
        Layout::new(state.path().join("s")),
    );
    let mut sample = [Duration::ZERO; 5];
    let work = async {
        let started = Instant::now();
        network
            .up(steps)
            .await
            .map_err(|e| format!("up failed: {e}"))?;
        sample[0] = started.elapsed();

        let mut request = DeployRequest::new(CHAINCODE, Source::Image(IMAGE.to_string()));
        request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
        let started = Instant::now();
        network
            .deploy(&request, steps)
            .await
            .map_err(|e| format!("deploy failed: {e}"))?;
        sample[1] = started.elapsed();

        let invoke = Call::new("invoke", &["a".into(), "b".into(), "1".into()]);
        let started = Instant::now();
        network
            .invoke(CHAINCODE, &invoke)
            .await
            .map_err(|e| format!("invoke failed: {e}"))?;
        sample[2] = started.elapsed();

        let query = Call::new("query", &["a".into()]);
        let started = Instant::now();
        let payload = network
            .query(CHAINCODE, &query, None)
            .await
            .map_err(|e| format!("query failed: {e}"))?;
        sample[3] = started.elapsed();
        if payload != "99" {
            return Err(format!(
                "query answered {payload:?}; after moving 1 from a (100) to b it must be \"99\""
            ));
        }
        Ok(())
    }
    .await;

    let started = Instant::now();
    let down = network.down(steps).await;
    sample[4] = started.elapsed();
    let down = down.map_err(|e| {
        format!(
            "down failed: {e} (left behind: whatever carries the label {}={})",
            fabx::engine::spec::LABEL_NETWORK,
            network.topology.network
        )
    });
    match (work, down) {
        (Ok(()), Ok(_)) => Ok(sample),
        (Err(e), Ok(_)) | (Ok(()), Err(e)) => Err(e),
        (Err(e), Err(d)) => Err(format!("{e}; then {d}")),
    }
}

/// What one size measured.
struct Measured {
    case: Case,
    /// Per phase, every cycle's seconds.
    phases: BTreeMap<&'static str, Vec<f64>>,
    /// Per step, every run's seconds.
    steps: BTreeMap<String, Vec<f64>>,
}

impl Measured {
    fn median(&self, phase: &str) -> f64 {
        stats(&self.phases[phase]).median
    }
    fn up_per_node_ms(&self) -> f64 {
        self.median("up") * 1000.0 / self.case.nodes() as f64
    }
    fn deploy_per_org_ms(&self) -> f64 {
        self.median("deploy") * 1000.0 / self.case.orgs() as f64
    }
    /// The slowest steps by median: (name, median, min, max, runs).
    fn slowest_steps(&self) -> Vec<(&str, f64, f64, f64, usize)> {
        let mut rows: Vec<_> = self
            .steps
            .iter()
            .map(|(name, s)| {
                let st = stats(s);
                (name.as_str(), st.median, st.min, st.max, s.len())
            })
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        rows.truncate(SLOWEST_STEPS);
        rows
    }
}

const HEADER: [&str; 11] = [
    "nodes",
    "orgs",
    "peers",
    "orderers",
    "up",
    "deploy",
    "invoke",
    "query",
    "down",
    "up/node (ms)",
    "deploy/org (ms)",
];

fn row(m: &Measured) -> [String; 11] {
    let s = |phase: &str| format!("{:.2}", m.median(phase));
    [
        m.case.nodes().to_string(),
        m.case.orgs().to_string(),
        m.case.peers().to_string(),
        m.case.orderers().to_string(),
        s("up"),
        s("deploy"),
        s("invoke"),
        s("query"),
        s("down"),
        format!("{:.0}", m.up_per_node_ms()),
        format!("{:.0}", m.deploy_per_org_ms()),
    ]
}

fn text_table(measured: &[Measured]) -> String {
    let widths = [5, 4, 5, 8, 7, 7, 7, 7, 7, 12, 15];
    let mut out = String::new();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(&HEADER.map(String::from))).unwrap();
    for m in measured {
        writeln!(out, "{}", line(&row(m))).unwrap();
    }
    out
}

fn text_steps(m: &Measured) -> String {
    let mut out = format!(
        "{} nodes: the {SLOWEST_STEPS} slowest steps (seconds, median of every run)\n{:<48} {:>8} {:>8} {:>8} {:>5}\n",
        m.case.nodes(),
        "step",
        "median",
        "min",
        "max",
        "runs"
    );
    for (name, median, min, max, runs) in m.slowest_steps() {
        writeln!(
            out,
            "{name:<48} {median:>8.2} {min:>8.2} {max:>8.2} {runs:>5}"
        )
        .unwrap();
    }
    out
}

/// "1 cycle", "3 cycles".
fn n_cycles(cycles: usize) -> String {
    format!("{cycles} cycle{}", if cycles == 1 { "" } else { "s" })
}

fn markdown(measured: &[Measured], cycles: usize, peer_image: &str) -> String {
    let mut out = format!(
        "# fabx: phase time against node count\n\nMedian of {} per size on \
         {peer_image}, seconds (up/node and deploy/org in milliseconds). A cycle: up, \
         deploy of a prebuilt examplecc image with init, one invoke, one query, down.\n\n",
        n_cycles(cycles)
    );
    writeln!(out, "| {} |", HEADER.join(" | ")).unwrap();
    writeln!(out, "|{}", "---:|".repeat(HEADER.len())).unwrap();
    for m in measured {
        writeln!(out, "| {} |", row(m).join(" | ")).unwrap();
    }
    for m in measured {
        writeln!(
            out,
            "\n## {} nodes: the {SLOWEST_STEPS} slowest steps\n\n| step | median | min | max | runs |\n|---|---:|---:|---:|---:|",
            m.case.nodes()
        )
        .unwrap();
        for (name, median, min, max, runs) in m.slowest_steps() {
            writeln!(
                out,
                "| {name} | {median:.2} | {min:.2} | {max:.2} | {runs} |"
            )
            .unwrap();
        }
    }
    out
}

fn json(measured: &[Measured], cycles: usize, peer_image: &str) -> serde_json::Value {
    let sizes: Vec<_> = measured
        .iter()
        .map(|m| {
            let medians: serde_json::Map<_, _> = PHASES
                .iter()
                .map(|p| (p.to_string(), m.median(p).into()))
                .collect();
            let samples: serde_json::Map<_, _> = PHASES
                .iter()
                .map(|p| (p.to_string(), m.phases[p].clone().into()))
                .collect();
            let steps: serde_json::Map<_, _> = m
                .steps
                .iter()
                .map(|(name, s)| {
                    (
                        name.clone(),
                        serde_json::json!({ "median_s": stats(s).median, "samples_s": s }),
                    )
                })
                .collect();
            serde_json::json!({
                "source": m.case.source,
                "nodes": m.case.nodes(),
                "orgs": m.case.orgs(),
                "peers": m.case.peers(),
                "orderers": m.case.orderers(),
                "median_s": medians,
                "up_per_node_ms": m.up_per_node_ms(),
                "deploy_per_org_ms": m.deploy_per_org_ms(),
                "samples_s": samples,
                "steps": steps,
            })
        })
        .collect();
    serde_json::json!({
        "cycles": cycles,
        "peer_image": peer_image,
        "chaincode_image": IMAGE,
        "sizes": sizes,
    })
}

/// Registers DejaVu Sans as "sans-serif" for plotters' ab_glyph text.
fn register_font() -> Result<(), String> {
    let bytes = std::fs::read(FONT).map_err(|e| {
        format!(
            "cannot read the font {FONT} ({e}; Debian/Ubuntu: apt-get install fonts-dejavu-core)"
        )
    })?;
    // plotters keeps the font for the rest of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
        .map_err(|_| format!("{FONT} is not a font plotters can read"))
}

/// Draws the plotted phases' medians against node count into `file` (PNG).
fn plot(
    measured: &[Measured],
    cycles: usize,
    file: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let max_nodes = measured.iter().map(|m| m.case.nodes()).max().unwrap_or(1) as i32;
    let max_secs = measured
        .iter()
        .flat_map(|m| PLOTTED.iter().map(|(p, _)| m.median(p)))
        .fold(0.0, f64::max);
    let root = BitMapBackend::new(file, (1000, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "fabx: phase time against node count (median of {})",
                n_cycles(cycles)
            ),
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0..max_nodes + 2, 0.0..(max_secs * 1.15).max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("nodes (peers + orderers)")
        .y_desc("seconds")
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .draw()?;
    for (i, (phase, (r, g, b))) in PLOTTED.iter().enumerate() {
        let color = RGBColor(*r, *g, *b);
        let points: Vec<(i32, f64)> = measured
            .iter()
            .map(|m| (m.case.nodes() as i32, m.median(phase)))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?;
        // A marker of its own per phase, so the lines can be told apart without colour;
        // the legend draws the same marker on a short line.
        let line = move |(x, y): (i32, i32)| {
            EmptyElement::at((x + 10, y))
                + PathElement::new(vec![(-10, 0), (10, 0)], color.stroke_width(3))
        };
        let filled = color.filled();
        let thick = color.stroke_width(3);
        match i {
            0 => chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| EmptyElement::at(p) + Circle::new((0, 0), 5, filled)),
                )?
                .legend(move |p| line(p) + Circle::new((0, 0), 5, filled)),
            1 => chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| EmptyElement::at(p) + TriangleMarker::new((0, 0), 7, filled)),
                )?
                .legend(move |p| line(p) + TriangleMarker::new((0, 0), 7, filled)),
            2 => {
                chart
                    .draw_series(points.iter().map(|&p| {
                        EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], filled)
                    }))?
                    .legend(move |p| line(p) + Rectangle::new([(-5, -5), (5, 5)], filled))
            }
            _ => chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| EmptyElement::at(p) + Cross::new((0, 0), 6, thick)),
                )?
                .legend(move |p| line(p) + Cross::new((0, 0), 6, thick)),
        }
        .label(*phase);
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cases = match cases(&options) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let engine = match DockerEngine::connect().await {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("error: scale benchmark: {e}");
            return ExitCode::FAILURE;
        }
    };
    for case in &cases {
        match missing_images(&case.topology).await {
            Ok(None) => {}
            Ok(Some(reason)) => {
                println!("SKIPPED: scale benchmark: {reason}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("error: scale benchmark: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // The prebuilt image, made once before timing.
    if let Err(e) = fabx::network::deploy::image::build_chaincode_image(
        &engine,
        EXAMPLECC.as_ref(),
        IMAGE,
        fabx::network::deploy::image::BuildProfile::Release,
        &mut |_| {},
    )
    .await
    {
        eprintln!("error: building the prebuilt image {IMAGE}: {e}");
        return ExitCode::FAILURE;
    }

    let cycles = options.cycles;
    let mut measured = Vec::new();
    for case in cases {
        let steps = StepTimes::default();
        let mut samples: Vec<Sample> = Vec::new();
        for i in 1..=cycles {
            let started = Instant::now();
            match cycle(&engine, &case.topology, &steps).await {
                Ok(sample) => samples.push(sample),
                Err(e) => {
                    eprintln!("error: {} nodes, cycle {i}/{cycles}: {e}", case.nodes());
                    return ExitCode::FAILURE;
                }
            }
            eprintln!(
                "{} nodes ({} orgs, {} peers, {} orderers): cycle {i}/{cycles}: {:.2}s",
                case.nodes(),
                case.orgs(),
                case.peers(),
                case.orderers(),
                started.elapsed().as_secs_f64()
            );
        }
        let phases = PHASES
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, secs(&samples.iter().map(|s| s[i]).collect::<Vec<_>>())))
            .collect();
        let steps = steps
            .0
            .into_inner()
            .expect("no panics while locked")
            .into_iter()
            .map(|(name, s)| (name, secs(&s)))
            .collect();
        measured.push(Measured {
            case,
            phases,
            steps,
        });
    }

    let peer_image = measured[0].case.topology.images.peer.clone();
    println!(
        "\nfabx scale benchmark: median of {} per size on {peer_image} (seconds)\n",
        n_cycles(cycles)
    );
    print!("{}", text_table(&measured));
    for m in &measured {
        println!();
        print!("{}", text_steps(m));
    }

    let out = &options.out;
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: creating {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let md = out.join("scale.md");
    let json_file = out.join("scale.json");
    let png = out.join("scale.png");
    let mut written = Vec::new();
    for (file, text) in [
        (&md, markdown(&measured, cycles, &peer_image)),
        (
            &json_file,
            serde_json::to_string_pretty(&json(&measured, cycles, &peer_image)).expect("JSON")
                + "\n",
        ),
    ] {
        if let Err(e) = std::fs::write(file, text) {
            eprintln!("error: writing {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
        written.push(file);
    }
    let plotted = register_font()
        .map_err(|e| e.to_string())
        .and_then(|()| plot(&measured, cycles, &png).map_err(|e| e.to_string()));
    match plotted {
        Ok(()) => written.push(&png),
        Err(e) => {
            println!("\nplot not drawn ({}): {e}", png.display());
            // An older plot there would not match the table next to it.
            if std::fs::remove_file(&png).is_ok() {
                println!("removed the older {}", png.display());
            }
        }
    }
    println!();
    for file in written {
        println!("wrote {}", absolute(file).display());
    }
    ExitCode::SUCCESS
}
