//! `--report FILE`: the run drawn for a person. `.svg` writes the four charts stacked in
//! one SVG; any other name a self-contained HTML page (the summary, the refusals, the
//! per-step counts and the same charts inline; no script, no outside file).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::series::Series;
use super::BenchReport;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 220.0;
const MARGIN_LEFT: f64 = 60.0;
const MARGIN_BOTTOM: f64 = 30.0;
const MARGIN_TOP: f64 = 28.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// One line of a chart: its name and (x, y) points (missing y leaves a gap).
struct Line {
    name: String,
    points: Vec<(f64, Option<f64>)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart with axes, a shaded measured period and a legend, at vertical offset `y0`.
fn chart(out: &mut String, y0: f64, title: &str, unit: &str, lines: &[Line], window: (f64, f64)) {
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let x_max = xs.fold(1.0f64, f64::max);
    let ys = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1));
    let y_max = ys.fold(0.0f64, f64::max).max(1e-9) * 1.1;
    let plot_w = WIDTH - MARGIN_LEFT - 10.0;
    let plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let sx = |x: f64| MARGIN_LEFT + x / x_max * plot_w;
    let sy = |y: f64| y0 + MARGIN_TOP + plot_h - y / y_max * plot_h;
    let _ = write!(
        out,
        r##"<g font-family="sans-serif" font-size="11"><text x="{MARGIN_LEFT}" y="{}" font-size="13" font-weight="bold">{}</text>"##,
        y0 + 16.0,
        escape(title)
    );
    let (from, to) = (window.0.min(x_max), window.1.min(x_max));
    let _ = write!(
        out,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{plot_h:.1}" fill="#f3f3f3"/>"##,
        sx(from),
        y0 + MARGIN_TOP,
        (sx(to) - sx(from)).max(0.0)
    );
    for k in 0..=4 {
        let y = y_max * f64::from(k) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{MARGIN_LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            MARGIN_LEFT + plot_w,
            sy(y),
            sy(y),
            MARGIN_LEFT - 4.0,
            sy(y) + 4.0,
            fmt_num(y)
        );
    }
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">s</text><text x="4" y="{:.1}">{}</text>"##,
        MARGIN_LEFT + plot_w,
        y0 + HEIGHT - 8.0,
        y0 + MARGIN_TOP - 4.0,
        escape(unit)
    );
    for (i, line) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        polyline(out, line, color, &sx, &sy);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"##,
            MARGIN_LEFT + 200.0 + 110.0 * i as f64,
            y0 + 16.0,
            escape(&line.name)
        );
    }
    out.push_str("</g>");
}

/// The line's runs of known points, one `<polyline>` each.
fn polyline(
    out: &mut String,
    line: &Line,
    color: &str,
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
) {
    let mut run = String::new();
    let mut flush = |run: &mut String| {
        if !run.is_empty() {
            let _ = write!(
                out,
                r##"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{run}"/>"##
            );
            run.clear();
        }
    };
    for (x, y) in &line.points {
        match y {
            Some(y) => {
                let _ = write!(run, "{:.1},{:.1} ", sx(*x), sy(*y));
            }
            None => flush(&mut run),
        }
    }
    flush(&mut run);
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The four charts: committed tx/s, finality p50/p99, CPU and RSS per node.
fn charts(series: &Series) -> String {
    let window = (series.measured_from_s, series.measured_to_s);
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{}" viewBox="0 0 {WIDTH} {}">"##,
        HEIGHT * 4.0,
        HEIGHT * 4.0
    );
    let tx = Line {
        name: "committed tx/s".into(),
        points: series
            .points
            .iter()
            .map(|p| (p.t_s, Some(p.committed as f64)))
            .collect(),
    };
    let pick = |name: &str, f: fn(&super::series::SeriesPoint) -> Option<f64>| Line {
        name: name.into(),
        points: series.points.iter().map(|p| (p.t_s, f(p))).collect(),
    };
    let fin = [
        pick("p50", |p| p.finality_p50_ms),
        pick("p99", |p| p.finality_p99_ms),
    ];
    let per_node = |f: fn(&super::series::NodePoint) -> f64| -> Vec<Line> {
        series
            .nodes
            .iter()
            .map(|n| Line {
                name: n.name.clone(),
                points: n.points.iter().map(|p| (p.t_s, Some(f(p)))).collect(),
            })
            .collect()
    };
    chart(
        &mut out,
        0.0,
        "Throughput (shaded: measured)",
        "tx/s",
        &[tx],
        window,
    );
    chart(&mut out, HEIGHT, "Finality per second", "ms", &fin, window);
    let cpu = per_node(|p| p.cpu_percent);
    chart(
        &mut out,
        HEIGHT * 2.0,
        "CPU per node",
        "% of a core",
        &cpu,
        window,
    );
    let rss = per_node(|p| p.rss_mib);
    chart(
        &mut out,
        HEIGHT * 3.0,
        "Resident memory per node",
        "MiB",
        &rss,
        window,
    );
    out.push_str("</svg>");
    out
}

