//! Plain-text tables with columns sized to their widest cell, for the renderers.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

/// Space between columns.
const GAP: &str = "  ";

impl Table {
    pub fn new<S: AsRef<str>>(headers: &[(S, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| (h.as_ref().to_owned(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The header line and every row, each ending in a newline, without trailing spaces.
    pub fn render(&self, out: &mut String) {
        let widths: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, (header, _))| {
                self.rows
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([header.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        self.line(out, &widths, self.headers.iter().map(|(h, _)| h.as_str()));
        for row in &self.rows {
            self.line(out, &widths, row.iter().map(String::as_str));
        }
    }

    fn line<'a>(&self, out: &mut String, widths: &[usize], cells: impl Iterator<Item = &'a str>) {
        let start = out.len();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str(GAP);
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            match self.headers[i].1 {
                Align::Left => {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
                Align::Right => {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                }
            }
        }
        let trimmed = out[start..].trim_end().len();
        out.truncate(start + trimmed);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_widest_cell() {
        let mut table = Table::new(&[("NAME", Align::Left), ("N", Align::Right), ("NOTE", Align::Left)]);
        table.row(vec!["a".into(), "1000".into(), String::new()]);
        table.row(vec!["longer".into(), "2".into(), "x".into()]);
        let mut out = String::new();
        table.render(&mut out);
        assert_eq!(out, "NAME       N  NOTE\na       1000\nlonger     2  x\n");
    }
}
