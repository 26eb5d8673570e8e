//! The series' CSV form, the format of uploads: reading a data file (header and time column
//! recognised, missing values), writing it back, reading a `mask.csv`, and errors that name the
//! row and column of the first problem.

use std::fmt;

use crate::io::csv::{read_rows, write_rows};
use crate::series::data::TimeSeries;
use crate::series::windows::WINDOW_LEN;

/// The fewest data rows (time steps) a CSV may have: one window, [`WINDOW_LEN`].
pub const MIN_ROWS: usize = WINDOW_LEN;

/// Cells read as missing, compared case-insensitively after trimming: an empty cell, `NaN`,
/// `NA`, `N/A`, `null`.
pub const MISSING_TOKENS: &[&str] = &["", "nan", "na", "n/a", "null"];

/// First-column headers (case-insensitive) that mark the time axis even when its cells are
/// numbers. An empty first header cell (pandas' unnamed index) marks it too.
pub const TIME_HEADERS: &[&str] = &["date", "time", "datetime", "timestamp", "date_time", "day"];

/// A column of the CSV: its 1-based number in the file (time column included) and its header
/// name when there was a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub number: usize,
    pub name: Option<String>,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) if !name.is_empty() => write!(f, "column {} ({name})", self.number),
            _ => write!(f, "column {}", self.number),
        }
    }
}

/// Why a CSV (a data file or a `mask.csv`) was refused. Rows are the 1-based line numbers of the
/// file where they start, the header included: what an editor shows, and what a spreadsheet
/// shows unless a quoted cell spans lines.
#[derive(Clone, Debug, PartialEq)]
pub enum CsvError {
    /// No non-blank line.
    Empty,
    /// A quoted cell without its closing quote (it would run to the end of the file).
    UnclosedQuote { row: usize, column: Column },
    /// A row whose number of cells differs from the first row's; `column` is the first cell
    /// missing (`cells < expected`) or the first extra one.
    Ragged {
        row: usize,
        cells: usize,
        expected: usize,
        first_row: usize,
        column: Column,
    },
    /// A cell that is neither a number nor one of [`MISSING_TOKENS`].
    NotANumber {
        row: usize,
        column: Column,
        cell: String,
    },
    /// A number beyond `f32`'s range.
    OutOfRange {
        row: usize,
        column: Column,
        cell: String,
    },
    /// An empty or missing cell in the time column.
    MissingTime { row: usize, column: Column },
    /// Fewer data rows than [`MIN_ROWS`].
    TooFewRows { rows: usize, min: usize },
    /// A feature column without a single observed value.
    NoObservedValue { column: Column },
    /// A `mask.csv` cell that is not 0 or 1.
    NotZeroOrOne {
        row: usize,
        column: Column,
        cell: String,
    },
    /// A `mask.csv` with another number of rows than the data.
    MaskRows { rows: usize, expected: usize },
    /// A `mask.csv` row with another number of value columns than the data has features.
    MaskColumns {
        row: usize,
        columns: usize,
        expected: usize,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Empty => f.write_str("the file is empty"),
            CsvError::UnclosedQuote { row, column } => write!(
                f,
                "row {row}, {column}: a quoted cell has no closing quote (it would run to the end of the file)"
            ),
            CsvError::Ragged {
                row,
                cells,
                expected,
                first_row,
                column,
            } => {
                write!(f, "row {row} has {cells} cells, row {first_row} has {expected}: ")?;
                if cells < expected {
                    write!(f, "{column} is missing")
                } else {
                    write!(f, "{column} is extra")
                }
            }
            CsvError::NotANumber { row, column, cell } => write!(
                f,
                "row {row}, {column}: {cell:?} is not a number (a missing value is an empty cell, NaN or NA)"
            ),
            CsvError::OutOfRange { row, column, cell } => write!(
                f,
                "row {row}, {column}: {cell} is out of range (32-bit floats reach about 3.4e38)"
            ),
            CsvError::MissingTime { row, column } => {
                write!(f, "row {row}, {column}: the time column has no time here")
            }
            CsvError::TooFewRows { rows, min } => write!(
                f,
                "the file has {rows} data row(s); at least {min} are needed (one window)"
            ),
            CsvError::NoObservedValue { column } => {
                write!(f, "{column} has no observed value (every cell is missing)")
            }
            CsvError::NotZeroOrOne { row, column, cell } => write!(
                f,
                "row {row}, {column}: {cell:?} is not 0 or 1 (mask.csv: 1 = hidden, 0 = kept)"
            ),
            CsvError::MaskRows { rows, expected } => write!(
                f,
                "mask.csv has {rows} data row(s), the data has {expected} time steps"
            ),
            CsvError::MaskColumns {
                row,
                columns,
                expected,
            } => write!(
                f,
                "row {row}: mask.csv has {columns} value column(s), the data has {expected} features"
            ),
        }
    }
}

