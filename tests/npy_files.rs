//! Real NumPy files (tests/fixtures/, rebuilt by tests/fixtures/make_npy_fixtures.py) read with
//! the right values, refused with the right reasons, and no damaged file makes reading panic.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use genlab::core::rng::SeededRng;
use genlab::io::npy::{read_npy, read_npz, write_npy_f32, write_npy_i64, NpyArray};
use genlab::langevin::density::{mixture_from_npz, Mixture, MixtureFile};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn npy(name: &str) -> NpyArray {
    read_npy(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The mixture the script saves, as the JSON upload: both paths must agree exactly.
const MIXTURE_JSON: &str = r#"{
    "weights": [0.5, 0.3, 0.2],
    "means": [[-4.0, 1.0], [2.5, 3.0], [0.0, -2.0]],
    "covariances": [[[1.0, 0.25], [0.25, 0.5]], [[0.75, 0.0], [0.0, 2.0]], [[0.5, -0.125], [-0.125, 0.25]]],
    "modes": [0, 1, 1]
}"#;

fn json_mixture(edit: impl FnOnce(&mut MixtureFile)) -> Result<Mixture, String> {
    let mut file: MixtureFile = serde_json::from_str(MIXTURE_JSON).unwrap();
    edit(&mut file);
    file.into_mixture().map_err(|e| e.0)
}

fn npz_error(name: &str) -> String {
    mixture_from_npz(&fixture(name))
        .expect_err("should be refused")
        .0
}

#[test]
fn a_saved_mixture_reads_as_the_same_json_upload() {
    let expected = json_mixture(|_| {}).unwrap();
    let stored = mixture_from_npz(&fixture("gmm.npz")).unwrap();
    assert_eq!(stored.components(), expected.components());
    assert_eq!(stored.mode_count(), 2);

    // savez_compressed, without `modes`: every component is its own mode, as in JSON.
    let compressed = mixture_from_npz(&fixture("gmm_compressed.npz")).unwrap();
    let expected_without_modes = json_mixture(|f| f.modes = None).unwrap();
    assert_eq!(compressed.components(), expected_without_modes.components());
    assert_eq!(compressed.mode_count(), 3);
}

#[test]
fn float32_and_fortran_order_arrays_give_the_same_mixture() {
    let arrays = read_npz(&fixture("gmm_f32_fortran.npz")).unwrap();
    assert_eq!(arrays["means"].shape, [3, 2]);
    assert_eq!(arrays["means"].data, [-4.0, 1.0, 2.5, 3.0, 0.0, -2.0]);
    assert_eq!(arrays["covariances"].shape, [3, 2, 2]);
    assert_eq!(
        arrays["covariances"].data,
        [1.0, 0.25, 0.25, 0.5, 0.75, 0.0, 0.0, 2.0, 0.5, -0.125, -0.125, 0.25]
    );
    assert_eq!(arrays["modes"].data, [0.0, 1.0, 1.0]);

    let single = mixture_from_npz(&fixture("gmm_f32_fortran.npz")).unwrap();
    let double = json_mixture(|_| {}).unwrap();
    for (s, d) in single.components().iter().zip(double.components()) {
        // 0.3 and 0.2 are not exact in float32; everything else is.
        assert!((s.weight - d.weight).abs() < 1e-7, "{s:?} vs {d:?}");
        assert_eq!((s.mean, s.cov, s.mode), (d.mean, d.cov, d.mode));
    }
}

#[test]
fn bad_mixtures_are_refused_with_the_json_paths_messages() {
    let wrong_shape = npz_error("gmm_wrong_cov_shape.npz");
    assert_eq!(
        wrong_shape,
        "`covariances` has shape (3, 2), expected (3, 2, 2)"
    );

    let not_spd = npz_error("gmm_not_spd.npz");
    let json_not_spd = json_mixture(|f| {
        f.covariances[1] = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        f.modes = None;
    })
    .unwrap_err();
    assert_eq!(not_spd, json_not_spd);
    assert!(not_spd.contains("not positive definite"), "{not_spd}");

    // JSON cannot hold NaN; the shared check still names the component.
    assert_eq!(
        npz_error("gmm_nan.npz"),
        "component 2 has a value that is not a finite number"
    );

    let object = npz_error("object_in_npz.npz");
    assert!(
        object.starts_with("not a mixture npz file: array `labels` (labels.npy): object arrays"),
        "{object}"
    );
    let not_an_archive = mixture_from_npz(&fixture("dtype_f8_le.npy")).unwrap_err().0;
    assert!(
        not_an_archive.contains("single .npy array"),
        "{not_an_archive}"
    );
}

#[test]
fn every_listed_dtype_reads_with_its_values() {
    let floats = [-1.5, 0.0, 2.25, 1000.0, -7.0, 0.125];
    let signed = [-3.0, 0.0, 7.0, 100.0, -100.0, 42.0];
    let unsigned = [0.0, 1.0, 2.0, 200.0, 255.0, 7.0];
    let bools = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let cases: [(&str, &[f64]); 16] = [
        ("f8_le", &floats),
        ("f4_le", &floats),
        ("f2_le", &floats),
        ("f8_be", &floats),
        ("f4_be", &floats),
        ("i8_le", &signed),
        ("i4_le", &signed),
        ("i2_le", &signed),
        ("i1", &signed),
        ("i8_be", &signed),
        ("i4_be", &signed),
        ("u1", &unsigned),
        ("u1_le", &unsigned),
        ("u2_be", &unsigned),
        ("u8_le", &unsigned),
        ("b1", &bools),
    ];
    for (name, values) in cases {
        let array = npy(&format!("dtype_{name}.npy"));
        assert_eq!(array.shape, [2, 3], "{name}");
        assert_eq!(array.data, values, "{name}");
    }
}

#[test]
fn layouts_versions_and_shapes_read_as_numpy_means_them() {
    let fortran = npy("fortran_f8.npy");
    assert_eq!(fortran.shape, [2, 3, 4]);
    assert_eq!(fortran.data, (0..24).map(f64::from).collect::<Vec<_>>());

    let scalar = npy("scalar_f8.npy");
    assert!(scalar.shape.is_empty());
    assert_eq!(scalar.data, [2.5]);

    let empty = npy("empty_f4.npy");
    assert_eq!(empty.shape, [0, 3]);
    assert!(empty.data.is_empty());

    for version in ["version_2_0.npy", "version_3_0.npy"] {
        let array = npy(version);
        assert_eq!(array.shape, [3, 2], "{version}");
        assert_eq!(array.data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "{version}");
    }
}

#[test]
fn unsupported_arrays_and_damaged_files_say_why() {
    let error = |bytes: &[u8]| read_npy(bytes).expect_err("should be refused").0;
    assert!(error(&fixture("object.npy")).contains("object arrays"));
    assert!(error(&fixture("complex_c16.npy")).contains("complex arrays (dtype '<c16')"));
    assert!(error(&fixture("structured.npy")).contains("structured arrays"));
    assert!(error(b"\x89PNG\r\n").contains("magic"));

    let whole = fixture("dtype_f8_le.npy");
    for len in 0..whole.len() {
        let message = error(&whole[..len]);
        assert!(
            message.contains("magic") || message.contains("truncated"),
            "{len}: {message}"
        );
    }
    let archive = fixture("gmm.npz");
    for len in 0..archive.len() {
        assert!(
            read_npz(&archive[..len]).is_err(),
            "a prefix of {len} bytes was accepted"
        );
    }
    let object = read_npz(&fixture("object_in_npz.npz")).unwrap_err().0;
    assert!(object.contains("array `labels`"), "{object}");
}

#[test]
fn written_files_are_byte_identical_to_numpys() {
    let samples: Vec<f32> = (0..28 * 28).map(|i| (i % 17) as f32 * 0.5 - 4.0).collect();
    assert_eq!(
        write_npy_f32(&[1, 28, 28], &samples),
        fixture("numpy_f32_1x28x28.npy")
    );
    assert_eq!(
        write_npy_f32(&[], &[-0.75]),
        fixture("numpy_f32_scalar.npy")
    );
    assert_eq!(
        write_npy_i64(&[5], &[-1, 0, 7, 9, 1 << 40]),
        fixture("numpy_i64_labels.npy")
    );
}

#[test]
fn written_samples_read_back_unchanged() {
    let mut rng = SeededRng::new(28);
    let samples: Vec<f32> = (0..4 * 28 * 28).map(|_| rng.normal() as f32).collect();
    let array = read_npy(&write_npy_f32(&[4, 28, 28], &samples)).unwrap();
    assert_eq!(array.shape, [4, 28, 28]);
    assert!(array
        .data
        .iter()
        .zip(&samples)
        .all(|(&a, &b)| a == b as f64));
}

/// One to three random edits: bit flips, byte writes, truncation, deletions, insertions, and
/// size-like 32-bit values (the fields a ZIP or .npy reader trusts) written anywhere.
fn mutate(rng: &mut SeededRng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = bytes.len() as u64;
        let at = if len == 0 { 0 } else { rng.below(len) as usize };
        match rng.below(6) {
            0 if len > 0 => bytes[at] ^= 1 << rng.below(8),
            1 if len > 0 => bytes[at] = rng.below(256) as u8,
            2 => bytes.truncate(at),
            3 => {
                let end = (at + 1 + rng.below(16) as usize).min(bytes.len());
                bytes.drain(at..end);
            }
            4 => {
                let inserted: Vec<u8> = (0..1 + rng.below(16))
                    .map(|_| rng.below(256) as u8)
                    .collect();
                bytes.splice(at..at, inserted);
            }
            _ => {
                let value: u32 = match rng.below(5) {
                    0 => 0,
                    1 => u32::MAX,
                    2 => u32::MAX / 2,
                    3 => len as u32,
                    _ => rng.next_u64() as u32,
                };
                for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = b;
                    }
                }
            }
        }
    }
    bytes
}

