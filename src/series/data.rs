//! Demo 3's data and evaluation (CSDI, Tashiro et al. 2021): multivariate time series with
//! missing values, read from CSV; per-feature normalisation; windows and a split by time; CSDI's
//! target-choice masks for self-supervised training; held-out values for evaluation; the
//! paper's metrics (quantile CRPS, MAE, RMSE) and three simple baselines.
//!
//! Layout: a series of `len` time steps and `features` features is stored row-major,
//! `[len, features]`: cell `(t, k)` is at `t * features + k`. Masks are `Vec<bool>` in the same
//! layout. Sample sets are `[nsample, cells]` row-major: sample `s` of cell `c` is at
//! `s * cells + c`.
//!
//! Masks, in CSDI's vocabulary: `observed` (the data has a value), `cond` (observed values given
//! to the model as conditioning), targets (`observed && !cond`: hidden observed values, where the
//! model is trained or scored). Everything here is plain Rust: it compiles for wasm32 as well.

use crate::core::rng::SeededRng;
use std::fmt;
use std::ops::Range;

/// Time steps per window (CSDI's `eval_length` for the air-quality data: 36).
pub const WINDOW_LEN: usize = 36;

/// The fewest data rows (time steps) a CSV may have: one window, [`WINDOW_LEN`].
pub const MIN_ROWS: usize = WINDOW_LEN;

/// Cells read as missing, compared case-insensitively after trimming: an empty cell, `NaN`,
/// `NA`, `N/A`, `null`.
pub const MISSING_TOKENS: &[&str] = &["", "nan", "na", "n/a", "null"];

/// First-column headers (case-insensitive) that mark the time axis even when its cells are
/// numbers. An empty first header cell (pandas' unnamed index) marks it too.
pub const TIME_HEADERS: &[&str] = &["date", "time", "datetime", "timestamp", "date_time", "day"];

/// Samples per window at inference (the paper's 100).
pub const DEFAULT_NSAMPLE: usize = 100;

/// Fraction of the observed values hidden for evaluation by default.
pub const DEFAULT_EVAL_RATIO: f64 = 0.1;

/// Number of quantile levels in the CRPS: 0.05, 0.10, …, 0.95.
pub const CRPS_LEVELS: usize = 19;

/// The quantile levels of the paper's CRPS, exactly as `np.arange(0.05, 1.0, 0.05)` computes
/// them (`0.05 + i * 0.05` in double precision).
pub fn crps_levels() -> [f64; CRPS_LEVELS] {
    std::array::from_fn(|i| 0.05 + i as f64 * 0.05)
}

// ---------------------------------------------------------------------------------------------
// The series and its CSV form

/// A multivariate time series with missing values.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// One name per feature (the CSV header, or `column N` without a header).
    pub names: Vec<String>,
    /// One label per time step when the CSV had a time column (dates are kept as written).
    pub times: Option<Vec<String>>,
    /// `[len, features]` row-major; 0.0 where the value is missing (CSDI's `fillna(0)`).
    pub values: Vec<f32>,
    /// `[len, features]` row-major: whether the value was observed.
    pub observed: Vec<bool>,
}

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

/// Why a CSV (a data file or a `mask.csv`) was refused. Rows are 1-based line numbers of the
/// file, the header included, as a spreadsheet numbers them.
#[derive(Clone, Debug, PartialEq)]
pub enum CsvError {
    /// No non-blank line.
    Empty,
    /// A quoted cell that does not end on its line.
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
                "row {row}, {column}: a quoted cell does not end on its line (cells may not span lines)"
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

/// Splits one line into trimmed cells; `"…"` quotes a cell, `""` inside quotes is a quote.
fn split_line(line: &str, delimiter: char, row: usize) -> Result<Vec<String>, CsvError> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
        } else if c == '"' && cell.trim().is_empty() && !was_quoted {
            cell.clear();
            quoted = true;
            was_quoted = true;
        } else if was_quoted && c.is_whitespace() && c != delimiter {
            // Spaces between a closing quote and the delimiter are not part of the cell.
        } else if c == delimiter {
            cells.push(finish_cell(&cell, was_quoted));
            cell.clear();
            was_quoted = false;
        } else {
            cell.push(c);
        }
    }
    if quoted {
        return Err(CsvError::UnclosedQuote {
            row,
            column: Column {
                number: cells.len() + 1,
                name: None,
            },
        });
    }
    cells.push(finish_cell(&cell, was_quoted));
    Ok(cells)
}