/// The summary table rows of the HTML page.
fn summary(r: &BenchReport) -> String {
    let mut rows = vec![
        ("workload", r.workload.clone()),
        (
            "network",
            format!(
                "{} validators, {} keys, {} CPUs",
                r.validators, r.keys, r.cpus
            ),
        ),
        ("measured", format!("{:.1} s", r.seconds)),
        (
            "committed",
            format!("{} tx, {:.0} tx/s", r.committed, r.tx_per_second),
        ),
        (
            "finality",
            format!(
                "p50 {:.0} ms, p99 {:.0} ms ({} samples)",
                r.finality_p50_ms, r.finality_p99_ms, r.latency_samples
            ),
        ),
        (
            "floor",
            format!(
                "{:.1} us CPU per ZIP-215 verification, the fastest measured at start (ledger's own {:.1} us)",
                r.floor.floor_us, r.floor.ledger_verify_us
            ),
        ),
    ];
    if let Some(w) = &r.windows {
        rows.push(("windows", w.summary()));
    }
    for n in &r.nodes {
        rows.push((
            "node",
            format!(
                "{}: peak RSS {:.1} MiB, CPU {:.2} s, {:.2} floor verifications per tx",
                n.name, n.peak_rss_mib, n.cpu_seconds, n.cpu_per_tx_in_floor
            ),
        ));
    }
    let m = &r.machine;
    rows.push((
        "clients",
        format!(
            "CPU {:.2} s, {:.2} floor verifications per tx",
            m.client_cpu_seconds, m.client_cpu_per_tx_in_floor
        ),
    ));
    rows.push((
        "machine",
        format!(
            "{:.2} floor verifications of CPU per committed tx (validators and clients): {} CPUs allow {:.0} tx/s at that cost",
            m.cpu_per_tx_in_floor, r.cpus, m.cpu_bound_tx_per_second
        ),
    ));
    if let Some(l) = &r.lifecycle {
        rows.push(("steps", format!("{:?}", l.steps)));
        rows.push(("refused", format!("{:?}", l.refused)));
        rows.push(("not admitted", format!("{:?}", l.not_admitted)));
        rows.push((
            "read back",
            format!(
                "{} documents checked, {} inconsistent",
                l.checked, l.inconsistent
            ),
        ));
    }
    if let Some(c) = &r.catch_up {
        rows.extend(super::catch_up::rows(c));
    }
    if let Some(d) = &r.disk {
        rows.extend(super::disk::rows(d));
    }
    rows.iter()
        .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v)))
        .collect()
}

/// Writes the report to `path` (SVG if it ends in `.svg`, else HTML).
pub fn write(path: &Path, r: &BenchReport) -> Result<()> {
    let svg = charts(&r.series);
    let body = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        svg
    } else {
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>lianrong bench {}</title>\
             <style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}</style>\
             </head><body><h1>lianrong bench --workload {}</h1><table>{}</table>{svg}</body></html>\n",
            escape(&r.workload),
            escape(&r.workload),
            summary(r)
        )
    };
    std::fs::write(path, body).with_context(|| format!("writing the report {}", path.display()))
}
