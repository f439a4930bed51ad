//! Progress bars for long benchmark runs (indicatif), and printing beside them.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar over a benchmark's `runs` server runs: elapsed time, runs done, ETA and the
/// current run as its message. Hidden when stderr is not a terminal.
pub fn bar(runs: usize) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta}: {msg}",
    )
    .expect("the progress template is valid");
    let bar = ProgressBar::new(runs as u64).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Prints a line above the bar, or plainly when the bar is hidden (indicatif then drops
/// its own `println`). Not to be called inside `ProgressBar::suspend`, which holds the
/// bar's lock: print directly there.
pub fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
