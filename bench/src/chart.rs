//! `latest.png`: latency (p50 and p99) against achieved load, log-log, one line per contender,
//! from every open-loop run of section 2. Drawn with plotters and a system TrueType font.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::prelude::*;

use crate::results::Results;

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn register_font() -> anyhow::Result<()> {
    let path = FONTS
        .iter()
        .find(|path| Path::new(path).exists())
        .context("no TrueType font found (install fonts-dejavu-core)")?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{path} is not a usable font"))
}

fn colour(name: &str) -> RGBColor {
    match name {
        "direct" => RGBColor(40, 40, 40),
        "bare proxy" => RGBColor(31, 119, 180),
        "switchyard" => RGBColor(214, 39, 40),
        "litellm" => RGBColor(44, 160, 44),
        "portkey" => RGBColor(148, 103, 189),
        _ => RGBColor(255, 127, 14),
    }
}

/// Draws the chart to `path`.
pub fn draw(results: &Results, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    // name → (achieved RPS, p50 ms, p99 ms), in order of offered load (an overloaded run
    // achieves less than it was offered, so the line bends back).
    let mut series: BTreeMap<&str, Vec<(f64, f64, f64)>> = BTreeMap::new();
    let mut curve: Vec<_> = results.throughput.curve.iter().collect();
    curve.sort_by(|a, b| {
        a.offered
            .unwrap_or(0.0)
            .total_cmp(&b.offered.unwrap_or(0.0))
    });
    for row in curve {
        if row.achieved > 0.0 && row.dist.p50 > 0 {
            series.entry(row.name.as_str()).or_default().push((
                row.achieved,
                row.dist.p50 as f64 / 1e3,
                row.dist.p99 as f64 / 1e3,
            ));
        }
    }
    if series.is_empty() {
        return Err(anyhow!("no open-loop points to draw"));
    }
    let all = series.values().flatten();
    let x_max = all.clone().map(|p| p.0).fold(1.0, f64::max) * 1.5;
    let x_min = all.clone().map(|p| p.0).fold(f64::MAX, f64::min).max(1.0) / 1.5;
    let y_max = all.clone().map(|p| p.2).fold(1.0, f64::max) * 2.0;
    let y_min = all.map(|p| p.1).fold(f64::MAX, f64::min).max(0.001) / 2.0;

    let root = BitMapBackend::new(path, (1400, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let (left, right) = root.split_horizontally(700);
    for (area, title, pick) in [
        (&left, "p50 latency vs load", 1usize),
        (&right, "p99 latency vs load", 2usize),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("achieved requests per second")
            .y_desc("latency, ms")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        if pick == 2 && y_max > 10.0 {
            chart
                .draw_series(LineSeries::new(
                    [(x_min, 10.0), (x_max, 10.0)],
                    ShapeStyle::from(&RGBColor(150, 150, 150)).stroke_width(1),
                ))
                .map_err(|e| anyhow!("{e}"))?
                .label("p99 bound, 10 ms")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
        }
        for (name, points) in &series {
            let style = ShapeStyle::from(&colour(name)).stroke_width(2);
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.0, if pick == 1 { p.1 } else { p.2 }))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), style))
                .map_err(|e| anyhow!("{e}"))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            chart
                .draw_series(line.into_iter().map(|p| Circle::new(p, 3, style.filled())))
                .map_err(|e| anyhow!("{e}"))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present()
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
