//! CSV tables as rows of text cells, read and written through the `csv` crate; what the cells
//! mean (headers, numbers, missing values) is left to the domain that reads them.
//!
//! Why a crate rather than a splitter of our own: CSV's quoting has corners (a delimiter or a
//! line break inside quotes, doubled quotes, CR/LF endings) that a hand-written splitter gets
//! wrong one at a time, as ours did when it split lines before it looked at quotes. The `csv`
//! crate is a widely used, well-kept RFC 4180 parser, and it runs in wasm32 as it does natively.

use csv::{ByteRecord, QuoteStyle, ReaderBuilder, Terminator, WriterBuilder};

/// One non-blank row of a table: the 1-based line of the file it starts on (a cell may span
/// lines, so rows and lines can differ) and its cells, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// A quoted cell whose closing quote never comes: it would run to the end of the file.
/// `column` is the 1-based number of the cell in its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnclosedQuote {
    pub line: usize,
    pub column: usize,
}

/// The delimiters a table may use, in the order they are tried.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// What the crate reports when reading from memory: I/O and UTF-8 errors, neither of which a
/// `&str` in memory can raise.
const READ_FROM_MEMORY: &str = "reading CSV records from a string in memory cannot fail";

/// The rows of a CSV, every cell trimmed; blank lines are skipped, and rows may differ in
/// length (the caller names what is missing). A UTF-8 byte-order mark is ignored. The
/// delimiter is a comma, or a semicolon or a tab when the first row has no comma outside
/// quotes but one of those.
pub fn read_rows(text: &str) -> Result<Vec<Row>, UnclosedQuote> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The crate reads an unclosed quote to the end of the input without an error. A line added
    // after the text makes it visible: outside quotes, that line is a row of its own that
    // starts right after the text; an unclosed quote swallows it into its cell.
    let input = format!("{text}\nend");
    let end = text.len() + 1;
    let mut reader = reader(&input, detect_delimiter(text));
    let mut rows = Vec::new();
    let mut record = ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .expect(READ_FROM_MEMORY)
    {
        let (start, line) = start_of(&input, &record);
        if start == end {
            return Ok(rows);
        }
        if is_blank(&input[start..]) {
            continue;
        }
        rows.push(Row {
            line,
            cells: record
                .iter()
                .map(|cell| String::from_utf8_lossy(cell).trim().to_string())
                .collect(),
        });
    }
    let last = rows.pop().expect("the added line is in the last row");
    Err(UnclosedQuote {
        line: last.line,
        column: last.cells.len(),
    })
}

fn reader(input: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input.as_bytes())
}

/// The byte offset and the 1-based line where a record read from `input` starts. The crate
/// records where the previous record ended, before the empty lines (and the `\n` of a `\r\n`)
/// it skips.
fn start_of(input: &str, record: &ByteRecord) -> (usize, usize) {
    let position = record
        .position()
        .expect("records read from a reader have a position");
    let after_previous = position.byte() as usize;
    let skipped = &input.as_bytes()[after_previous..];
    let gap = skipped
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let lines = skipped[..gap].iter().filter(|&&b| b == b'\n').count();
    (after_previous + gap, position.line() as usize + lines)
}

/// A row that starts on a line of spaces only (the crate itself skips empty lines). A line with
/// a quote or a delimiter in it is not blank, so a row of empty cells is kept.
fn is_blank(from_row_start: &str) -> bool {
    from_row_start
        .split('\n')
        .next()
        .is_some_and(|line| line.trim().is_empty())
}

/// The first delimiter that splits the first non-blank row into several cells; a comma when
/// none does (a table of one column).
fn detect_delimiter(text: &str) -> u8 {
    let splits = |delimiter: u8| {
        let mut reader = reader(text, delimiter);
        let mut record = ByteRecord::new();
        while reader
            .read_byte_record(&mut record)
            .expect(READ_FROM_MEMORY)
        {
            let (start, _) = start_of(text, &record);
            if !is_blank(&text[start..]) {
                return record.len() > 1;
            }
        }
        false
    };
    DELIMITERS
        .into_iter()
        .find(|&d| splits(d))
        .unwrap_or(DELIMITERS[0])
}

