//! An in-memory index as one object, and back: its files one after another, each named
//! and sized. Read with every length checked against what is there, so a damaged or
//! foreign object is an error (the caller makes the index again from the records), never
//! a panic or an allocation it names.
//!
//! ```text
//! "MDSX" u8 format (1) u32 count, then per file: u16 name length, name (UTF-8),
//! u64 length, bytes; all integers little-endian; nothing after the last file
//! ```

use medidocs_core::ports::StoreError;

const MAGIC: &[u8; 4] = b"MDSX";
const FORMAT: u8 = 1;
/// More files than an index of one patient ever has (tantivy keeps a handful per
/// segment and merges segments).
const MAX_FILES: u32 = 10_000;
const MAX_NAME: usize = 255;

/// Joins files into one object.
pub fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let size: usize = files.iter().map(|(n, b)| 10 + n.len() + b.len()).sum();
    let mut out = Vec::with_capacity(9 + size);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for (name, bytes) in files {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

fn bad(what: impl Into<String>) -> StoreError {
    StoreError::InvalidInput {
        what: format!("a search index object: {}", what.into()),
    }
}

/// Whether `name` is a file name an index has: no folders, nothing hidden but tantivy's
/// own `.managed.json`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What is left of an object being read.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], StoreError> {
        if self.0.len() < n {
            return Err(bad(format!("cut short in {what}")));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn int<const N: usize>(&mut self, what: &str) -> Result<[u8; N], StoreError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
}

/// Splits an object made by [`pack`] into its files.
pub fn unpack(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, StoreError> {
    let mut r = Reader(bytes);
    if r.take(4, "its header")? != MAGIC {
        return Err(bad("not an index object"));
    }
    let format = r.take(1, "its header")?[0];
    if format != FORMAT {
        return Err(bad(format!("format {format}, this version reads {FORMAT}")));
    }
    let count = u32::from_le_bytes(r.int("its header")?);
    if count > MAX_FILES {
        return Err(bad(format!("{count} files")));
    }
    let mut files: Vec<(String, &[u8])> = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let n = u16::from_le_bytes(r.int("a file's name")?);
        let name = std::str::from_utf8(r.take(n as usize, "a file's name")?)
            .map_err(|_| bad("a file name that is not UTF-8"))?;
        if !plain_name(name) {
            return Err(bad(format!("a file named {name:?}")));
        }
        let len = u64::from_le_bytes(r.int("a file's length")?);
        let len = usize::try_from(len).map_err(|_| bad("a file larger than memory"))?;
        let data = r.take(len, "a file")?;
        if files.iter().any(|(n, _)| n == name) {
            return Err(bad(format!("{name} twice")));
        }
        files.push((name.to_string(), data));
    }
    if !r.0.is_empty() {
        return Err(bad(format!("{} bytes after its last file", r.0.len())));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_back_as_they_went_in() {
        let files = vec![
            ("meta.json".to_string(), b"{}".to_vec()),
            (".managed.json".to_string(), b"[]".to_vec()),
            ("a1b2.store".to_string(), vec![0, 1, 2, 255]),
            ("empty.idx".to_string(), Vec::new()),
        ];
        let packed = pack(&files);
        let back = unpack(&packed).unwrap();
        assert_eq!(back.len(), files.len());
        for ((n, b), (m, c)) in files.iter().zip(&back) {
            assert_eq!(n, m);
            assert_eq!(b.as_slice(), *c);
        }
    }

    #[test]
    fn every_damage_is_an_error_not_a_panic() {
        let packed = pack(&[
            ("meta.json".to_string(), b"{\"a\":1}".to_vec()),
            ("x.store".to_string(), vec![7; 40]),
        ]);
        // Every truncation, and every single byte changed to each of a few values.
        for cut in 0..packed.len() {
            assert!(unpack(&packed[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..packed.len() {
            for v in [0u8, 1, 0x7f, 0xff, b'/'] {
                let mut b = packed.clone();
                b[i] = v;
                let _ = unpack(&b);
            }
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack(&longer).is_err());
        // A name with a folder, a length beyond the object, a count beyond the limit.
        let evil = pack(&[("../meta.json".to_string(), vec![1])]);
        assert!(unpack(&evil).is_err());
        let mut huge = pack(&[("a.idx".to_string(), vec![1])]);
        let at = 4 + 1 + 4 + 2 + 5;
        huge[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(unpack(&huge).is_err());
        let mut many = pack(&[]);
        many[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack(&many).is_err());
        assert!(unpack(b"PK\x03\x04").is_err());
    }
}
