//! The performance targets, checked against one run's results: issue 24's ratios to nginx in the
//! same run ([`floor`]), and the earlier absolute targets of issue 12 (the request path) and the
//! peer ratios of issue 7 ([`evaluate`]). The keys-on targets of issue 13 are in its own section.

use crate::history::BodySize;
use crate::results::{Results, TargetRow};

const GATEWAY: &str = "switchyard";
const FLOOR: &str = "nginx";

/// A goal for a ratio.
#[derive(Debug, Clone, Copy)]
enum Goal {
    /// The ratio must not exceed this.
    AtMost(f64),
    /// The ratio must reach this.
    AtLeast(f64),
}

/// `ours ÷ theirs` when both are measured and `theirs` is above zero (an added time of nginx
/// at or below zero is noise, and no ratio to it means anything).
fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    match (ours, theirs) {
        (Some(ours), Some(theirs)) if theirs > 0.0 && ours.is_finite() => Some(ours / theirs),
        _ => None,
    }
}

/// A target row for the ratio of `ours` (named `labels.0`) to `theirs` (`labels.1`).
fn versus(
    name: &str,
    goal: Goal,
    (ours, theirs): (Option<f64>, Option<f64>),
    labels: (&str, &str),
    unit: &str,
) -> TargetRow {
    let figure = |value: Option<f64>| {
        value.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.1} {unit}"))
    };
    let parts = format!(
        "{} {}, {} {}",
        labels.0,
        figure(ours),
        labels.1,
        figure(theirs)
    );
    let (goal_text, bound) = match goal {
        Goal::AtMost(bound) => (format!("≤ {bound}×"), bound),
        Goal::AtLeast(bound) => (format!("≥ {bound}×"), bound),
    };
    let measured = ratio(ours, theirs);
    TargetRow {
        name: name.to_owned(),
        goal: goal_text,
        measured: match measured {
            Some(r) => format!("{r:.2}× ({parts})"),
            None if ours.is_some() && theirs.is_some() => {
                format!("no ratio: {} is not above 0 ({parts})", labels.1)
            }
            None => format!("not measured ({parts})"),
        },
        ratio: measured.map(|r| r / bound),
        met: measured.map(|r| match goal {
            Goal::AtMost(bound) => r <= bound,
            Goal::AtLeast(bound) => r >= bound,
        }),
    }
}

