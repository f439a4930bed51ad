//! Latency percentile charts in the style of HdrHistogram's plotter
//! (<https://hdrhistogram.github.io/HdrHistogram/plotFiles.html>): the x axis is
//! 1/(1-percentile) on a log scale, so 50%, 90%, 99%, 99.9%, ... are equally spaced and
//! the tail gets as much room as the median; the y axis is latency in µs, also log scale,
//! so a 20 µs median and a 5 ms tail both stay readable.
//!
//! Input is the `.hgrm` text `latency --hgrm` writes (HdrHistogram's percentile
//! distribution format); output an SVG drawn with plotters.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use plotters::prelude::*;

/// One row of an `.hgrm` table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Latency in the file's unit (µs here).
    pub value: f64,
    /// 0 to 1.
    pub percentile: f64,
}

/// The table rows of an `.hgrm` file, header and footer skipped.
pub fn parse_hgrm(text: &str) -> Result<Vec<Point>> {
    let mut points = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut number_field = |name: &str| -> Result<f64> {
            let field = fields.next().ok_or_else(|| anyhow!("line {}: no {name} column", number + 1))?;
            field.parse().with_context(|| format!("line {}: {name} {field:?} is not a number", number + 1))
        };
        let value = number_field("Value")?;
        let percentile = number_field("Percentile")?;
        if !(0.0..=1.0).contains(&percentile) {
            bail!("line {}: percentile {percentile} is outside 0..1", number + 1);
        }
        points.push(Point { value, percentile });
    }
    Ok(points)
}

/// A line on the chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    /// Rows of one run; a series can repeat a label (one line per round, one legend entry).
    pub points: &'a [Point],
}

/// Where 1/(1-p) puts a row; the 100% row has no place on the axis and is left out.
fn x_of(point: &Point) -> Option<f64> {
    (point.percentile < 1.0).then(|| 1.0 / (1.0 - point.percentile))
}

/// "99.9%" for x = 1000: the percentile at 1/(1-p) = x, with as many decimals as it needs.
fn percentile_label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 1.0 / x);
    let decimals = (x.log10().round() as i32 - 2).max(0) as usize;
    format!("{percentile:.decimals$}%")
}

/// Draws the series into an SVG at `path`.
pub fn draw(path: &Path, title: &str, series: &[Series<'_>]) -> Result<()> {
    let xs = series.iter().flat_map(|s| s.points.iter().filter_map(x_of));
    let x_max = xs.fold(100.0f64, f64::max);
    // Up to the next power of ten, so the last tick (e.g. 99.99%) is on the axis.
    let x_max = 10f64.powf(x_max.log10().ceil());
    let values = || series.iter().flat_map(|s| s.points.iter().map(|p| p.value)).filter(|v| *v > 0.0);
    let (y_min, y_max) = values().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if y_min > y_max {
        bail!("no latency values to plot for {title:?}");
    }
    let (y_min, y_max) = (y_min / 1.5, y_max * 1.5);
    let key_points: Vec<f64> =
        [1.0, 2.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7].into_iter().filter(|&x| x <= x_max).collect();

    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    let chart_error = |err: &dyn std::fmt::Display| anyhow!("could not draw {}: {err}", path.display());
    root.fill(&WHITE).map_err(|e| chart_error(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        // Room for the last percentile label, centred on the right edge.
        .margin_right(40)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((1.0..x_max).log_scale().with_key_points(key_points), (y_min..y_max).log_scale())
        .map_err(|e| chart_error(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs)")
        .x_label_formatter(&|x| percentile_label(*x))
        .y_label_formatter(&|y| if *y >= 10.0 { format!("{y:.0}") } else { format!("{y:.1}") })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(|e| chart_error(&e))?;

    let mut labelled = Vec::new();
    for s in series {
        let style = s.color.stroke_width(2);
        let points = s.points.iter().filter_map(|p| Some((x_of(p)?, p.value.max(y_min))));
        let drawn = chart.draw_series(LineSeries::new(points, style)).map_err(|e| chart_error(&e))?;
        if !labelled.contains(&s.label) {
            labelled.push(s.label);
            drawn.label(s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| chart_error(&e))?;
    root.present().map_err(|e| chart_error(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HGRM: &str = "       Value     Percentile TotalCount 1/(1-Percentile)

      16.111 0.000000000000          2           1.00
      18.159 0.500000000000       4362           2.00
      98.623 0.990000000000      21000         100.00
    8552.447 1.000000000000      21740
#[Mean    =       45.968, StdDeviation   =      300.704]
#[Max     =     8552.447, Total count    =        21740]
#[Buckets =           26, SubBuckets     =         2048]
";

    #[test]
    fn parses_the_rows_and_skips_header_and_footer() {
        let points = parse_hgrm(HGRM).unwrap();
        assert_eq!(points.len(), 4);
        assert_eq!(points[1], Point { value: 18.159, percentile: 0.5 });
        assert_eq!(points[3], Point { value: 8552.447, percentile: 1.0 });
    }

    #[test]
    fn a_row_with_a_bad_number_names_its_line() {
        let err = parse_hgrm("  1.0 0.5 1 2.0\n  x 0.9 2 10.0\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }

    #[test]
    fn percentiles_are_labelled_like_hdrhistogram_plots() {
        let labels: Vec<String> = [1.0, 2.0, 10.0, 100.0, 1e3, 1e4, 1e5].map(percentile_label).to_vec();
        assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    }

    #[test]
    fn draws_an_svg_with_both_series_and_the_percentile_axis() {
        let points = parse_hgrm(HGRM).unwrap();
        let slower: Vec<Point> = points.iter().map(|p| Point { value: p.value * 2.0, ..*p }).collect();
        let dir = std::env::temp_dir().join(format!("sluice-chart-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("chart.svg");
        let series = [
            Series { label: "Sluice", color: RGBColor(31, 119, 180), points: &points },
            Series { label: "kernel", color: RGBColor(214, 39, 40), points: &slower },
        ];
        draw(&path, "TCP echo, 1 connection", &series).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        for text in ["TCP echo, 1 connection", "Sluice", "kernel", "99%", "50%", "percentile"] {
            assert!(svg.contains(text), "the chart lacks {text:?}");
        }
        for color in ["#1F77B4", "#D62728"] {
            let lines = svg.matches(&format!("stroke=\"{color}\"")).count();
            assert_eq!(lines, 2, "{color}: one data line and one legend sample, not {lines}");
        }
    }
}
