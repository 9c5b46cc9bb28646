//! CPU time and context switches of processes, read from `/proc`, so CPU per request can be
//! counted without `perf` (hardware counters read 0 in these VMs anyway; this is the task clock).
//!
//! CPU time is `utime + stime` of `/proc/<pid>/stat`, which for a process covers all its threads,
//! including threads that have exited. Context switches are `voluntary_ctxt_switches +
//! nonvoluntary_ctxt_switches` of `/proc/<pid>/task/<tid>/status`, summed over the live threads
//! (the kernel keeps no per-process total of those).

use std::time::Duration;

use anyhow::Context;

/// What a set of processes has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time, user and system.
    pub cpu: Duration,
    /// Context switches, voluntary and not.
    pub switches: u64,
}

impl Usage {
    /// The usage between `self` (earlier) and `later`.
    pub fn until(self, later: Usage) -> Usage {
        Usage {
            cpu: later.cpu.saturating_sub(self.cpu),
            switches: later.switches.saturating_sub(self.switches),
        }
    }

    /// Adds `other` to this.
    pub fn add(&mut self, other: Usage) {
        self.cpu += other.cpu;
        self.switches += other.switches;
    }

    /// CPU µs and context switches per request over `requests`; none without requests.
    pub fn per_request(self, requests: u64) -> Option<(f64, f64)> {
        (requests > 0).then(|| {
            (
                self.cpu.as_secs_f64() * 1e6 / requests as f64,
                self.switches as f64 / requests as f64,
            )
        })
    }
}

/// The summed usage of `pids` now.
pub fn read(pids: &[u32]) -> anyhow::Result<Usage> {
    let hz = clock_ticks_per_second();
    let mut total = Usage::default();
    for &pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
        let ticks = cpu_ticks(&stat).with_context(|| format!("unreadable /proc/{pid}/stat"))?;
        total.cpu += Duration::from_secs_f64(ticks as f64 / hz as f64);
        total.switches += thread_switches(pid);
    }
    Ok(total)
}

/// The children of `parent` (the processes whose parent pid it is), e.g. nginx's workers.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_pid(&stat))
                == Some(parent)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The fields of a `/proc/<pid>/stat` line after the command name (which may hold spaces and
/// parentheses, so the line is split after its last `)`): field 3 (`state`) is the first.
fn fields_after_name(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// `utime + stime` (fields 14 and 15) in clock ticks.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let fields = fields_after_name(stat)?;
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// `ppid` (field 4).
fn parent_pid(stat: &str) -> Option<u32> {
    fields_after_name(stat)?.get(4 - 3)?.parse().ok()
}

/// Voluntary plus non-voluntary context switches of one `status` file.
fn switches(status: &str) -> u64 {
    status
        .lines()
        .filter(|line| {
            line.starts_with("voluntary_ctxt_switches:")
                || line.starts_with("nonvoluntary_ctxt_switches:")
        })
        .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

fn thread_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("status");
            Some(switches(&std::fs::read_to_string(path).ok()?))
        })
        .sum()
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as u64 } else { 100 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (tokio-rt (1) x) S 4200 4242 4242 0 -1 4194560 1234 0 0 0 \
                        350 150 0 0 20 0 8 0 12345 1000000 500 18446744073709551615";

    #[test]
    fn stat_fields_after_a_name_with_spaces_and_parentheses() {
        assert_eq!(cpu_ticks(STAT), Some(500));
        assert_eq!(parent_pid(STAT), Some(4200));
        assert_eq!(cpu_ticks("4242 (x"), None);
    }

    #[test]
    fn switches_add_both_kinds() {
        let status =
            "Name:\tnginx\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(switches(status), 127);
        assert_eq!(switches("Name:\tx\n"), 0);
    }

    #[test]
    fn per_request_divides_the_difference() {
        let before = Usage {
            cpu: Duration::from_millis(1_000),
            switches: 50,
        };
        let after = Usage {
            cpu: Duration::from_millis(1_400),
            switches: 2_050,
        };
        let used = before.until(after);
        assert_eq!(used.cpu, Duration::from_millis(400));
        let (cpu_us, switches) = used.per_request(10_000).unwrap();
        assert!((cpu_us - 40.0).abs() < 1e-9, "{cpu_us}");
        assert!((switches - 0.2).abs() < 1e-9, "{switches}");
        assert_eq!(used.per_request(0), None);
        let mut total = used;
        total.add(used);
        assert_eq!(total.cpu, Duration::from_millis(800));
    }

    #[test]
    fn reads_this_process_and_finds_a_child() {
        let me = std::process::id();
        let spent = read(&[me]).unwrap();
        let busy = std::time::Instant::now();
        while busy.elapsed() < Duration::from_millis(60) {
            std::hint::black_box(busy.elapsed());
        }
        let later = read(&[me]).unwrap();
        assert!(later.cpu > spent.cpu, "{spent:?} → {later:?}");
        assert!(later.switches >= spent.switches);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = children(me).contains(&child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found);
    }
}
