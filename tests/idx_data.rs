//! The image-set readers (`src/idx.rs`): IDX files and the page format, first on small synthetic
//! bytes (always), then on the real sets that `scripts/fetch-data.sh` writes to `data/` and
//! `www/data/` (skipped with a note when they are absent; under CI, where `scripts/test.sh` runs
//! the script first, their absence is a failure).

use std::path::{Path, PathBuf};

use genlab::images::datasets::train_class_counts;
use genlab::io::idx::{
    load_split, page_header_len, read_idx, read_page_bin, read_page_header, IdxArray, IdxError,
    LabelledImages, Split, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, PAGE_FIXED_HEADER,
};

// ---- synthetic IDX ------------------------------------------------------------------------

fn images(count: usize, rows: usize, cols: usize) -> IdxArray {
    IdxArray {
        dims: vec![count, rows, cols],
        data: (0..count * rows * cols)
            .map(|i| (i * 7 % 256) as u8)
            .collect(),
    }
}

fn labels(values: &[u8]) -> IdxArray {
    IdxArray {
        dims: vec![values.len()],
        data: values.to_vec(),
    }
}

#[test]
fn idx_round_trips_images_and_labels() {
    let img = images(3, 2, 4);
    let bytes = img.to_bytes();
    assert_eq!(&bytes[..4], &IDX_IMAGES_MAGIC.to_be_bytes());
    assert_eq!(&bytes[4..8], &3u32.to_be_bytes());
    assert_eq!(bytes.len(), 4 + 12 + 24);
    assert_eq!(read_idx(&bytes).unwrap(), img);

    let lab = labels(&[1, 0, 9]);
    let bytes = lab.to_bytes();
    assert_eq!(&bytes[..4], &IDX_LABELS_MAGIC.to_be_bytes());
    assert_eq!(read_idx(&bytes).unwrap(), lab);

    let d = LabelledImages::from_idx(img.clone(), lab).unwrap();
    assert_eq!((d.count, d.rows, d.cols), (3, 2, 4));
    assert_eq!(d.image(1), &img.data[8..16]);
    assert_eq!(d.label_counts(), vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn idx_wrong_magic_is_refused() {
    let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
    gz.extend_from_slice(&[0; 20]);
    let err = read_idx(&gz).unwrap_err();
    assert!(matches!(err, IdxError::BadMagic { .. }), "{err:?}");
    assert!(err.to_string().contains("gzip"), "{err}");

    let mut floats = images(1, 1, 1).to_bytes();
    floats[2] = 0x0d;
    assert_eq!(
        read_idx(&floats).unwrap_err(),
        IdxError::UnsupportedType { code: 0x0d }
    );

    let rank0 = [0u8, 0, 8, 0];
    assert!(matches!(
        read_idx(&rank0).unwrap_err(),
        IdxError::BadMagic { .. }
    ));
}

#[test]
fn idx_truncated_and_overlong_files_are_refused() {
    let bytes = images(2, 3, 3).to_bytes();
    for cut in [0, 3, 7, 12, bytes.len() - 1] {
        let err = read_idx(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(err, IdxError::Truncated { found, .. } if found == cut),
            "cut at {cut}: {err:?}"
        );
    }
    let err = read_idx(&bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(
        err,
        IdxError::Truncated {
            what: "IDX file".into(),
            needed: bytes.len(),
            found: bytes.len() - 1
        }
    );
    assert!(err.to_string().contains("truncated"), "{err}");

    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        read_idx(&long).unwrap_err(),
        IdxError::TrailingBytes { .. }
    ));

    // Dimensions whose product overflows cannot describe a real file.
    let mut huge = vec![0u8, 0, 8, 3];
    for _ in 0..3 {
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    assert!(matches!(
        read_idx(&huge).unwrap_err(),
        IdxError::Truncated { .. }
    ));
}

#[test]
fn images_and_labels_must_agree() {
    let err = LabelledImages::from_idx(images(3, 2, 2), labels(&[0, 1])).unwrap_err();
    assert_eq!(
        err,
        IdxError::CountMismatch {
            images: 3,
            labels: 2
        }
    );
    assert!(err.to_string().contains("3 images but 2 labels"), "{err}");
    // Swapped files.
    assert!(matches!(
        LabelledImages::from_idx(labels(&[0, 1]), images(2, 2, 2)).unwrap_err(),
        IdxError::WrongRank { expected: 3, .. }
    ));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genlab-idx-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn load_split_reads_a_directory_and_names_bad_files() {
    let dir = temp_dir("load");
    std::fs::write(dir.join("train-images.idx"), images(4, 3, 3).to_bytes()).unwrap();
    std::fs::write(
        dir.join("train-labels.idx"),
        labels(&[3, 1, 4, 1]).to_bytes(),
    )
    .unwrap();
    let d = load_split(&dir, Split::Train).unwrap();
    assert_eq!((d.count, d.rows, d.cols), (4, 3, 3));
    assert_eq!(d.labels, vec![3, 1, 4, 1]);

    // Missing test files: the error names the path.
    let err = load_split(&dir, Split::Test).unwrap_err();
    assert!(matches!(err, IdxError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("test-images.idx"), "{err}");

    // A label file from another split.
    std::fs::write(dir.join("test-images.idx"), images(2, 3, 3).to_bytes()).unwrap();
    std::fs::write(dir.join("test-labels.idx"), labels(&[1, 2, 3]).to_bytes()).unwrap();
    assert!(matches!(
        load_split(&dir, Split::Test).unwrap_err(),
        IdxError::CountMismatch {
            images: 2,
            labels: 3
        }
    ));

    // A truncated image file.
    let bytes = images(2, 3, 3).to_bytes();
    std::fs::write(dir.join("test-images.idx"), &bytes[..bytes.len() - 5]).unwrap();
    let err = load_split(&dir, Split::Test).unwrap_err();
    assert!(err.to_string().contains("test-images.idx"), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn split_names() {
    assert_eq!("train".parse::<Split>().unwrap(), Split::Train);
    assert_eq!(Split::Test.to_string(), "test");
    assert!("val".parse::<Split>().is_err());
}

// ---- synthetic page files -------------------------------------------------------------------

const META: &str = r#"{"name":"toy","title":"Toy","classes":["a","b","c"],"source":"test","license":"none","split":"made up"}"#;

/// A page file as `scripts/fetch-data.sh` writes it: test first, then train in chunks of `chunk`.
fn page_file(train: &LabelledImages, test: &LabelledImages, chunk: usize, meta: &str) -> Vec<u8> {
    let mut table = Vec::new();
    let mut payloads = Vec::new();
    for (code, d) in [(1u32, test), (0u32, train)] {
        let n = d.image_len();
        let mut start = 0;
        while start < d.count {
            let count = chunk.min(d.count - start);
            let mut body = d.images[start * n..(start + count) * n].to_vec();
            body.extend_from_slice(&d.labels[start..start + count]);
            let z = miniz_oxide::deflate::compress_to_vec_zlib(&body, 9);
            for v in [code, start as u32, count as u32, z.len() as u32] {
                table.extend_from_slice(&v.to_le_bytes());
            }
            payloads.extend_from_slice(&z);
            start += count;
        }
    }
    let n_chunks = table.len() / 16;
    let header_len = PAGE_FIXED_HEADER + table.len() + meta.len();
    let mut out = b"GLDS".to_vec();
    for v in [
        1,
        header_len,
        train.rows,
        train.cols,
        3,
        train.count,
        test.count,
        n_chunks,
        meta.len(),
    ] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    out.extend_from_slice(&table);
    out.extend_from_slice(meta.as_bytes());
    out.extend_from_slice(&payloads);
    out
}

fn toy(count: usize, seed: usize) -> LabelledImages {
    LabelledImages::from_idx(
        IdxArray {
            dims: vec![count, 4, 5],
            data: (0..count * 20)
                .map(|i| ((i * 31 + seed) % 256) as u8)
                .collect(),
        },
        labels(
            &(0..count)
                .map(|i| ((i + seed) % 3) as u8)
                .collect::<Vec<_>>(),
        ),
    )
    .unwrap()
}

#[test]
fn page_file_round_trips() {
    let (train, test) = (toy(25, 1), toy(7, 2));
    let file = page_file(&train, &test, 10, META);
    let page = read_page_bin(&file).unwrap();
    assert_eq!(page.train, train);
    assert_eq!(page.test, test);
    assert_eq!(page.meta.title, "Toy");
    assert_eq!(page.meta.classes, vec!["a", "b", "c"]);

    // Chunk by chunk, as the bytes arrive.
    let header_len = page_header_len(&file[..12]).unwrap();
    assert!(matches!(
        read_page_header(&file[..header_len - 1]).unwrap_err(),
        IdxError::Truncated { .. }
    ));
    let header = read_page_header(&file[..header_len]).unwrap();
    assert_eq!(header.file_len, file.len());
    assert_eq!(header.chunks.len(), 4); // test 7; train 10 + 10 + 5
    assert_eq!(header.chunks[0].split, Split::Test);
    assert_eq!(
        (
            header.chunks[3].split,
            header.chunks[3].start,
            header.chunks[3].count
        ),
        (Split::Train, 20, 5)
    );
    let first_train =
        header.decode_chunk(&file[..header.chunks[1].offset + header.chunks[1].len], 1);
    let first_train = first_train.unwrap();
    assert_eq!(first_train.count, 10);
    assert_eq!(first_train.images, train.images[..10 * 20]);
    assert!(matches!(
        header.decode_chunk(&file[..header.chunks[3].offset + 1], 3),
        Err(IdxError::Truncated { .. })
    ));
}

#[test]
fn broken_page_files_are_refused() {
    let (train, test) = (toy(12, 3), toy(5, 4));
    let file = page_file(&train, &test, 10, META);

    let mut magic = file.clone();
    magic[..4].copy_from_slice(b"\x1f\x8b\x08\x00");
    let err = read_page_bin(&magic).unwrap_err();
    assert!(err.to_string().contains("GLDS"), "{err}");

    let mut version = file.clone();
    version[4] = 2;
    let err = read_page_bin(&version).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");

    let err = read_page_bin(&file[..file.len() - 3]).unwrap_err();
    assert!(
        matches!(err, IdxError::Truncated { needed, .. } if needed == file.len()),
        "{err:?}"
    );
    let mut long = file.clone();
    long.push(0);
    assert!(matches!(
        read_page_bin(&long).unwrap_err(),
        IdxError::TrailingBytes { .. }
    ));

    // A flipped bit inside a compressed chunk: zlib's checksum (or the stream) catches it.
    let header = read_page_header(&file).unwrap();
    let mut flipped = file.clone();
    let at = header.chunks[1].offset + header.chunks[1].len / 2;
    flipped[at] ^= 0x10;
    assert!(matches!(
        read_page_bin(&flipped).unwrap_err(),
        IdxError::Page(_)
    ));

    // Label 3 with three classes.
    let mut bad = test.clone();
    bad.labels[2] = 3;
    let err = read_page_bin(&page_file(&train, &bad, 10, META)).unwrap_err();
    assert_eq!(
        err,
        IdxError::LabelOutOfRange {
            index: 2,
            label: 3,
            classes: 3
        }
    );

    // Header and metadata disagree on the classes.
    let two = META.replace(r#","c"]"#, "]");
    let err = read_page_bin(&page_file(&train, &test, 10, &two)).unwrap_err();
    assert!(err.to_string().contains("3 classes"), "{err}");
}

// ---- the real sets ------------------------------------------------------------------------

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The set's directory, or None (with a note) when `scripts/fetch-data.sh` has not run.
fn real_set(name: &str) -> Option<PathBuf> {
    let dir = data_root().join("data").join(name);
    let page = data_root().join("www/data").join(format!("{name}.bin"));
    if dir.join("test-labels.idx").is_file() && page.is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing under CI: scripts/test.sh runs scripts/fetch-data.sh first",
            dir.display()
        );
    }
    eprintln!(
        "note: skipping the {name} checks: run scripts/fetch-data.sh to write {} and {}",
        dir.display(),
        page.display()
    );
    None
}

fn check_set(
    name: &str,
    counts: (usize, usize),
    means: (f64, f64),
    train_labels: Option<&[usize]>,
) {
    let Some(dir) = real_set(name) else { return };
    let train = load_split(&dir, Split::Train).unwrap();
    let test = load_split(&dir, Split::Test).unwrap();
    assert_eq!((train.count, test.count), counts, "{name}");
    for d in [&train, &test] {
        assert_eq!((d.rows, d.cols), (28, 28), "{name}");
        assert!(d.labels.iter().all(|&l| l < 10), "{name}: a label ≥ 10");
        assert_eq!(d.label_counts().len(), 10, "{name}: a class is missing");
    }
    let (m_train, m_test) = (train.pixel_mean(), test.pixel_mean());
    assert!(
        (m_train - means.0).abs() < 5e-4,
        "{name} train mean {m_train}"
    );
    assert!((m_test - means.1).abs() < 5e-4, "{name} test mean {m_test}");
    if let Some(expected) = train_labels {
        assert_eq!(train.label_counts(), expected, "{name}");
    }

    // The page file holds the same images and labels (train possibly a prefix).
    let bytes = std::fs::read(data_root().join("www/data").join(format!("{name}.bin"))).unwrap();
    let page = read_page_bin(&bytes).unwrap();
    assert_eq!(page.meta.name, name);
    assert_eq!(page.meta.classes.len(), 10);
    assert_eq!(
        page.test, test,
        "{name}: page test split differs from the IDX files"
    );
    let n = page.train.count;
    assert!(n > 0 && n <= train.count);
    assert_eq!(page.train.images, train.images[..n * 784], "{name}");
    assert_eq!(page.train.labels, train.labels[..n], "{name}");
}

#[test]
fn real_mnist() {
    // Train pixel mean 33.318/255 (the usual normalisation constant 0.1307).
    check_set(
        "mnist",
        (60_000, 10_000),
        (0.130_66, 0.132_51),
        // The table conditional generators draw their classes by.
        Some(&train_class_counts("mnist").map(|c| c as usize)),
    );
}

#[test]
fn real_fashion() {
    check_set(
        "fashion",
        (60_000, 10_000),
        (0.286_04, 0.286_85),
        Some(&train_class_counts("fashion").map(|c| c as usize)),
    );
}

#[test]
fn real_animal() {
    // 10 000 images in the package, split by the script: 800 train and 200 test per class.
    check_set(
        "animal",
        (8_000, 2_000),
        (0.273_39, 0.270_46),
        Some(&[800; 10]),
    );
}