/// Reads `bytes` every way an upload can be read; a panic is reported with the case's label.
fn read_every_way(label: &str, bytes: &[u8]) -> (bool, bool) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let archive: Result<BTreeMap<String, NpyArray>, _> = read_npz(bytes);
        let _ = mixture_from_npz(bytes);
        (archive.is_ok(), read_npy(bytes).is_ok())
    }));
    outcome.unwrap_or_else(|_| panic!("{label}: reading {bytes:?} panicked"))
}

#[test]
fn damaged_and_random_bytes_never_panic() {
    let mut rng = SeededRng::new(7);
    let mut accepted = 0;
    for name in ["gmm.npz", "gmm_compressed.npz", "gmm_f32_fortran.npz"] {
        let original = fixture(name);
        for case in 0..1500 {
            let bytes = mutate(&mut rng, &original);
            accepted += read_every_way(&format!("{name} mutation {case}"), &bytes).0 as usize;
        }
    }
    // Some edits (in the comment-free tail, or undone by a later edit) leave a readable archive;
    // if none did, the mutations would only be exercising the first check.
    assert!(accepted > 0);

    let mut arrays_read = 0;
    for name in [
        "dtype_f8_le.npy",
        "fortran_f8.npy",
        "version_3_0.npy",
        "dtype_b1.npy",
    ] {
        let original = fixture(name);
        for case in 0..500 {
            let bytes = mutate(&mut rng, &original);
            arrays_read += read_every_way(&format!("{name} mutation {case}"), &bytes).1 as usize;
        }
    }
    assert!(arrays_read > 0);

    let prefixes: [&[u8]; 4] = [
        b"",
        b"PK\x03\x04",
        b"\x93NUMPY\x01\x00",
        b"\x93NUMPY\x02\x00",
    ];
    for case in 0..2000 {
        let mut bytes = prefixes[case % prefixes.len()].to_vec();
        bytes.extend((0..rng.below(300)).map(|_| rng.below(256) as u8));
        if case % 3 == 0 {
            // An end-of-central-directory record at the end sends the reader into the garbage.
            bytes.extend_from_slice(b"PK\x05\x06");
            bytes.extend((0..18).map(|_| rng.below(256) as u8));
            let end = bytes.len();
            bytes[end - 2..].copy_from_slice(&[0, 0]);
        }
        read_every_way(&format!("garbage {case}"), &bytes);
    }
}
