//! HdrHistogram's percentile distribution text (`.hgrm`), as Java's
//! `AbstractHistogram.outputPercentileDistribution` prints it, so the files open in
//! HdrHistogram's online plotter (<https://hdrhistogram.github.io/HdrHistogram/plotFiles.html>)
//! and in anything that reads that format.
//!
//! A header line, one row per percentile step (`Value Percentile TotalCount
//! 1/(1-Percentile)`; the last row, at percentile 1, has no fourth column), then a footer
//! with the mean, standard deviation, maximum, count and bucket layout.

use std::fmt::Write;

use hdrhistogram::Histogram;

/// Percentile steps per halving of the distance to 100%, as in HdrHistogram's own output.
pub const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The percentile distribution of `histogram` with every value divided by `scale` (1000
/// turns nanoseconds into microseconds).
pub fn percentile_distribution(histogram: &Histogram<u64>, scale: f64) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let w = &mut out;
    writeln!(w, "{:>12} {:>14} {:>10} {:>14}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
        .unwrap();
    let mut total = 0u64;
    if !histogram.is_empty() {
        for step in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total += step.count_since_last_iteration();
            let value = step.value_iterated_to() as f64 / scale;
            let quantile = step.quantile_iterated_to();
            if quantile < 1.0 {
                writeln!(w, "{value:12.3} {quantile:2.12} {total:10} {:14.2}", 1.0 / (1.0 - quantile))
                    .unwrap();
            } else {
                writeln!(w, "{value:12.3} {quantile:2.12} {total:10}").unwrap();
            }
        }
    }
    let mean = histogram.mean() / scale;
    let stdev = histogram.stdev() / scale;
    let max = histogram.max() as f64 / scale;
    writeln!(w, "#[Mean    = {mean:12.3}, StdDeviation   = {stdev:12.3}]").unwrap();
    writeln!(w, "#[Max     = {max:12.3}, Total count    = {:12}]", histogram.len()).unwrap();
    writeln!(w, "#[Buckets = {:12}, SubBuckets     = {:12}]", histogram.buckets(), sub_buckets(histogram))
        .unwrap();
    out
}

/// Sub-buckets per bucket: the smallest power of two holding 2 × 10^sigfig values
/// (HdrHistogram's layout; the crate does not expose the number).
fn sub_buckets(histogram: &Histogram<u64>) -> u64 {
    (2 * 10u64.pow(u32::from(histogram.sigfig()))).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn rows_climb_to_the_maximum_and_count_every_value() {
        let h = histogram((1..=10_000).map(|i| i * 1000));
        let text = percentile_distribution(&h, 1000.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)");
        assert_eq!(lines[1], "");
        let rows: Vec<Vec<&str>> = lines[2..]
            .iter()
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert!(rows.len() > 20, "only {} rows", rows.len());
        assert_eq!(rows[0][0], "1.000");
        assert_eq!(rows[0][1], "0.000000000000");
        assert_eq!(rows[0][3], "1.00");
        let last = rows.last().unwrap();
        assert_eq!(last.len(), 3, "the row at percentile 1 has no 1/(1-Percentile)");
        assert_eq!(last[1], "1.000000000000");
        assert_eq!(last[2], "10000");
        let values: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        assert!((values.last().unwrap() - 10_000.0).abs() <= 10.0);
        assert!(text.contains("#[Max     =    10002.431, Total count    =        10000]"), "{text}");
        assert!(text.contains("#[Buckets =           26, SubBuckets     =         2048]"), "{text}");
    }

    #[test]
    fn an_empty_histogram_has_a_header_and_a_footer_only() {
        let text = percentile_distribution(&histogram([]), 1000.0);
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("Total count    =            0"));
    }
}
