//! The 28×28 image sets (MNIST, Fashion-MNIST, Animal-MNIST) in the two forms
//! `scripts/fetch-data.sh` writes them:
//!
//! - `data/<set>/{train,test}-{images,labels}.idx`: uncompressed IDX files, read by the native
//!   command line ([`read_idx`], [`load_split`]);
//! - `www/data/<set>.bin`: one file per set that the page downloads and hands to the wasm side
//!   ([`read_page_bin`], or [`read_page_header`] and [`PageHeader::decode_chunk`] to decode it
//!   chunk by chunk while it arrives).
//!
//! # The page format (version 1)
//!
//! All integers are `u32`, little-endian.
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `GLDS` |
//! | 4 | version (1) |
//! | 8 | header length: bytes before the first chunk payload |
//! | 12, 16 | rows, cols |
//! | 20 | number of classes |
//! | 24, 28 | train count, test count |
//! | 32 | number of chunks |
//! | 36 | length of the metadata |
//! | 40 | chunk table, 16 bytes a chunk: split (0 train, 1 test), index of its first image in the split, image count, payload length |
//! | … | metadata: UTF-8 JSON (`name`, `title`, `classes`, `source`, `license`, `split`) |
//! | header length | the payloads, in table order: each a zlib stream (RFC 1950) of `count·rows·cols` pixels (row-major, 0 = background) then `count` labels |
//!
//! The script writes the test split first, then the train split in chunks of 10 000 images, so a
//! page that reads the file as it streams has the whole test split and the first train images
//! early. Each chunk carries zlib's Adler-32 checksum, which the decoder checks.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// IDX magic of a label file: unsigned bytes, one dimension.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// IDX magic of an image file: unsigned bytes, three dimensions (count, rows, cols).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The sets `scripts/fetch-data.sh` builds, by directory name under `data/`.
pub const SETS: [&str; 3] = ["mnist", "fashion", "animal"];

/// The first bytes of a page file.
pub const PAGE_MAGIC: [u8; 4] = *b"GLDS";
/// The page format version this reader understands.
pub const PAGE_VERSION: u32 = 1;
/// Bytes of the fixed part of the page header (before the chunk table).
pub const PAGE_FIXED_HEADER: usize = 40;
const PAGE_CHUNK_ENTRY: usize = 16;

/// Why an IDX or page file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdxError {
    /// The first four bytes are not an IDX magic (`00 00 <type> <rank>`).
    BadMagic { found: [u8; 4] },
    /// An IDX element type other than unsigned byte (0x08).
    UnsupportedType { code: u8 },
    /// The file ends before the `needed` bytes its header promises.
    Truncated {
        what: String,
        needed: usize,
        found: usize,
    },
    /// Bytes after the end the header promises.
    TrailingBytes {
        what: String,
        expected: usize,
        found: usize,
    },
    /// An array of the wrong rank: labels are 1-D, images 3-D.
    WrongRank {
        what: String,
        expected: usize,
        found: usize,
    },
    /// Images and labels of different counts.
    CountMismatch { images: usize, labels: usize },
    /// A label outside `0..classes`.
    LabelOutOfRange {
        index: usize,
        label: u8,
        classes: usize,
    },
    /// A file that could not be read.
    Io { path: PathBuf, message: String },
    /// A file that was read but is not a valid IDX file.
    File { path: PathBuf, error: Box<IdxError> },
    /// A page file that breaks its format.
    Page(String),
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::BadMagic { found } => {
                let hex = found.map(|b| format!("{b:02x}")).join(" ");
                write!(f, "not an IDX file: it starts with {hex}, IDX starts with 00 00 08 <rank>")?;
                if found[..2] == [0x1f, 0x8b] {
                    write!(f, " (this is gzip: scripts/fetch-data.sh writes the IDX files uncompressed)")?;
                }
                Ok(())
            }
            IdxError::UnsupportedType { code } => write!(
                f,
                "IDX element type 0x{code:02x} is not supported; only unsigned bytes (0x08) are"
            ),
            IdxError::Truncated { what, needed, found } => write!(
                f,
                "truncated {what}: {found} bytes, its header needs {needed} (rerun scripts/fetch-data.sh)"
            ),
            IdxError::TrailingBytes { what, expected, found } => write!(
                f,
                "{what} has {found} bytes, its header accounts for {expected}"
            ),
            IdxError::WrongRank { what, expected, found } => write!(
                f,
                "{what} has {found} dimension(s), expected {expected}"
            ),
            IdxError::CountMismatch { images, labels } => write!(
                f,
                "{images} images but {labels} labels: the two files belong to different sets"
            ),
            IdxError::LabelOutOfRange { index, label, classes } => write!(
                f,
                "label {label} of image {index} is outside 0..{classes}"
            ),
            IdxError::Io { path, message } => write!(
                f,
                "cannot read {}: {message} (scripts/fetch-data.sh writes the data files)",
                path.display()
            ),
            IdxError::File { path, error } => write!(f, "{}: {error}", path.display()),
            IdxError::Page(message) => write!(f, "bad page data file: {message}"),
        }
    }
}

