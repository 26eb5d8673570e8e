//! `.npz` archives: a minimal ZIP reader (stored and deflated entries, CRC-checked) that hands
//! each entry to the `.npy` reader.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::read::{read_npy, slice_at};
use super::{fail, NpyArray, NpyError, NPY_MAGIC};

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE: u32 = 0x0605_4b50;
const END_OF_CENTRAL_DIRECTORY_LEN: usize = 22;
const CENTRAL_HEADER_LEN: usize = 46;
const LOCAL_HEADER_LEN: usize = 30;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
const ZIP64_MESSAGE: &str =
    "ZIP64 archives (needed beyond 4 GiB or 65 535 arrays) are not supported";

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(slice_at(bytes, at, 2)?.try_into().ok()?))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(slice_at(bytes, at, 4)?.try_into().ok()?))
}

/// Reads every array of an `.npz` archive (`np.savez`, `np.savez_compressed`), keyed by entry
/// name without `.npy`: `weights.npy` is `weights`.
///
/// Sizes and offsets come from the central directory: NumPy writes its entries with
/// `force_zip64=True`, which leaves `0xFFFFFFFF` in the local headers' size fields.
pub fn read_npz(bytes: &[u8]) -> Result<BTreeMap<String, NpyArray>, NpyError> {
    let eocd = find_end_of_central_directory(bytes)?;
    let field16 = |offset| le16(bytes, eocd + offset).unwrap_or(0);
    let (this_disk, directory_disk) = (field16(4), field16(6));
    let (entries_here, entry_count) = (field16(8), field16(10));
    let directory_offset = le32(bytes, eocd + 16).unwrap_or(0);
    if entry_count == u16::MAX || directory_offset == u32::MAX {
        return fail(ZIP64_MESSAGE);
    }
    if this_disk != 0 || directory_disk != 0 || entries_here != entry_count {
        return fail("multi-volume ZIP archives are not supported");
    }

    let mut arrays = BTreeMap::new();
    let mut at = directory_offset as usize;
    for index in 0..entry_count {
        if le32(bytes, at) != Some(CENTRAL_HEADER_SIGNATURE) {
            return fail(format!(
                "damaged ZIP archive: central directory entry {index} is missing or corrupt"
            ));
        }
        let Some(fixed) = slice_at(bytes, at, CENTRAL_HEADER_LEN) else {
            return fail("damaged ZIP archive: the central directory is cut short");
        };
        let u16_at = |offset| le16(fixed, offset).unwrap_or(0);
        let u32_at = |offset| le32(fixed, offset).unwrap_or(0);
        let entry = ZipEntry {
            flags: u16_at(8),
            method: u16_at(10),
            crc32: u32_at(16),
            compressed_size: u32_at(20),
            uncompressed_size: u32_at(24),
            local_header_offset: u32_at(42),
        };
        let [name_len, extra_len, comment_len] = [28, 30, 32].map(|offset| u16_at(offset) as usize);
        let Some(name) = slice_at(bytes, at + CENTRAL_HEADER_LEN, name_len) else {
            return fail("damaged ZIP archive: the central directory is cut short");
        };
        let name = String::from_utf8_lossy(name).into_owned();
        at += CENTRAL_HEADER_LEN + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue; // a directory
        }
        let contents = entry.contents(bytes, &name)?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let array =
            read_npy(&contents).map_err(|e| NpyError(format!("array `{key}` ({name}): {e}")))?;
        if arrays.insert(key.clone(), array).is_some() {
            return fail(format!("the archive holds two arrays named `{key}`"));
        }
    }
    Ok(arrays)
}

fn find_end_of_central_directory(bytes: &[u8]) -> Result<usize, NpyError> {
    let not_a_zip = || {
        if bytes.starts_with(NPY_MAGIC) {
            NpyError("this is a single .npy array, not an .npz archive".to_string())
        } else {
            NpyError(
                "not an .npz file: no ZIP end-of-central-directory record (not a ZIP archive, \
                 or truncated)"
                    .to_string(),
            )
        }
    };
    let last = bytes
        .len()
        .checked_sub(END_OF_CENTRAL_DIRECTORY_LEN)
        .ok_or_else(not_a_zip)?;
    // The record ends the file, followed only by a comment of up to 65 535 bytes; the comment
    // length must reach exactly to the end, which rules out the signature inside a comment.
    let first = last.saturating_sub(u16::MAX as usize);
    (first..=last)
        .rev()
        .find(|&at| {
            le32(bytes, at) == Some(END_OF_CENTRAL_DIRECTORY_SIGNATURE)
                && le16(bytes, at + 20).map(usize::from)
                    == Some(bytes.len() - at - END_OF_CENTRAL_DIRECTORY_LEN)
        })
        .ok_or_else(not_a_zip)
}

