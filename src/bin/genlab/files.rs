//! Files the commands share: reading and writing with the path in every message, and where the
//! shipped weights are.

use std::path::{Path, PathBuf};

/// `www/models/<file>` of the checkout this binary was built from, or of the working
/// directory when run from another checkout.
pub fn shipped_weights(file: &str) -> PathBuf {
    let here = Path::new("www/models").join(file);
    if here.is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("www/models")
        .join(file)
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