fn finish_cell(cell: &str, quoted: bool) -> String {
    if quoted {
        // The quoted text is kept as is, spaces included.
        cell.to_string()
    } else {
        cell.trim().to_string()
    }
}

/// Reads the cells of a CSV, finds its delimiter, header and time column. The delimiter is a
/// comma, or a semicolon or tab when the first line has no comma outside quotes but one of those.
fn parse_grid(text: &str) -> Result<Grid, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let Some(&(_, first)) = lines.first() else {
        return Err(CsvError::Empty);
    };
    // Delimiters in the first line outside quotes.
    let mut in_quotes = false;
    let unquoted: String = first
        .chars()
        .filter(|&c| {
            in_quotes ^= c == '"';
            !in_quotes && c != '"'
        })
        .collect();
    let delimiter = [',', ';', '\t']
        .into_iter()
        .find(|&d| unquoted.contains(d))
        .unwrap_or(',');
    let mut rows = Vec::with_capacity(lines.len());
    for &(row, line) in &lines {
        rows.push((row, split_line(line, delimiter, row)?));
    }
    let (first_row, first_cells) = rows[0].clone();
    let width = first_cells.len();
    // A header: some cell after the first is text, or the first is a time header name, or a
    // single column starts with text.
    let header_row = first_cells[1..].iter().any(|c| !is_value(c))
        || (width > 1
            && TIME_HEADERS
                .iter()
                .any(|h| first_cells[0].eq_ignore_ascii_case(h)))
        || (width == 1 && !is_value(&first_cells[0]));
    let header = header_row.then(|| first_cells.clone());
    let data: Vec<(usize, Vec<String>)> = rows.into_iter().skip(usize::from(header_row)).collect();
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