impl std::error::Error for IdxError {}

/// An IDX array of unsigned bytes: its dimensions (outermost first) and its data in row-major
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

impl IdxArray {
    /// The magic number this array has in an IDX file (`0x0801` for labels, `0x0803` for images).
    pub fn magic(&self) -> u32 {
        0x0800 | self.dims.len() as u32
    }

    /// The array as an IDX file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.data.len());
        out.extend_from_slice(&self.magic().to_be_bytes());
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// Reads an uncompressed IDX file of unsigned bytes (any rank from 1 to 255): magic
/// `00 00 08 <rank>`, then `rank` big-endian `u32` dimensions, then the data. The length must
/// match the dimensions exactly.
pub fn read_idx(bytes: &[u8]) -> Result<IdxArray, IdxError> {
    let what = || "IDX file".to_string();
    let Some(magic) = bytes.get(..4) else {
        return Err(IdxError::Truncated {
            what: what(),
            needed: 4,
            found: bytes.len(),
        });
    };
    let found = [magic[0], magic[1], magic[2], magic[3]];
    if found[0] != 0 || found[1] != 0 || found[3] == 0 {
        return Err(IdxError::BadMagic { found });
    }
    if found[2] != 0x08 {
        return Err(IdxError::UnsupportedType { code: found[2] });
    }
    let rank = found[3] as usize;
    let header = 4 + 4 * rank;
    let Some(dim_bytes) = bytes.get(4..header) else {
        return Err(IdxError::Truncated {
            what: what(),
            needed: header,
            found: bytes.len(),
        });
    };
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header))
        .ok_or_else(|| IdxError::Truncated {
            what: format!("IDX file with dimensions {dims:?}"),
            needed: usize::MAX,
            found: bytes.len(),
        })?;
    if bytes.len() < len {
        return Err(IdxError::Truncated {
            what: what(),
            needed: len,
            found: bytes.len(),
        });
    }
    if bytes.len() > len {
        return Err(IdxError::TrailingBytes {
            what: what(),
            expected: len,
            found: bytes.len(),
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// A split of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// `train` or `test`, as in the file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            _ => Err(format!("unknown split `{s}` (train or test)")),
        }
    }
}

/// One split of a set: `count` images of `rows × cols` unsigned bytes (row-major, one image
/// after another) and their labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledImages {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
}