/// Issue 24's targets: Switchyard's figures as ratios to nginx's in the same run.
pub fn floor(results: &Results) -> Vec<TargetRow> {
    let pair = (GATEWAY, FLOOR);
    let c = results.throughput.connections;
    let cpu = |name: &str, size: BodySize| {
        results
            .cpu
            .iter()
            .find(|row| row.name == name && row.body == size.label())
            .and_then(|row| row.cpu_us)
    };
    let cpu_at = |size: BodySize| (cpu(GATEWAY, size), cpu(FLOOR, size));
    let closed = |name: &str| {
        results
            .throughput
            .closed
            .iter()
            .find(|row| row.name == name)
            .map(|row| row.achieved)
    };
    let added_p50 = |name: &str| {
        results
            .latency
            .iter()
            .find(|row| row.name == name)
            .and_then(|row| row.added)
            .map(|added| added[0] as f64)
    };
    let stream = |name: &str| results.streaming.serial.iter().find(|row| row.name == name);
    let ttft = |name: &str| {
        stream(name)
            .and_then(|row| row.added_ttft_p50)
            .map(|v| v as f64)
    };
    let chunk = |name: &str| stream(name).and_then(|row| row.per_chunk_us);
    let mut rows = vec![
        versus(
            &format!(
                "CPU per request at c={c} ({}), Switchyard ÷ nginx",
                BodySize::Small.label()
            ),
            Goal::AtMost(3.0),
            cpu_at(BodySize::Small),
            pair,
            "µs",
        ),
        versus(
            &format!("c={c} closed-loop throughput, Switchyard ÷ nginx"),
            Goal::AtLeast(0.4),
            (closed(GATEWAY), closed(FLOOR)),
            pair,
            "RPS",
        ),
        versus(
            "c=1 added p50, Switchyard ÷ nginx",
            Goal::AtMost(3.0),
            (added_p50(GATEWAY), added_p50(FLOOR)),
            pair,
            "µs",
        ),
        versus(
            "streaming added TTFT p50, Switchyard ÷ nginx",
            Goal::AtMost(3.0),
            (ttft(GATEWAY), ttft(FLOOR)),
            pair,
            "µs",
        ),
        versus(
            "streaming per-chunk cost, Switchyard ÷ nginx",
            Goal::AtMost(3.0),
            (chunk(GATEWAY), chunk(FLOOR)),
            pair,
            "µs",
        ),
    ];
    for size in [BodySize::Medium, BodySize::Large] {
        rows.push(versus(
            &format!(
                "CPU per request with a {} body, Switchyard ÷ nginx",
                size.label()
            ),
            Goal::AtMost(4.0),
            cpu_at(size),
            pair,
            "µs",
        ));
    }
    let stream_cpu = |name: &str| {
        results
            .cpu
            .iter()
            .find(|row| row.name == name && row.body == crate::scenarios::cpu::STREAM)
            .and_then(|row| row.cpu_us)
    };
    rows.push(versus(
        "CPU per 100-chunk stream, Switchyard ÷ nginx (the per-chunk path by CPU; not in the issue)",
        Goal::AtMost(3.0),
        (stream_cpu(GATEWAY), stream_cpu(FLOOR)),
        pair,
        "µs",
    ));
    for (database, label, goal) in [("sqlite", "SQLite", 0.9), ("postgres", "PostgreSQL", 0.8)] {
        let row = results.keys_on.iter().find(|row| row.database == database);
        rows.push(versus(
            &format!("c={c} throughput keys on ÷ keys off, {label}"),
            Goal::AtLeast(goal),
            (row.map(|r| r.rps_on), row.map(|r| r.rps_off)),
            ("on", "off"),
            "RPS",
        ));
    }
    rows
}

/// One row per target; unknown when the run lacks the measurement (e.g. peers skipped).
pub fn evaluate(results: &Results) -> Vec<TargetRow> {
    let mut rows = Vec::new();
    let latency = results.latency.iter().find(|r| r.name == GATEWAY);
    let added = latency.and_then(|r| r.added);
    rows.push(at_most(
        "added latency p50, c=1",
        50.0,
        added.map(|a| a[0] as f64),
        "µs",
    ));
    rows.push(at_most(
        "added latency p99, c=1",
        300.0,
        added.map(|a| a[2] as f64),
        "µs",
    ));

    let closed = |name: &str| results.throughput.closed.iter().find(|r| r.name == name);
    let gateway = closed(GATEWAY);
    let ratio = |peer: &str| match (gateway, closed(peer)) {
        (Some(g), Some(p)) if p.achieved > 0.0 => Some(g.achieved / p.achieved),
        _ => None,
    };
    let c = results.throughput.connections;
    rows.push(at_least(
        &format!("throughput at {c} connections vs LiteLLM"),
        30.0,
        ratio("litellm"),
        "×",
    ));
    rows.push(at_least(
        &format!("throughput at {c} connections vs Portkey"),
        10.0,
        ratio("portkey"),
        "×",
    ));
    rows.push(at_least(
        &format!("throughput at {c} connections vs bare proxy"),
        0.5,
        ratio("bare proxy"),
        "×",
    ));
    let p99_ratio = match (gateway, closed("bare proxy")) {
        (Some(g), Some(p)) if p.dist.p99 > 0 => Some(g.dist.p99 as f64 / p.dist.p99 as f64),
        _ => None,
    };
    rows.push(at_most(
        &format!("gateway p99 at {c} connections vs bare proxy's p99"),
        2.0,
        p99_ratio,
        "×",
    ));
    let max_rate = |name: &str| {
        results
            .throughput
            .max_rate
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.rate)
    };
    let rate_ratio = match (max_rate(GATEWAY), max_rate("bare proxy")) {
        (Some(g), Some(p)) if p > 0.0 => Some(g / p),
        _ => None,
    };
    rows.push(at_least(
        "highest rate with p99 ≤ 10 ms vs bare proxy",
        0.5,
        rate_ratio,
        "×",
    ));

    let stream = results.streaming.serial.iter().find(|r| r.name == GATEWAY);
    rows.push(at_most(
        "streaming added TTFT (p50)",
        500.0,
        stream.and_then(|s| s.added_ttft_p50).map(|v| v as f64),
        "µs",
    ));
    rows.push(at_most(
        "streaming per-chunk overhead",
        5.0,
        stream.and_then(|s| s.per_chunk_us),
        "µs",
    ));
    rows.push(at_most(
        "idle RSS, all first-party plugins",
        40.0,
        (results.memory.idle_mib > 0.0).then_some(results.memory.idle_mib),
        "MiB",
    ));
    let soak = &results.memory.soak;
    let allowed = (soak.early_mib * 0.02).max(1.0);
    rows.push(TargetRow {
        name: format!("RSS growth over the {:.0} s soak", soak.duration_s),
        goal: format!("none (≤ {allowed:.1} MiB: 2 % or 1 MiB of noise)"),
        measured: format!(
            "{:+.1} MiB ({:.1} → {:.1})",
            soak.growth_mib, soak.early_mib, soak.late_mib
        ),
        ratio: None,
        met: (soak.early_mib > 0.0).then_some(soak.growth_mib <= allowed),
    });
    rows
}