fn quote_csv(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r', ';', '\t']) || text.trim() != text {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
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
    ///   numbers. Cells are trimmed; `"…"` quotes a cell; the delimiter is `,` (or `;` / tab
    ///   when the first line has no comma); blank lines are skipped.
    ///
    /// Errors ([`CsvError`]) name the row (the file's line number, header included) and the
    /// column (number and header name): an empty file, ragged rows, non-numeric cells, fewer
    /// than [`MIN_ROWS`] data rows, a column without an observed value.
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

    /// The series as CSV: a header (`date` for the time column when there is one, then the
    /// names), one row per time step, an empty cell where the value is missing. Values are
    /// written in the shortest form that reads back to the same `f32`.
    pub fn to_csv(&self) -> String {
        let features = self.features();
        let mut out = String::new();
        let mut header: Vec<String> = Vec::with_capacity(features + 1);
        if self.times.is_some() {
            header.push("date".to_string());
        }
        header.extend(self.names.iter().map(|n| quote_csv(n)));
        out.push_str(&header.join(","));
        out.push('\n');
        for t in 0..self.len() {
            let mut cells: Vec<String> = Vec::with_capacity(features + 1);
            if let Some(times) = &self.times {
                cells.push(quote_csv(&times[t]));
            }
            for k in 0..features {
                let i = t * features + k;
                cells.push(if self.observed[i] {
                    format!("{}", self.values[i])
                } else {
                    String::new()
                });
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Number of time steps.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.features()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.names.len()
    }

    /// The value at time step `t` of feature `k`, `None` when missing.
    pub fn get(&self, t: usize, k: usize) -> Option<f32> {
        let i = t * self.features() + k;
        self.observed[i].then(|| self.values[i])
    }

    /// Fraction of the cells that are missing.
    pub fn missing_fraction(&self) -> f64 {
        let missing = self.observed.iter().filter(|&&o| !o).count();
        missing as f64 / self.observed.len().max(1) as f64
    }

    /// Windows of `len` steps every `stride` steps over the whole series (see [`windows`]).
    pub fn windows(&self, len: usize, stride: usize) -> Vec<Window> {
        windows(0..self.len(), len, stride)
    }

    /// Three contiguous time ranges (see [`split_by_time`]).
    pub fn split_by_time(&self, train: f64, valid: f64, test: f64) -> Result<TimeSplit, String> {
        split_by_time(self.len(), train, valid, test)
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

// ---------------------------------------------------------------------------------------------
// Normalisation

/// Per-feature standardisation, as CSDI's data loaders do: `(x - mean) / std` with the mean and
/// the (population) standard deviation of the observed values, missing values set to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Fits on the observed values of the time steps `rows` (the training range, so that no
    /// statistic leaks from validation or test). A feature without observed values there gets
    /// mean 0 and std 1; one whose values are all equal gets std 1.
    pub fn fit(series: &TimeSeries, rows: Range<usize>) -> Normalizer {
        let features = series.features();
        let observed_in = |k: usize| {
            rows.clone().filter_map(move |t| {
                let i = t * features + k;
                series.observed[i].then(|| series.values[i] as f64)
            })
        };
        let (mut mean, mut std) = (Vec::with_capacity(features), Vec::with_capacity(features));
        for k in 0..features {
            let (n, sum) = observed_in(k).fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
            if n == 0 {
                mean.push(0.0);
                std.push(1.0);
                continue;
            }
            let m = sum / n as f64;
            let var = observed_in(k).map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            mean.push(m as f32);
            std.push(if sd > 1e-12 { sd as f32 } else { 1.0 });
        }
        Normalizer { mean, std }
    }

    /// `[len, features]` values standardised; 0 where not observed.
    pub fn normalize(&self, values: &[f32], observed: &[bool]) -> Vec<f32> {
        let features = self.mean.len();
        values
            .iter()
            .zip(observed)
            .enumerate()
            .map(|(i, (&x, &o))| {
                let k = i % features;
                if o {
                    (x - self.mean[k]) / self.std[k]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The inverse of [`Normalizer::normalize`] on every cell (samples, medians):
    /// `x * std + mean`. Works on any number of rows, e.g. `[nsample * len, features]`.
    pub fn denormalize(&self, values: &[f32]) -> Vec<f32> {
        let features = self.mean.len();
        values
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let k = i % features;
                x * self.std[k] + self.mean[k]
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Windows and the split by time

/// A window of time steps `start..start + len`. `skip`: its leading steps already covered by
/// the window before it (non-zero only for the last window that [`windows`] aligns to the end
/// of the range; CSDI's `cut_length`): evaluation scores only steps `start + skip..`, so that
/// every step is scored once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub len: usize,
    pub skip: usize,
}

impl Window {
    /// The time steps it covers.
    pub fn rows(&self) -> Range<usize> {
        self.start..self.start + self.len
    }

    /// Its cells in a `[len, features]` row-major layout (rows are contiguous).
    pub fn cells(&self, features: usize) -> Range<usize> {
        self.start * features..(self.start + self.len) * features
    }
}

/// Windows of `len` steps inside `range`, one every `stride` steps from its start (stride 1:
/// every window, for training; stride `len`: tiling, for evaluation). When the last one ends
/// before the range does, one more window ends exactly at the range's end, with `skip` set to
/// the steps it shares with the one before. No window leaves the range; a range shorter than
/// `len` has none. A stride of 0 is taken as 1.
pub fn windows(range: Range<usize>, len: usize, stride: usize) -> Vec<Window> {
    let stride = stride.max(1);
    if len == 0 || range.end < range.start + len {
        return Vec::new();
    }
    let mut out: Vec<Window> = (range.start..=range.end - len)
        .step_by(stride)
        .map(|start| Window {
            start,
            len,
            skip: 0,
        })
        .collect();
    let covered = out.last().map_or(range.start, |w| w.start + len);
    if covered < range.end {
        let start = range.end - len;
        out.push(Window {
            start,
            len,
            skip: covered - start,
        });
    }
    out
}

/// Three contiguous, disjoint ranges of time steps covering the series in order: train, then
/// validation, then test (no window of one range sees a step of another).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSplit {
    pub train: Range<usize>,
    pub valid: Range<usize>,
    pub test: Range<usize>,
}

/// Splits `len` time steps by the given proportions (normalised by their sum, e.g. 0.7, 0.1,
/// 0.2): the boundaries are `round(len * train / sum)` and `round(len * (train + valid) / sum)`.
/// Proportions must be finite, non-negative and not all zero.
pub fn split_by_time(len: usize, train: f64, valid: f64, test: f64) -> Result<TimeSplit, String> {
    let parts = [train, valid, test];
    if parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return Err(format!(
            "split proportions must be finite and non-negative, got {train}/{valid}/{test}"
        ));
    }
    let sum: f64 = parts.iter().sum();
    if sum <= 0.0 {
        return Err("split proportions are all zero".to_string());
    }
    let a = ((len as f64 * train / sum).round() as usize).min(len);
    let b = ((len as f64 * (train + valid) / sum).round() as usize).clamp(a, len);
    Ok(TimeSplit {
        train: 0..a,
        valid: a..b,
        test: b..len,
    })
}

// ---------------------------------------------------------------------------------------------
// Target choice for training (CSDI's masks)

/// How training hides observed values (CSDI's "target choice strategies", §4.3 and appendix B
/// of the paper; `target_strategy` in the official code). The link's choice, one type from the
/// page to the CLI.
pub use crate::series::params::MaskStrategy;

/// Python's `round`: to the nearest integer, halves to even (`round(2.5) == 2`).
fn round_half_even(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

/// `k` of the observed cells, uniformly at random (a partial Fisher–Yates shuffle).
fn choose_observed(observed: &[bool], k: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut cells: Vec<usize> = (0..observed.len()).filter(|&i| observed[i]).collect();
    let k = k.min(cells.len());
    for i in 0..k {
        let j = i + rng.below((cells.len() - i) as u64) as usize;
        cells.swap(i, j);
    }
    cells.truncate(k);
    cells
}

/// CSDI's `get_randmask` for one window: a ratio drawn uniformly in [0, 1), then
/// `round(ratio × observed)` observed cells (Python's rounding) chosen uniformly are hidden; the
/// other observed cells are the conditioning. (The official code takes the `topk` of uniform
/// keys over the observed cells: the same distribution.)
pub fn random_mask(observed: &[bool], rng: &mut SeededRng) -> Vec<bool> {
    let ratio = rng.uniform();
    let n_observed = observed.iter().filter(|&&o| o).count();
    let k = round_half_even(n_observed as f64 * ratio);
    let mut cond = observed.to_vec();
    for i in choose_observed(observed, k, rng) {
        cond[i] = false;
    }
    cond
}

/// The conditioning mask of one training window (`observed` values kept as conditioning; the
/// hidden observed values are the targets), as CSDI's official code draws it:
/// - `Random`: [`random_mask`];
/// - `Historical`: `observed && pattern`, `pattern` being the observed mask of another window
///   (`get_hist_mask`: the values missing there are hidden here, so training sees the data's
///   real missing patterns);
/// - `Mix`: with probability 1/2 `Random`, otherwise `Historical` (`mask_choice > 0.5` picks
///   the random mask);
/// - `TestPattern`: `observed && pattern`, `pattern` being a test-time conditioning pattern
///   (which values stay given when imputing, e.g. `!hidden` of a `mask.csv`): the paper's
///   strategy for when the missing pattern of the test data is known.
///
/// `pattern` must have `observed.len()` cells for every strategy but `Random`, which ignores
/// it (pass `&[]`); a wrong length panics. See [`conditional_masks`] for CSDI's pairing of
/// windows in a batch.
pub fn conditional_mask(
    strategy: MaskStrategy,
    observed: &[bool],
    pattern: &[bool],
    rng: &mut SeededRng,
) -> Vec<bool> {
    let use_pattern = |pattern: &[bool]| -> Vec<bool> {
        assert_eq!(
            pattern.len(),
            observed.len(),
            "the {strategy} strategy needs a pattern mask of the window's shape"
        );
        observed
            .iter()
            .zip(pattern)
            .map(|(&o, &p)| o && p)
            .collect()
    };
    match strategy {
        MaskStrategy::Random => random_mask(observed, rng),
        MaskStrategy::Historical | MaskStrategy::TestPattern => use_pattern(pattern),
        MaskStrategy::Mix => {
            if rng.uniform() > 0.5 {
                random_mask(observed, rng)
            } else {
                use_pattern(pattern)
            }
        }
    }
}

/// Conditioning masks for a batch of windows, pairing them as CSDI's `get_hist_mask` does:
/// window `i` takes the pattern of window `i - 1` (the last one for `i = 0`). `patterns`: one
/// per window, the observed masks of other windows (CSDI's `hist_mask` for the air-quality
/// data) or test patterns; `None` uses the batch's own observed masks (CSDI's default).
pub fn conditional_masks(
    strategy: MaskStrategy,
    observed: &[Vec<bool>],
    patterns: Option<&[Vec<bool>]>,
    rng: &mut SeededRng,
) -> Vec<Vec<bool>> {
    let patterns = patterns.unwrap_or(observed);
    assert_eq!(patterns.len(), observed.len(), "one pattern per window");
    let n = observed.len();
    (0..n)
        .map(|i| {
            let pattern = &patterns[(i + n - 1) % n];
            conditional_mask(strategy, &observed[i], pattern, rng)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Held-out values for evaluation

/// Which observed cells to hide for evaluation: exactly `round(ratio × observed)` of them
/// (Python's rounding, halves to even), chosen uniformly with [`SeededRng`]`::new(seed)`.
/// `ratio` is clamped to [0, 1] (NaN counts as 0). The hidden cells are the targets; the
/// conditioning is `observed && !hidden`. To hide only in the test range, pass the slice of its
/// rows (`observed[test.start * features..test.end * features]`).
pub fn hide_for_evaluation(observed: &[bool], ratio: f64, seed: u64) -> Vec<bool> {
    let ratio = if ratio.is_nan() {
        0.0
    } else {
        ratio.clamp(0.0, 1.0)
    };
    let n_observed = observed.iter().filter(|&&o| o).count();
    let k = round_half_even(n_observed as f64 * ratio);
    let mut rng = SeededRng::new(seed);
    let mut hidden = vec![false; observed.len()];
    for i in choose_observed(observed, k, &mut rng) {
        hidden[i] = true;
    }
    hidden
}

/// The conditioning mask left when `hidden` cells are taken out of `observed`.
pub fn conditioning(observed: &[bool], hidden: &[bool]) -> Vec<bool> {
    observed
        .iter()
        .zip(hidden)
        .map(|(&o, &h)| o && !h)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// The `tau`-quantile of sorted values with linear interpolation between order statistics
/// (NumPy's and `torch.quantile`'s default): position `tau × (n - 1)`.
pub fn quantile_sorted(sorted: &[f32], tau: f64) -> f64 {
    let n = sorted.len();
    assert!(n > 0, "the quantile of no value");
    let pos = tau.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    a + (b - a) * (pos - lo as f64)
}

/// The samples of each cell, sorted: `samples` is `[nsample, cells]`.
fn sorted_cell(samples: &[f32], nsample: usize, cells: usize, c: usize, buf: &mut Vec<f32>) {
    buf.clear();
    buf.extend((0..nsample).map(|s| samples[s * cells + c]));
    buf.sort_by(f32::total_cmp);
}

fn cells_of(samples: &[f32], nsample: usize) -> usize {
    assert!(nsample > 0, "no samples");
    assert_eq!(
        samples.len() % nsample,
        0,
        "samples must be [nsample, cells]"
    );
    samples.len() / nsample
}

/// Per-cell quantiles of `samples` (`[nsample, cells]`) at each level of `taus`, linearly
/// interpolated ([`quantile_sorted`]): `[taus.len(), cells]`. The 5–95 % band is
/// `quantiles(samples, nsample, &[0.05, 0.95])`.
pub fn quantiles(samples: &[f32], nsample: usize, taus: &[f64]) -> Vec<f32> {
    let cells = cells_of(samples, nsample);
    let mut out = vec![0.0; taus.len() * cells];
    let mut buf = Vec::with_capacity(nsample);
    for c in 0..cells {
        sorted_cell(samples, nsample, cells, c, &mut buf);
        for (j, &tau) in taus.iter().enumerate() {
            out[j * cells + c] = quantile_sorted(&buf, tau) as f32;
        }
    }
    out
}

/// Per-cell median of `samples` (`[nsample, cells]`) as `torch.median` (CSDI's point estimate
/// for MAE and RMSE): for an even number of samples, the lower of the two middle values.
pub fn median(samples: &[f32], nsample: usize) -> Vec<f32> {
    let cells = cells_of(samples, nsample);
    let mut buf = Vec::with_capacity(nsample);
    (0..cells)
        .map(|c| {
            sorted_cell(samples, nsample, cells, c, &mut buf);
            buf[(nsample - 1) / 2]
        })
        .collect()
}

/// The paper's CRPS (`calc_quantile_CRPS` in CSDI's `utils.py`): for each of the 19 levels τ of
/// [`crps_levels`], the quantile loss `2 Σ |(q_τ − y) · (1[y ≤ q_τ] − τ)|` over the evaluated
/// cells, with `q_τ` the linearly interpolated τ-quantile of the cell's samples, divided by
/// `Σ |y|` over the evaluated cells; the mean over the 19 levels. Values in data units
/// (denormalise first, as the official code does). `samples`: `[nsample, cells]`; `truth`
/// and `eval`: `[cells]`. NaN when nothing is evaluated or `Σ |y| = 0`.
pub fn crps(samples: &[f32], nsample: usize, truth: &[f32], eval: &[bool]) -> f64 {
    let cells = cells_of(samples, nsample);
    assert_eq!(truth.len(), cells, "truth must have one value per cell");
    assert_eq!(eval.len(), cells, "eval must have one flag per cell");
    let levels = crps_levels();
    let mut loss = [0.0f64; CRPS_LEVELS];
    let mut denom = 0.0f64;
    let mut buf = Vec::with_capacity(nsample);
    for c in (0..cells).filter(|&c| eval[c]) {
        let y = truth[c] as f64;
        denom += y.abs();
        sorted_cell(samples, nsample, cells, c, &mut buf);
        for (l, &tau) in loss.iter_mut().zip(&levels) {
            let q = quantile_sorted(&buf, tau);
            let indicator = if y <= q { 1.0 } else { 0.0 };
            *l += 2.0 * ((q - y) * (indicator - tau)).abs();
        }
    }
    if denom == 0.0 {
        return f64::NAN;
    }
    loss.iter().map(|l| l / denom).sum::<f64>() / CRPS_LEVELS as f64
}

/// Mean absolute error of `pred` over the evaluated cells (NaN when there are none).
pub fn mae(pred: &[f32], truth: &[f32], eval: &[bool]) -> f64 {
    let (sum, n) = eval_sum(pred, truth, eval, |d| d.abs());
    sum / n as f64
}

/// Root mean squared error of `pred` over the evaluated cells (NaN when there are none).
pub fn rmse(pred: &[f32], truth: &[f32], eval: &[bool]) -> f64 {
    let (sum, n) = eval_sum(pred, truth, eval, |d| d * d);
    (sum / n as f64).sqrt()
}

fn eval_sum(pred: &[f32], truth: &[f32], eval: &[bool], f: impl Fn(f64) -> f64) -> (f64, usize) {
    assert!(
        pred.len() == truth.len() && truth.len() == eval.len(),
        "shapes differ"
    );
    let mut sum = 0.0;
    let mut n = 0;
    for i in (0..eval.len()).filter(|&i| eval[i]) {
        sum += f(pred[i] as f64 - truth[i] as f64);
        n += 1;
    }
    (if n == 0 { f64::NAN } else { sum }, n)
}

/// The scores of one method on the evaluated cells.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Scores {
    pub crps: f64,
    pub mae: f64,
    pub rmse: f64,
    /// Number of evaluated cells.
    pub n_eval: usize,
}

/// Scores of a probabilistic imputation, as the paper reports them: CRPS of the samples, MAE
/// and RMSE of their [`median`].
pub fn score_samples(samples: &[f32], nsample: usize, truth: &[f32], eval: &[bool]) -> Scores {
    let point = median(samples, nsample);
    Scores {
        crps: crps(samples, nsample, truth, eval),
        mae: mae(&point, truth, eval),
        rmse: rmse(&point, truth, eval),
        n_eval: eval.iter().filter(|&&e| e).count(),
    }
}

/// Scores of a point imputation (a baseline). Its CRPS is that of one sample, every quantile
/// equal to the prediction, which reduces to `Σ |ŷ − y| / Σ |y|` over the evaluated cells.
pub fn score_point(pred: &[f32], truth: &[f32], eval: &[bool]) -> Scores {
    score_samples(pred, 1, truth, eval)
}

// ---------------------------------------------------------------------------------------------
// Baselines

crate::named_choice! {
    /// Simple imputations to compare with: the per-feature mean, linear interpolation in time,
    /// last observation carried forward.
    pub enum Baseline {
        Mean = "mean",
        Linear = "linear",
        Locf = "locf",
    } default Linear
}

impl Baseline {
    /// The imputed `[len, features]` matrix; see [`impute_mean`], [`impute_linear`],
    /// [`impute_locf`].
    pub fn impute(self, values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
        match self {
            Baseline::Mean => impute_mean(values, cond, features),
            Baseline::Linear => impute_linear(values, cond, features),
            Baseline::Locf => impute_locf(values, cond, features),
        }
    }

    /// Every baseline's scores on the `eval` cells of `truth` (`[len, features]`), each imputing
    /// from the `cond` cells.
    pub fn score_all(
        truth: &[f32],
        cond: &[bool],
        eval: &[bool],
        features: usize,
    ) -> Vec<(Baseline, Scores)> {
        Baseline::ALL
            .iter()
            .map(|&b| {
                (
                    b,
                    score_point(&b.impute(truth, cond, features), truth, eval),
                )
            })
            .collect()
    }
}

/// Per-feature mean of the conditioning values; a feature without any takes the mean of all
/// conditioning values (0 when there are none at all).
fn feature_means(values: &[f32], cond: &[bool], features: usize) -> Vec<f64> {
    let mut sum = vec![0.0f64; features];
    let mut count = vec![0usize; features];
    for (i, (&x, &c)) in values.iter().zip(cond).enumerate() {
        if c {
            sum[i % features] += x as f64;
            count[i % features] += 1;
        }
    }
    let total: usize = count.iter().sum();
    let overall = if total > 0 {
        sum.iter().sum::<f64>() / total as f64
    } else {
        0.0
    };
    (0..features)
        .map(|k| {
            if count[k] > 0 {
                sum[k] / count[k] as f64
            } else {
                overall
            }
        })
        .collect()
}

fn check_shape(values: &[f32], cond: &[bool], features: usize) -> usize {
    assert!(features > 0, "no feature");
    assert_eq!(values.len(), cond.len(), "values and mask differ in length");
    assert_eq!(values.len() % features, 0, "values are not [len, features]");
    values.len() / features
}

/// Every non-conditioning cell gets its feature's mean over the conditioning cells
/// (`[len, features]`; conditioning cells keep their values).
pub fn impute_mean(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    values
        .iter()
        .zip(cond)
        .enumerate()
        .map(|(i, (&x, &c))| if c { x } else { means[i % features] as f32 })
        .collect()
}

/// Linear interpolation in time (by step index) between the nearest conditioning values of the
/// same feature before and after; before the first and after the last, that value (constant
/// extrapolation). A feature without conditioning values takes the [`impute_mean`] fallback.
pub fn impute_linear(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    let len = check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    let mut out = values.to_vec();
    for (k, &mean) in means.iter().enumerate() {
        let at = |t: usize| t * features + k;
        let known: Vec<usize> = (0..len).filter(|&t| cond[at(t)]).collect();
        let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
            (0..len).for_each(|t| out[at(t)] = mean as f32);
            continue;
        };
        (0..first).for_each(|t| out[at(t)] = values[at(first)]);
        (last + 1..len).for_each(|t| out[at(t)] = values[at(last)]);
        for pair in known.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (ya, yb) = (values[at(a)] as f64, values[at(b)] as f64);
            for t in a + 1..b {
                let w = (t - a) as f64 / (b - a) as f64;
                out[at(t)] = (ya + (yb - ya) * w) as f32;
            }
        }
    }
    out
}

/// Last observation carried forward: each non-conditioning cell takes the latest earlier
/// conditioning value of its feature, or, when none came before, the next one (next
/// observation carried backward). A feature without conditioning values takes the
/// [`impute_mean`] fallback.
pub fn impute_locf(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    let len = check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    let mut out = values.to_vec();
    for (k, &mean) in means.iter().enumerate() {
        let at = |t: usize| t * features + k;
        let Some(first) = (0..len).find(|&t| cond[at(t)]) else {
            (0..len).for_each(|t| out[at(t)] = mean as f32);
            continue;
        };
        let mut last = values[at(first)];
        for t in 0..len {
            if cond[at(t)] {
                last = values[at(t)];
            } else {
                out[at(t)] = last;
            }
        }
    }
    out
}
