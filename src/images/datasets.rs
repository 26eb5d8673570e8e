//! What every image model shares about its data: the 28×28 grayscale geometry of the sets, the
//! number of classes, and the tables that differ per dataset.

/// Side of every image of the sets (MNIST, Fashion-MNIST, Animal-MNIST).
pub const SIDE: usize = 28;
pub const PIXELS: usize = SIDE * SIDE;
pub const CLASSES: usize = 10;

/// Training images per class (index = label) of the generators' datasets: the balance a large
/// draw from a class-conditional generator needs to be compared with real images (MNIST has
/// 6 742 ones but 5 421 fives). The label files are checked against it by `tests/idx_data.rs`.
const TRAIN_CLASS_COUNTS: &[(&str, [u32; CLASSES])] = &[
    (
        "mnist",
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    ),
    ("fashion", [6000; 10]),
];

/// [`TRAIN_CLASS_COUNTS`] of `dataset`; equal counts for a set it does not list.
pub fn train_class_counts(dataset: &str) -> [u32; CLASSES] {
    per_dataset(TRAIN_CLASS_COUNTS, dataset, [1; CLASSES])
}

/// The value a per-dataset table gives `dataset`, or `fallback` where it lists none.
pub fn per_dataset<T: Copy>(table: &[(&str, T)], dataset: &str, fallback: T) -> T {
    table
        .iter()
        .find(|(name, _)| *name == dataset)
        .map_or(fallback, |&(_, value)| value)
}
