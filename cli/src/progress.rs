//! Renders engine progress: an indicatif bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hvelv_engine::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress output for one command.
pub struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
    files: AtomicU64,
    bytes: AtomicU64,
    total_files: AtomicU64,
    total_bytes: AtomicU64,
    warnings: AtomicU64,
    last_line: Mutex<Instant>,
    start: Instant,
    verb: &'static str,
}

impl Reporter {
    /// A reporter; `quiet` shows nothing but warnings.
    pub fn new(verb: &'static str, quiet: bool, json: bool) -> Arc<Reporter> {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !quiet && !json).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(5));
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Arc::new(Reporter {
            plain: !tty && !quiet && !json,
            bar,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total_files: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            warnings: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
            start: Instant::now(),
            verb,
        })
    }

    /// True if a bar is drawn (the engine may then pre-scan for totals).
    pub fn wants_totals(&self) -> bool {
        self.bar.is_some()
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    fn update(&self) {
        let files = self.files.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_position(bytes);
            b.set_message(format!("{} {files} files", self.verb));
        } else if self.plain {
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= Duration::from_secs(10) {
                *last = Instant::now();
                let secs = self.start.elapsed().as_secs_f64().max(0.001);
                eprintln!(
                    "[{:>6.0}s] {} {files} files, {:.1} MiB ({:.1} MiB/s)",
                    secs,
                    self.verb,
                    bytes as f64 / 1048576.0,
                    bytes as f64 / 1048576.0 / secs
                );
            }
        }
    }
}

impl Progress for Reporter {
    fn totals(&self, files: u64, bytes: u64) {
        if files > 0 {
            self.total_files.store(files, Ordering::Relaxed);
            self.total_bytes.store(bytes, Ordering::Relaxed);
        } else {
            self.total_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if let Some(b) = &self.bar {
            b.set_length(self.total_bytes.load(Ordering::Relaxed));
        }
    }
    fn files(&self, n: u64) {
        self.files.fetch_add(n, Ordering::Relaxed);
        self.update();
    }
    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.update();
    }
    fn warn(&self, msg: &str) {
        self.warnings.fetch_add(1, Ordering::Relaxed);
        match &self.bar {
            Some(b) => b.println(format!("warning: {msg}")),
            None => eprintln!("warning: {msg}"),
        }
    }
}