impl std::error::Error for CsvError {}

fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.iter().any(|m| cell.eq_ignore_ascii_case(m))
}

fn is_number(cell: &str) -> bool {
    cell.parse::<f64>().is_ok()
}

/// A cell that could be a value (a number or missing).
fn is_value(cell: &str) -> bool {
    is_missing(cell) || is_number(cell)
}

/// The CSV as text cells: optional header, data rows with their line numbers, and whether the
/// first column is the time axis. Every row has the same number of cells.
struct Grid {
    header: Option<Vec<String>>,
    rows: Vec<(usize, Vec<String>)>,
    time_column: bool,
}

impl Grid {
    fn column(&self, index: usize) -> Column {
        column_of(self.header.as_deref(), index)
    }
}

fn column_of(header: Option<&[String]>, index: usize) -> Column {
    Column {
        number: index + 1,
        name: header.map(|h| h[index].clone()),
    }
}

/// Reads the cells of a CSV ([`crate::io::csv::read_rows`]) and finds its header and time
/// column.
fn parse_grid(text: &str) -> Result<Grid, CsvError> {
    let rows = read_rows(text).map_err(|e| CsvError::UnclosedQuote {
        row: e.line,
        column: Column {
            number: e.column,
            name: None,
        },
    })?;
    let Some(first) = rows.first() else {
        return Err(CsvError::Empty);
    };
    let (first_row, first_cells) = (first.line, first.cells.clone());
    let width = first_cells.len();
    // A header: some cell after the first is text, or the first is a time header name, or a
    // single column starts with text.
    let header_row = first_cells[1..].iter().any(|c| !is_value(c))
        || (width > 1
            && TIME_HEADERS
                .iter()
                .any(|h| first_cells[0].eq_ignore_ascii_case(h)))
        || (width == 1 && !is_value(&first_cells[0]));
    let header = header_row.then_some(first_cells);
    let data: Vec<(usize, Vec<String>)> = rows
        .into_iter()
        .skip(usize::from(header_row))
        .map(|row| (row.line, row.cells))
        .collect();
    for (row, cells) in &data {
        if cells.len() != width {
            let index = cells.len().min(width);
            let column = if cells.len() < width {
                column_of(header.as_deref(), index)
            } else {
                Column {
                    number: index + 1,
                    name: None,
                }
            };
            return Err(CsvError::Ragged {
                row: *row,
                cells: cells.len(),
                expected: width,
                first_row,
                column,
            });
        }
    }
    let time_column = width > 1
        && (header.as_ref().is_some_and(|h| {
            let name = h[0].as_str();
            name.is_empty() || TIME_HEADERS.iter().any(|t| name.eq_ignore_ascii_case(t))
        }) || data.iter().any(|(_, cells)| !is_value(&cells[0])));
    Ok(Grid {
        header,
        rows: data,
        time_column,
    })
}

fn parse_value(
    cell: &str,
    row: usize,
    column: impl Fn() -> Column,
) -> Result<Option<f32>, CsvError> {
    if is_missing(cell) {
        return Ok(None);
    }
    let Ok(x) = cell.parse::<f64>() else {
        return Err(CsvError::NotANumber {
            row,
            column: column(),
            cell: cell.to_string(),
        });
    };
    if !x.is_finite() {
        return Err(CsvError::NotANumber {
            row,
            column: column(),
            cell: cell.to_string(),
        });
    }
    let v = x as f32;
    if !v.is_finite() {
        return Err(CsvError::OutOfRange {
            row,
            column: column(),
            cell: cell.to_string(),
        });
    }
    Ok(Some(v))
}