impl LabelledImages {
    /// Pairs an image array (3-D) with a label array (1-D) of the same count.
    pub fn from_idx(images: IdxArray, labels: IdxArray) -> Result<Self, IdxError> {
        if images.dims.len() != 3 {
            return Err(IdxError::WrongRank {
                what: "the image file".into(),
                expected: 3,
                found: images.dims.len(),
            });
        }
        if labels.dims.len() != 1 {
            return Err(IdxError::WrongRank {
                what: "the label file".into(),
                expected: 1,
                found: labels.dims.len(),
            });
        }
        let (count, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
        if labels.dims[0] != count {
            return Err(IdxError::CountMismatch {
                images: count,
                labels: labels.dims[0],
            });
        }
        Ok(LabelledImages {
            images: images.data,
            labels: labels.data,
            count,
            rows,
            cols,
        })
    }

    /// Pixels in one image.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Image `i`, row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }

    /// The mean pixel value over all images, scaled to `[0, 1]`.
    pub fn pixel_mean(&self) -> f64 {
        if self.images.is_empty() {
            return 0.0;
        }
        let sum: u64 = self.images.iter().map(|&p| p as u64).sum();
        sum as f64 / (self.images.len() as f64 * 255.0)
    }

    /// How many images each label has (index = label).
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = Vec::new();
        for &l in &self.labels {
            if counts.len() <= l as usize {
                counts.resize(l as usize + 1, 0);
            }
            counts[l as usize] += 1;
        }
        counts
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, IdxError> {
    std::fs::read(path).map_err(|e| IdxError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Loads `<dir>/<split>-images.idx` and `<dir>/<split>-labels.idx`, e.g. `load_split("data/mnist",
/// Split::Train)`. Errors name the file.
pub fn load_split(dir: impl AsRef<Path>, split: Split) -> Result<LabelledImages, IdxError> {
    let dir = dir.as_ref();
    let read = |kind: &str| {
        let path = dir.join(format!("{split}-{kind}.idx"));
        read_file(&path).and_then(|bytes| {
            read_idx(&bytes).map_err(|e| IdxError::File {
                path: path.clone(),
                error: Box::new(e),
            })
        })
    };
    LabelledImages::from_idx(read("images")?, read("labels")?)
}

// ---------------------------------------------------------------------------------------------
// The page format

/// The metadata JSON of a page file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PageMeta {
    /// Directory name of the set (`mnist`, `fashion`, `animal`).
    pub name: String,
    /// Name to show (`Fashion-MNIST`).
    pub title: String,
    /// Class names, index = label.
    pub classes: Vec<String>,
    /// Where the data comes from.
    #[serde(default)]
    pub source: String,
    /// The data's license.
    #[serde(default)]
    pub license: String,
    /// How train and test were split.
    #[serde(default)]
    pub split: String,
}

/// One compressed chunk of a page file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageChunk {
    pub split: Split,
    /// Index of its first image within the split.
    pub start: usize,
    /// Images in the chunk.
    pub count: usize,
    /// Byte offset of its zlib payload in the file.
    pub offset: usize,
    /// Length of the payload.
    pub len: usize,
}

/// Everything before the payloads of a page file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageHeader {
    pub rows: usize,
    pub cols: usize,
    pub train_count: usize,
    pub test_count: usize,
    pub meta: PageMeta,
    pub chunks: Vec<PageChunk>,
    /// Bytes before the first payload.
    pub header_len: usize,
    /// Length of the whole file.
    pub file_len: usize,
}

/// Both splits of a page file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageData {
    pub meta: PageMeta,
    pub train: LabelledImages,
    pub test: LabelledImages,
}

fn page_err<T>(message: impl Into<String>) -> Result<T, IdxError> {
    Err(IdxError::Page(message.into()))
}

fn le32(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// The length of a page file's header once its first 12 bytes have arrived: how many bytes
/// [`read_page_header`] needs.
pub fn page_header_len(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 12 && bytes[..4] == PAGE_MAGIC).then(|| le32(bytes, 8))
}

/// Reads the header of a page file. `bytes` may be a prefix of the file, as long as it holds the
/// whole header ([`page_header_len`]); a shorter prefix gives [`IdxError::Truncated`].
pub fn read_page_header(bytes: &[u8]) -> Result<PageHeader, IdxError> {
    let truncated = |needed: usize| IdxError::Truncated {
        what: "page data file".into(),
        needed,
        found: bytes.len(),
    };
    if bytes.len() >= 4 && bytes[..4] != PAGE_MAGIC {
        let shown: String = bytes[..4]
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        return page_err(format!("it starts with `{shown}`, not `GLDS`"));
    }
    if bytes.len() < PAGE_FIXED_HEADER {
        return Err(truncated(PAGE_FIXED_HEADER));
    }
    let version = le32(bytes, 4) as u32;
    if version != PAGE_VERSION {
        return page_err(format!(
            "format version {version}; this build reads version {PAGE_VERSION} (rebuild the \
             page or rerun scripts/fetch-data.sh)"
        ));
    }
    let header_len = le32(bytes, 8);
    let (rows, cols, classes) = (le32(bytes, 12), le32(bytes, 16), le32(bytes, 20));
    let (train_count, test_count) = (le32(bytes, 24), le32(bytes, 28));
    let (n_chunks, meta_len) = (le32(bytes, 32), le32(bytes, 36));
    if rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || classes == 0 || classes > 256 {
        return page_err(format!(
            "implausible shape: {rows}×{cols} images, {classes} classes"
        ));
    }
    let expected_header = n_chunks
        .checked_mul(PAGE_CHUNK_ENTRY)
        .and_then(|t| t.checked_add(PAGE_FIXED_HEADER))
        .and_then(|t| t.checked_add(meta_len));
    if expected_header != Some(header_len) {
        return page_err(format!(
            "header length {header_len} does not match {n_chunks} chunks and {meta_len} bytes \
             of metadata"
        ));
    }
    if bytes.len() < header_len {
        return Err(truncated(header_len));
    }
    let meta_start = PAGE_FIXED_HEADER + n_chunks * PAGE_CHUNK_ENTRY;
    let meta: PageMeta = serde_json::from_slice(&bytes[meta_start..header_len])
        .map_err(|e| IdxError::Page(format!("metadata is not the expected JSON: {e}")))?;
    if meta.classes.len() != classes {
        return page_err(format!(
            "the header says {classes} classes, the metadata names {}",
            meta.classes.len()
        ));
    }
    let image_len = rows * cols;
    let mut chunks = Vec::with_capacity(n_chunks);
    let mut next = [0usize; 2];
    let mut offset = header_len;
    for k in 0..n_chunks {
        let at = PAGE_FIXED_HEADER + k * PAGE_CHUNK_ENTRY;
        let (code, start, count, len) = (
            le32(bytes, at),
            le32(bytes, at + 4),
            le32(bytes, at + 8),
            le32(bytes, at + 12),
        );
        let split = match code {
            0 => Split::Train,
            1 => Split::Test,
            _ => return page_err(format!("chunk {k} has split code {code} (0 train, 1 test)")),
        };
        if start != next[code] {
            return page_err(format!(
                "chunk {k} starts at {split} image {start}, expected {}",
                next[code]
            ));
        }
        next[code] += count;
        if count.checked_mul(image_len + 1).is_none() {
            return page_err(format!("chunk {k} is too large"));
        }
        chunks.push(PageChunk {
            split,
            start,
            count,
            offset,
            len,
        });
        offset = offset
            .checked_add(len)
            .ok_or_else(|| IdxError::Page("chunk lengths overflow".into()))?;
    }
    if next != [train_count, test_count] {
        return page_err(format!(
            "the chunks hold {} train and {} test images, the header says {train_count} and \
             {test_count}",
            next[0], next[1]
        ));
    }
    Ok(PageHeader {
        rows,
        cols,
        train_count,
        test_count,
        meta,
        chunks,
        header_len,
        file_len: offset,
    })
}