fn at_most(name: &str, goal: f64, measured: Option<f64>, unit: &str) -> TargetRow {
    TargetRow {
        name: name.to_owned(),
        goal: format!("≤ {goal} {unit}"),
        measured: measured.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.1} {unit}")),
        ratio: measured.map(|m| m / goal),
        met: measured.map(|m| m <= goal),
    }
}

fn at_least(name: &str, goal: f64, measured: Option<f64>, unit: &str) -> TargetRow {
    TargetRow {
        name: name.to_owned(),
        goal: format!("≥ {goal}{unit}"),
        measured: measured.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.2}{unit}")),
        ratio: measured.map(|m| m / goal),
        met: measured.map(|m| m >= goal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CpuRow, LatencyRow, RateRow, StreamRow};
    use crate::scenarios::keys_on::KeysOnRow;

    #[test]
    fn ratio_needs_both_figures_and_a_positive_floor() {
        assert_eq!(ratio(Some(120.0), Some(40.0)), Some(3.0));
        assert_eq!(ratio(Some(120.0), Some(0.0)), None);
        assert_eq!(ratio(Some(120.0), Some(-5.0)), None);
        assert_eq!(ratio(None, Some(40.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
    }

    #[test]
    fn versus_meets_bounds_in_both_directions() {
        let pair = ("switchyard", "nginx");
        let row = versus(
            "x",
            Goal::AtMost(3.0),
            (Some(120.0), Some(40.0)),
            pair,
            "µs",
        );
        assert_eq!(row.met, Some(true));
        assert_eq!(row.ratio, Some(1.0));
        assert_eq!(row.goal, "≤ 3×");
        assert!(
            row.measured
                .starts_with("3.00× (switchyard 120.0 µs, nginx 40.0 µs)")
        );
        let row = versus(
            "x",
            Goal::AtMost(3.0),
            (Some(121.0), Some(40.0)),
            pair,
            "µs",
        );
        assert_eq!(row.met, Some(false));
        let row = versus(
            "x",
            Goal::AtLeast(0.4),
            (Some(4_000.0), Some(20_000.0)),
            pair,
            "RPS",
        );
        assert_eq!(row.met, Some(false));
        assert!((row.ratio.unwrap() - 0.5).abs() < 1e-9);
        let row = versus(
            "x",
            Goal::AtLeast(0.4),
            (Some(8_000.0), Some(20_000.0)),
            pair,
            "RPS",
        );
        assert_eq!(row.met, Some(true));
        let row = versus(
            "x",
            Goal::AtMost(3.0),
            (Some(800.0), Some(-3.0)),
            pair,
            "µs",
        );
        assert_eq!(row.met, None);
        assert!(row.measured.starts_with("no ratio: nginx is not above 0"));
        let row = versus("x", Goal::AtMost(3.0), (Some(800.0), None), pair, "µs");
        assert_eq!(row.met, None);
        assert!(row.measured.starts_with("not measured"));
    }

    fn cpu(name: &str, size: BodySize, cpu_us: f64) -> CpuRow {
        CpuRow {
            name: name.to_owned(),
            body: size.label().to_owned(),
            cpu_us: Some(cpu_us),
            ..CpuRow::default()
        }
    }

    #[test]
    fn floor_takes_each_figure_from_its_section() {
        let mut results = Results::default();
        results.throughput.connections = 32;
        results.cpu = vec![
            cpu("nginx", BodySize::Small, 40.0),
            cpu("switchyard", BodySize::Small, 400.0),
            cpu("nginx", BodySize::Medium, 60.0),
            cpu("switchyard", BodySize::Medium, 180.0),
            cpu("switchyard keys on, 1 key", BodySize::Large, 1.0),
            cpu("nginx", BodySize::Large, 100.0),
            cpu("switchyard", BodySize::Large, 2_500.0),
            CpuRow {
                body: crate::scenarios::cpu::STREAM.to_owned(),
                ..cpu("nginx", BodySize::Small, 100.0)
            },
            CpuRow {
                body: crate::scenarios::cpu::STREAM.to_owned(),
                ..cpu("switchyard", BodySize::Small, 400.0)
            },
        ];
        let closed = |name: &str, achieved: f64| RateRow {
            name: name.to_owned(),
            achieved,
            ..RateRow::default()
        };
        results.throughput.closed = vec![closed("nginx", 20_000.0), closed("switchyard", 4_000.0)];
        let latency = |name: &str, added: i64| LatencyRow {
            name: name.to_owned(),
            added: Some([added, 0, 0]),
            ..LatencyRow::default()
        };
        results.latency = vec![latency("nginx", 50), latency("switchyard", 400)];
        let stream = |name: &str, ttft: i64, chunk: f64| StreamRow {
            name: name.to_owned(),
            added_ttft_p50: Some(ttft),
            per_chunk_us: Some(chunk),
            ..StreamRow::default()
        };
        results.streaming.serial = vec![stream("nginx", 200, 2.0), stream("switchyard", 500, 12.0)];
        results.keys_on = vec![KeysOnRow {
            database: "sqlite".to_owned(),
            rps_off: 1_000.0,
            rps_on: 920.0,
            ..KeysOnRow::default()
        }];
        let rows = floor(&results);
        let ratios: Vec<Option<f64>> = rows
            .iter()
            .zip([3.0, 0.4, 3.0, 3.0, 3.0, 4.0, 4.0, 3.0, 0.9, 0.8])
            .map(|(row, goal)| row.ratio.map(|r| (r * goal * 100.0).round() / 100.0))
            .collect();
        assert_eq!(
            ratios,
            [
                Some(10.0),
                Some(0.2),
                Some(8.0),
                Some(2.5),
                Some(6.0),
                Some(3.0),
                Some(25.0),
                Some(4.0),
                Some(0.92),
                None
            ]
        );
        let met: Vec<Option<bool>> = rows.iter().map(|row| row.met).collect();
        assert_eq!(
            met,
            [
                Some(false),
                Some(false),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                Some(true),
                None
            ]
        );
        assert!(rows[0].name.contains("c=32"));
    }
}