impl TimeSeries {
    /// Reads a CSV: rows are time steps, columns features.
    ///
    /// - A header row is optional: the first row is a header when a cell after the first is
    ///   text (not a number, not missing), when its first cell is a [`TIME_HEADERS`] name, or
    ///   when a single column starts with text. Without a header, features are named
    ///   `column N` (N: the column's number in the file).
    /// - The first column is the time axis when its header is empty or a [`TIME_HEADERS`] name,
    ///   or when any of its cells is text (ISO dates, date-times, any labels) — provided another
    ///   column follows. Time labels are kept as written and must not be empty.
    /// - Missing values: [`MISSING_TOKENS`] (empty, `NaN`, `NA`, …); other cells must be finite
    ///   numbers. Cells are trimmed; `"…"` quotes a cell, which may then hold delimiters, line
    ///   breaks and doubled quotes `""`; the delimiter is `,` (or `;` / tab when the first row
    ///   has no comma); blank lines are skipped.
    ///
    /// Errors ([`CsvError`]) name the row (the file's line number where the row starts, header
    /// included) and the column (number and header name): an empty file, an unclosed quote,
    /// ragged rows, non-numeric cells, fewer than [`MIN_ROWS`] data rows, a column without an
    /// observed value.
    pub fn from_csv(text: &str) -> Result<TimeSeries, CsvError> {
        let grid = parse_grid(text)?;
        let skip = usize::from(grid.time_column);
        let width = grid.rows.first().map_or_else(
            || grid.header.as_ref().map_or(0, Vec::len),
            |(_, cells)| cells.len(),
        );
        let features = width - skip; // ≥ 1: a time column is only recognised before another
        let mut values = Vec::with_capacity(grid.rows.len() * features);
        let mut observed = Vec::with_capacity(grid.rows.len() * features);
        let mut times = grid.time_column.then(Vec::new);
        for (row, cells) in &grid.rows {
            if let Some(times) = times.as_mut() {
                if is_missing(&cells[0]) {
                    return Err(CsvError::MissingTime {
                        row: *row,
                        column: grid.column(0),
                    });
                }
                times.push(cells[0].clone());
            }
            for (index, cell) in cells.iter().enumerate().skip(skip) {
                let value = parse_value(cell, *row, || grid.column(index))?;
                values.push(value.unwrap_or(0.0));
                observed.push(value.is_some());
            }
        }
        if grid.rows.len() < MIN_ROWS {
            return Err(CsvError::TooFewRows {
                rows: grid.rows.len(),
                min: MIN_ROWS,
            });
        }
        for k in 0..features {
            if !observed.iter().skip(k).step_by(features).any(|&o| o) {
                return Err(CsvError::NoObservedValue {
                    column: grid.column(k + skip),
                });
            }
        }
        let names = (skip..width)
            .map(|index| match &grid.header {
                Some(h) if !h[index].is_empty() => h[index].clone(),
                _ => format!("column {}", index + 1),
            })
            .collect();
        Ok(TimeSeries {
            names,
            times,
            values,
            observed,
        })
    }

    /// The series as CSV ([`crate::io::csv::write_rows`]): a header (`date` for the time column
    /// when there is one, then the names), one row per time step, an empty cell where the
    /// value is missing. Values are written in the shortest form that reads back to the same
    /// `f32`.
    pub fn to_csv(&self) -> String {
        let features = self.features();
        let time_header = self.times.as_ref().map(|_| "date".to_string());
        let header = time_header.into_iter().chain(self.names.iter().cloned());
        let rows = (0..self.len()).map(|t| {
            let time = self.times.as_ref().map(|times| times[t].clone());
            let values = (0..features).map(move |k| {
                self.get(t, k)
                    .map_or_else(String::new, |value| format!("{value}"))
            });
            time.into_iter().chain(values).collect::<Vec<String>>()
        });
        write_rows(std::iter::once(header.collect::<Vec<String>>()).chain(rows))
    }

    /// Reads a `mask.csv` that marks the values to hide for evaluation: the data's shape without
    /// its time column (one row per time step, one column per feature), 1 = hidden, 0 = kept.
    /// A header row and a time column are allowed (recognised as in [`TimeSeries::from_csv`])
    /// and ignored. Returns the hidden cells that are observed (a missing value has nothing to
    /// score: a 1 there is dropped), `[len, features]`. Errors name the row and column.
    pub fn read_mask_csv(&self, text: &str) -> Result<Vec<bool>, CsvError> {
        let grid = parse_grid(text)?;
        let skip = usize::from(grid.time_column);
        let features = self.features();
        if grid.rows.len() != self.len() {
            return Err(CsvError::MaskRows {
                rows: grid.rows.len(),
                expected: self.len(),
            });
        }
        let mut hidden = Vec::with_capacity(self.observed.len());
        for (row, cells) in &grid.rows {
            if cells.len() - skip != features {
                return Err(CsvError::MaskColumns {
                    row: *row,
                    columns: cells.len() - skip,
                    expected: features,
                });
            }
            for (index, cell) in cells.iter().enumerate().skip(skip) {
                let bit = match cell.parse::<f64>() {
                    Ok(0.0) => false,
                    Ok(1.0) => true,
                    _ => {
                        return Err(CsvError::NotZeroOrOne {
                            row: *row,
                            column: grid.column(index),
                            cell: cell.clone(),
                        })
                    }
                };
                hidden.push(bit);
            }
        }
        for (h, &o) in hidden.iter_mut().zip(&self.observed) {
            *h &= o;
        }
        Ok(hidden)
    }
}