struct ZipEntry {
    flags: u16,
    method: u16,
    crc32: u32,
    compressed_size: u32,
    uncompressed_size: u32,
    local_header_offset: u32,
}

impl ZipEntry {
    /// The entry's uncompressed bytes, checked against its CRC-32.
    fn contents<'a>(&self, archive: &'a [u8], name: &str) -> Result<Cow<'a, [u8]>, NpyError> {
        if self.compressed_size == u32::MAX
            || self.uncompressed_size == u32::MAX
            || self.local_header_offset == u32::MAX
        {
            return fail(format!("entry `{name}`: {ZIP64_MESSAGE}"));
        }
        if self.flags & 1 != 0 {
            return fail(format!(
                "entry `{name}` is encrypted; encrypted archives are not supported"
            ));
        }
        let local = self.local_header_offset as usize;
        if le32(archive, local) != Some(LOCAL_HEADER_SIGNATURE) {
            return fail(format!(
                "damaged ZIP archive: the local header of `{name}` is missing"
            ));
        }
        // The local header's own name and extra field may differ in length from the central
        // directory's (NumPy puts a ZIP64 extra field only here).
        let local_name_len = le16(archive, local + 26).unwrap_or(0) as usize;
        let local_extra_len = le16(archive, local + 28).unwrap_or(0) as usize;
        let data_start = local + LOCAL_HEADER_LEN + local_name_len + local_extra_len;
        let Some(stored) = slice_at(archive, data_start, self.compressed_size as usize) else {
            return fail(format!(
                "truncated ZIP archive: the data of `{name}` runs past the end of the file"
            ));
        };
        let expected_len = self.uncompressed_size as usize;
        let contents = match self.method {
            METHOD_STORED => {
                if stored.len() != expected_len {
                    return fail(format!(
                        "damaged ZIP archive: `{name}` is stored uncompressed but its two sizes \
                         differ ({} and {expected_len})",
                        stored.len()
                    ));
                }
                Cow::Borrowed(stored)
            }
            METHOD_DEFLATE => {
                // The limit bounds memory even if the directory lies about the size.
                let inflated =
                    miniz_oxide::inflate::decompress_to_vec_with_limit(stored, expected_len)
                        .map_err(|e| {
                            NpyError(format!(
                        "damaged ZIP archive: `{name}` does not inflate to the {expected_len} \
                         bytes its directory entry promises ({e})"
                    ))
                        })?;
                if inflated.len() != expected_len {
                    return fail(format!(
                        "damaged ZIP archive: `{name}` inflates to {} bytes, its directory entry \
                         says {expected_len}",
                        inflated.len()
                    ));
                }
                Cow::Owned(inflated)
            }
            method => {
                return fail(format!(
                    "entry `{name}` uses ZIP compression method {method}; only 0 (stored, \
                     np.savez) and 8 (deflate, np.savez_compressed) are supported"
                ))
            }
        };
        let actual_crc = crc32(&contents);
        if actual_crc != self.crc32 {
            return fail(format!(
                "damaged ZIP archive: `{name}` fails its CRC-32 check (stored {:08x}, computed \
                 {actual_crc:08x})",
                self.crc32
            ));
        }
        Ok(contents)
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) with a 256-entry table built at compile
/// time: ZIP entries are checked byte by byte.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC32_TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::test_support::error_of;
    use crate::io::npy::{write_npy_f32, write_npy_i64};

    /// A ZIP archive of STORED entries, the layout np.savez writes (without its ZIP64 extras).
    fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in entries {
            let offset = zip.len() as u32;
            let mut common = Vec::new();
            common.extend_from_slice(&20u16.to_le_bytes()); // version needed
            common.extend_from_slice(&0u16.to_le_bytes()); // flags
            common.extend_from_slice(&METHOD_STORED.to_le_bytes());
            common.extend_from_slice(&[0; 4]); // time, date
            common.extend_from_slice(&crc32(data).to_le_bytes());
            common.extend_from_slice(&(data.len() as u32).to_le_bytes());
            common.extend_from_slice(&(data.len() as u32).to_le_bytes());
            common.extend_from_slice(&(name.len() as u16).to_le_bytes());
            common.extend_from_slice(&0u16.to_le_bytes()); // extra length
            zip.extend_from_slice(&LOCAL_HEADER_SIGNATURE.to_le_bytes());
            zip.extend_from_slice(&common);
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(data);
            directory.extend_from_slice(&CENTRAL_HEADER_SIGNATURE.to_le_bytes());
            directory.extend_from_slice(&20u16.to_le_bytes()); // version made by
            directory.extend_from_slice(&common);
            directory.extend_from_slice(&[0; 10]); // comment length … external attributes
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_offset = zip.len() as u32;
        zip.extend_from_slice(&directory);
        zip.extend_from_slice(&END_OF_CENTRAL_DIRECTORY_SIGNATURE.to_le_bytes());
        zip.extend_from_slice(&[0; 4]); // disk numbers
        zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        zip.extend_from_slice(&directory_offset.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
        zip
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn archives_are_read_by_entry_name() {
        let a = write_npy_f32(&[2], &[1.0, 2.0]);
        let b = write_npy_i64(&[], &[9]);
        let zip = stored_zip(&[("a.npy", &a), ("dir/", b""), ("dir/b.npy", &b), ("c", &a)]);
        let arrays = read_npz(&zip).unwrap();
        assert_eq!(arrays.keys().collect::<Vec<_>>(), ["a", "c", "dir/b"]);
        assert_eq!(arrays["a"].data, [1.0, 2.0]);
        assert_eq!(arrays["dir/b"].shape, Vec::<usize>::new());
        assert_eq!(arrays["dir/b"].data, [9.0]);
        assert!(read_npz(&stored_zip(&[])).unwrap().is_empty());
    }

    #[test]
    fn damaged_archives_are_refused_with_a_reason() {
        let a = write_npy_f32(&[2], &[1.0, 2.0]);
        let good = stored_zip(&[("a.npy", &a)]);
        let directory_offset = good.len() - 22 - 46 - "a.npy".len();
        let eocd = good.len() - 22;

        assert!(error_of(read_npz(&a)).contains("single .npy array"));
        assert!(error_of(read_npz(b"garbage")).contains("not an .npz file"));
        assert!(error_of(read_npz(&stored_zip(&[("a.npy", &a), ("a", &a)])))
            .contains("two arrays named `a`"));
        assert!(error_of(read_npz(&stored_zip(&[("x.npy", b"text")])))
            .contains("array `x` (x.npy): not an .npy file"));

        let mutate = |at: usize, value: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + value.len()].copy_from_slice(value);
            error_of(read_npz(&bytes))
        };
        assert!(mutate(eocd + 10, &[0xff, 0xff]).contains("ZIP64"));
        assert!(mutate(eocd + 16, &[0xff; 4]).contains("ZIP64"));
        assert!(mutate(directory_offset + 20, &[0xff; 4]).contains("ZIP64"));
        assert!(mutate(eocd + 4, &[1, 0]).contains("multi-volume"));
        assert!(mutate(directory_offset + 8, &[1, 0]).contains("encrypted"));
        assert!(mutate(directory_offset + 10, &[12, 0]).contains("method 12"));
        assert!(mutate(directory_offset + 16, &[0; 4]).contains("CRC-32"));
        assert!(mutate(directory_offset + 20, &[1, 0, 0, 0]).contains("sizes"));
        assert!(mutate(directory_offset + 42, &[1, 0, 0, 0]).contains("local header"));
        assert!(mutate(directory_offset, b"XXXX").contains("entry 0"));
        assert!(mutate(30 + 5 + 20, &[0x55]).contains("CRC-32"));
        // A comment after the record, as zip tools may add, is skipped.
        let mut commented = good.clone();
        commented[eocd + 20] = 3;
        commented.extend_from_slice(b"hi!");
        assert!(read_npz(&commented).is_ok());
    }
}
