//! src/images/fid.rs against the FID that SciPy gives the same features the way pytorch-fid
//! computes it (`scipy.linalg.sqrtm` of Σa Σb). The features and the reference value are in
//! tests/fixtures/, written by tests/fixtures/make_fid_fixtures.py; no Python is needed here.

use genlab::images::fid::{frechet_distance, squared_mean_distance, FeatureStats};
use genlab::io::npy::read_npy;

const FEATURE_DIM: usize = 64;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn feature_stats(name: &str, rows: usize) -> FeatureStats {
    let array = read_npy(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(array.shape, vec![rows, FEATURE_DIM], "{name}");
    // The file holds float32; the reader widens to f64, so narrowing back is exact.
    let features: Vec<f32> = array.data.iter().map(|&x| x as f32).collect();
    FeatureStats::from_rows(&features, FEATURE_DIM).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Expected {
    fid: f64,
    fid_via_eigenvalues: f64,
}

fn expected() -> Expected {
    let json: serde_json::Value =
        serde_json::from_slice(&fixture("fid_expected.json")).expect("fid_expected.json");
    let number = |key: &str| {
        json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("fid_expected.json has no number {key:?}"))
    };
    Expected {
        fid: number("fid"),
        fid_via_eigenvalues: number("fid_via_eigenvalues"),
    }
}

fn relative_error(value: f64, reference: f64) -> f64 {
    (value - reference).abs() / reference.abs()
}

#[test]
fn frechet_distance_matches_scipy_sqrtm() {
    let a = feature_stats("fid_features_a.npy", 500);
    let b = feature_stats("fid_features_b.npy", 400);
    let expected = expected();
    // The script's two routes agree with each other, so the reference itself is sound.
    assert!(relative_error(expected.fid_via_eigenvalues, expected.fid) < 1e-9);

    let fid = frechet_distance(&a, &b).unwrap();
    let error = relative_error(fid, expected.fid);
    println!(
        "FID: Rust {fid:.10}, SciPy {:.10}, relative error {error:.3e}",
        expected.fid
    );
    assert!(error <= 1e-3, "Rust {fid} vs SciPy {}", expected.fid);
}

/// The fixtures' covariances are far from diagonal, so shortcuts that avoid the matrix square
/// root land far from the reference: the test above could not pass by accident with them.
#[test]
fn shortcuts_around_the_matrix_square_root_miss_the_reference() {
    let a = feature_stats("fid_features_a.npy", 500);
    let b = feature_stats("fid_features_b.npy", 400);
    let expected = expected().fid;
    let n = FEATURE_DIM;
    let common = squared_mean_distance(&a, &b) + a.total_variance() + b.total_variance();

    // As if the covariances were diagonal: tr((Σa Σb)^{1/2}) ≈ Σ √(Σa_ii Σb_ii).
    let diagonal_root: f64 = (0..n)
        .map(|i| (a.cov[i * n + i] * b.cov[i * n + i]).sqrt())
        .sum();
    let diagonal_only = common - 2.0 * diagonal_root;

    // Elementwise square root of the product's diagonal in place of the matrix square root.
    let product_diagonal_root: f64 = (0..n)
        .map(|i| {
            let product_ii: f64 = (0..n).map(|k| a.cov[i * n + k] * b.cov[k * n + i]).sum();
            product_ii.max(0.0).sqrt()
        })
        .sum();
    let elementwise = common - 2.0 * product_diagonal_root;

    for (name, value) in [("diagonal", diagonal_only), ("elementwise", elementwise)] {
        let error = relative_error(value, expected);
        println!("{name} shortcut: {value:.4} ({:.1} % off)", 100.0 * error);
        assert!(
            error > 0.01,
            "{name} shortcut {value} is within 1 % of {expected}"
        );
    }
}