impl PageHeader {
    /// Decodes chunk `i` of `file` (the whole file, or a prefix that reaches the chunk's end)
    /// into its images and labels.
    pub fn decode_chunk(&self, file: &[u8], i: usize) -> Result<LabelledImages, IdxError> {
        let Some(chunk) = self.chunks.get(i) else {
            return page_err(format!("no chunk {i}: the file has {}", self.chunks.len()));
        };
        let end = chunk.offset + chunk.len;
        let Some(payload) = file.get(chunk.offset..end) else {
            return Err(IdxError::Truncated {
                what: "page data file".into(),
                needed: end,
                found: file.len(),
            });
        };
        let pixels = chunk.count * self.rows * self.cols;
        let want = pixels + chunk.count;
        let mut body = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(payload, want)
            .map_err(|e| {
                IdxError::Page(format!(
                    "chunk {i} ({} images {}..{}) does not inflate to its {want} bytes: {e}",
                    chunk.split,
                    chunk.start,
                    chunk.start + chunk.count
                ))
            })?;
        if body.len() != want {
            return page_err(format!(
                "chunk {i} inflates to {} bytes, expected {want}",
                body.len()
            ));
        }
        let labels = body.split_off(pixels);
        let classes = self.meta.classes.len();
        if let Some(k) = labels.iter().position(|&l| l as usize >= classes) {
            return Err(IdxError::LabelOutOfRange {
                index: chunk.start + k,
                label: labels[k],
                classes,
            });
        }
        Ok(LabelledImages {
            images: body,
            labels,
            count: chunk.count,
            rows: self.rows,
            cols: self.cols,
        })
    }
}

/// Reads a whole page file (`www/data/<set>.bin`) into its two splits. The file must be complete:
/// no byte missing, none extra.
pub fn read_page_bin(bytes: &[u8]) -> Result<PageData, IdxError> {
    let header = read_page_header(bytes)?;
    if bytes.len() < header.file_len {
        return Err(IdxError::Truncated {
            what: "page data file".into(),
            needed: header.file_len,
            found: bytes.len(),
        });
    }
    if bytes.len() > header.file_len {
        return Err(IdxError::TrailingBytes {
            what: "page data file".into(),
            expected: header.file_len,
            found: bytes.len(),
        });
    }
    let empty = |count: usize| LabelledImages {
        images: Vec::with_capacity(count * header.rows * header.cols),
        labels: Vec::with_capacity(count),
        count: 0,
        rows: header.rows,
        cols: header.cols,
    };
    let mut train = empty(header.train_count);
    let mut test = empty(header.test_count);
    for i in 0..header.chunks.len() {
        let part = header.decode_chunk(bytes, i)?;
        let into = match header.chunks[i].split {
            Split::Train => &mut train,
            Split::Test => &mut test,
        };
        into.images.extend_from_slice(&part.images);
        into.labels.extend_from_slice(&part.labels);
        into.count += part.count;
    }
    Ok(PageData {
        meta: header.meta,
        train,
        test,
    })
}