/// Rows as CSV text, comma-separated with `\n` line ends, a cell quoted only when it must be
/// (a comma, a quote or a line break in it). A table of one column quotes its text cells and
/// empty cells: [`read_rows`] would otherwise take a `;` or a tab in its first row for the
/// delimiter, and a row of one empty cell for a blank line.
pub fn write_rows<R, C>(rows: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = C>,
    C: AsRef<[u8]>,
{
    let rows: Vec<Vec<C>> = rows.into_iter().map(|r| r.into_iter().collect()).collect();
    let one_column = rows.iter().all(|r| r.len() == 1);
    let mut writer = WriterBuilder::new()
        .terminator(Terminator::Any(b'\n'))
        .quote_style(if one_column {
            QuoteStyle::NonNumeric
        } else {
            QuoteStyle::Necessary
        })
        .from_writer(Vec::new());
    for row in &rows {
        writer
            .write_record(row)
            .expect("writing CSV records to memory cannot fail");
    }
    let bytes = writer
        .into_inner()
        .expect("flushing CSV records to memory cannot fail");
    String::from_utf8(bytes).expect("CSV written from UTF-8 cells is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(rows: &[Row]) -> Vec<Vec<&str>> {
        rows.iter()
            .map(|r| r.cells.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn quotes_may_hold_delimiters_doubled_quotes_and_line_breaks() {
        let rows = read_rows("name,\"a, b\"\n\"say \"\"hi\"\"\",\"two\r\nlines\"\n3,4\n").unwrap();
        assert_eq!(
            cells(&rows),
            [
                vec!["name", "a, b"],
                vec!["say \"hi\"", "two\r\nlines"],
                vec!["3", "4"]
            ]
        );
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 2, 4],
            "a row's line is the line it starts on"
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        let rows = read_rows("\u{feff}a;b\r\n\r\n  \r\n1;2\r\n;\r\n").unwrap();
        assert_eq!(cells(&rows), [vec!["a", "b"], vec!["1", "2"], vec!["", ""]]);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 4, 5]);
        assert_eq!(read_rows("\n \n").unwrap(), []);
        assert_eq!(read_rows("").unwrap(), []);
    }

    #[test]
    fn the_delimiter_is_the_first_that_splits_the_first_row() {
        assert_eq!(cells(&read_rows("a\tb\n1\t2").unwrap())[1], ["1", "2"]);
        assert_eq!(
            cells(&read_rows("\"a;b\",c\n1,2").unwrap())[0],
            ["a;b", "c"]
        );
        assert_eq!(
            cells(&read_rows("\"a,b\";c\n1;2").unwrap())[0],
            ["a,b", "c"]
        );
        assert_eq!(cells(&read_rows("a\n1;2").unwrap())[1], ["1;2"]);
    }

    #[test]
    fn an_unclosed_quote_names_its_line_and_column() {
        assert_eq!(
            read_rows("a,b\n1,2\n3,\"4\n5,6\n").unwrap_err(),
            UnclosedQuote { line: 3, column: 2 }
        );
        assert_eq!(
            read_rows("\"a").unwrap_err(),
            UnclosedQuote { line: 1, column: 1 }
        );
        assert!(
            read_rows("a,\"b\"").is_ok(),
            "a closing quote at the very end"
        );
    }

    #[test]
    fn written_rows_read_back() {
        let table = vec![
            vec!["date", "a, b", "say \"hi\""],
            vec!["2005-01-01", "two\nlines", ""],
        ];
        let text = write_rows(&table);
        assert_eq!(
            text,
            "date,\"a, b\",\"say \"\"hi\"\"\"\n2005-01-01,\"two\nlines\",\n"
        );
        assert_eq!(cells(&read_rows(&text).unwrap()), table);
        let column = vec![vec!["a;b"], vec!["1.5"], vec![""]];
        let text = write_rows(&column);
        assert_eq!(text, "\"a;b\"\n1.5\n\"\"\n");
        assert_eq!(cells(&read_rows(&text).unwrap()), column);
    }
}
