//! TIFF structure: the header, the chain of page directories (IFDs) and their values, read
//! from the whole file or from the parts of it one page read ([`super::partial`]).

use std::borrow::Cow;
use std::ops::Range;

use super::partial::PartialFile;
use crate::MediaError;

/// Bytes of a TIFF file by offset: the whole file, or parts of it.
pub(crate) trait Source {
    /// The bytes of `range`; `None` if they are not all there (beyond the end, not read).
    fn bytes(&self, range: Range<u64>) -> Option<Cow<'_, [u8]>>;
}

impl Source for [u8] {
    fn bytes(&self, range: Range<u64>) -> Option<Cow<'_, [u8]>> {
        let start = usize::try_from(range.start).ok()?;
        let end = usize::try_from(range.end).ok()?;
        self.get(start..end).map(Cow::Borrowed)
    }
}

impl Source for PartialFile {
    fn bytes(&self, range: Range<u64>) -> Option<Cow<'_, [u8]>> {
        self.read(range)
    }
}

fn bad(what: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("TIFF: {what}"))
}

/// The file's byte order, classic or BigTIFF, and where the first page's directory is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub little: bool,
    pub big: bool,
    pub first: u64,
}

impl Header {
    pub(crate) fn read(src: &(impl Source + ?Sized)) -> Result<Self, MediaError> {
        let h = src
            .bytes(0..8)
            .ok_or_else(|| bad("the file is shorter than a TIFF header"))?;
        let little = match &h[..2] {
            b"II" => true,
            b"MM" => false,
            _ => return Err(bad("no byte-order mark")),
        };
        let mut header = Self {
            little,
            big: false,
            first: 0,
        };
        match header.uint(&h[2..4]) {
            42 => header.first = header.uint(&h[4..8]),
            43 => {
                let b = src
                    .bytes(8..16)
                    .ok_or_else(|| bad("the BigTIFF header is cut short"))?;
                if header.uint(&h[4..6]) != 8 {
                    return Err(bad("BigTIFF offsets that are not 8 bytes"));
                }
                header.big = true;
                header.first = header.uint(&b);
            }
            v => return Err(bad(format!("version {v} is neither TIFF nor BigTIFF"))),
        }
        Ok(header)
    }

    /// An unsigned number of 1 to 8 bytes in the file's byte order.
    pub(crate) fn uint(&self, b: &[u8]) -> u64 {
        let mut v = [0u8; 8];
        if self.little {
            v[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(v)
        } else {
            v[8 - b.len()..].copy_from_slice(b);
            u64::from_be_bytes(v)
        }
    }

    fn offset_size(&self) -> u64 {
        if self.big { 8 } else { 4 }
    }

    /// The bytes of the directory at `at`, once its entry count is held.
    pub(crate) fn directory_span(
        &self,
        src: &(impl Source + ?Sized),
        at: u64,
    ) -> Option<Range<u64>> {
        let (count_size, entry_size) = if self.big { (8, 20) } else { (2, 12) };
        let count = self.uint(&src.bytes(at..at.checked_add(count_size)?)?);
        let len = count_size + count.min(MAX_ENTRIES + 1) * entry_size + self.offset_size();
        span(at, len)
    }
}

/// The byte size of one value of a TIFF field type; 0 for a type TIFF does not define.
pub(crate) fn type_size(kind: u16) -> u64 {
    match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16..=18 => 8,
        _ => 0,
    }
}

/// A directory entry: its tag, type, count, and the entry's value field as stored.
#[derive(Debug, Clone)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    field: [u8; 8],
}

/// One page's directory.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    header: Header,
    entries: Vec<Entry>,
    /// Where the next page's directory is (0: none).
    pub next: u64,
}

/// More entries than this is not a page's directory.
const MAX_ENTRIES: u64 = 4096;
/// The most values one tag may have (a strip table of a very tall image is some
/// hundreds of thousands).
const MAX_VALUES: u64 = 4 << 20;

impl Directory {
    pub(crate) fn read(
        src: &(impl Source + ?Sized),
        header: Header,
        at: u64,
    ) -> Result<Self, MediaError> {
        let (count_size, entry_size) = if header.big { (8, 20) } else { (2, 12) };
        let count = src
            .bytes(at..at.saturating_add(count_size))
            .map(|b| header.uint(&b))
            .ok_or_else(|| bad(format!("a page directory at byte {at} is beyond the end")))?;
        if count == 0 || count > MAX_ENTRIES {
            return Err(bad(format!("a page directory of {count} entries")));
        }
        let start = at + count_size;
        let end = start + count * entry_size;
        let raw = src
            .bytes(start..end + header.offset_size())
            .ok_or_else(|| bad("a page directory is cut short"))?;
        let value = (entry_size - 4 - header.offset_size()) as usize;
        let mut entries = Vec::with_capacity(count as usize);
        for e in raw[..(count * entry_size) as usize].chunks_exact(entry_size as usize) {
            let mut field = [0u8; 8];
            let f = &e[4 + value..];
            field[..f.len()].copy_from_slice(f);
            entries.push(Entry {
                tag: header.uint(&e[0..2]) as u16,
                kind: header.uint(&e[2..4]) as u16,
                count: header.uint(&e[4..4 + value]),
                field,
            });
        }
        let next = header.uint(&raw[(count * entry_size) as usize..]);
        Ok(Self {
            header,
            entries,
            next,
        })
    }

    /// Where the values of each tag are that do not fit in their entry (a value array of
    /// more than `max` bytes left out).
    pub(crate) fn value_ranges(&self, max: u64) -> Vec<Range<u64>> {
        let inline = self.header.offset_size();
        self.entries
            .iter()
            .filter_map(|e| {
                let size = e
                    .count
                    .checked_mul(type_size(e.kind))
                    .filter(|&s| s <= max)?;
                (size > inline)
                    .then(|| span(self.header.uint(&e.field[..inline as usize]), size))
                    .flatten()
            })
            .collect()
    }

    fn entry(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    pub(crate) fn has(&self, tag: u16) -> bool {
        self.entry(tag).is_some()
    }

    /// The bytes of a tag's values, inline or where the entry points.
    fn value_bytes<'s>(
        &self,
        src: &'s (impl Source + ?Sized),
        e: &Entry,
    ) -> Result<Cow<'s, [u8]>, MediaError> {
        let size = e
            .count
            .checked_mul(type_size(e.kind))
            .filter(|_| e.count <= MAX_VALUES)
            .ok_or_else(|| bad(format!("tag {} has {} values", e.tag, e.count)))?;
        let inline = self.header.offset_size();
        if size <= inline {
            return Ok(Cow::Owned(e.field[..size as usize].to_vec()));
        }
        let at = self.header.uint(&e.field[..inline as usize]);
        src.bytes(at..at.saturating_add(size))
            .ok_or_else(|| bad(format!("the values of tag {} are beyond the end", e.tag)))
    }

    /// A tag's values as unsigned numbers (BYTE, SHORT, LONG, LONG8 and their signed forms
    /// read as bits); `None` if the page has no such tag.
    pub(crate) fn uints(
        &self,
        src: &(impl Source + ?Sized),
        tag: u16,
    ) -> Result<Option<Vec<u64>>, MediaError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        let size = type_size(e.kind) as usize;
        if !matches!(e.kind, 1 | 3 | 4 | 6 | 8 | 9 | 13 | 16 | 17 | 18) {
            return Err(bad(format!("tag {tag} has values of type {}", e.kind)));
        }
        let bytes = self.value_bytes(src, e)?;
        Ok(Some(
            bytes
                .chunks_exact(size)
                .map(|b| self.header.uint(b))
                .collect(),
        ))
    }

    /// A tag's first value.
    pub(crate) fn uint(
        &self,
        src: &(impl Source + ?Sized),
        tag: u16,
    ) -> Result<Option<u64>, MediaError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.count == 0 {
            return Ok(None);
        }
        // Only the first value is read, however many the entry claims.
        let size = type_size(e.kind);
        if !matches!(e.kind, 1 | 3 | 4 | 6 | 8 | 9 | 13 | 16 | 17 | 18) {
            return Err(bad(format!("tag {tag} has values of type {}", e.kind)));
        }
        let inline = self.header.offset_size();
        let bytes = if e.count.saturating_mul(size) <= inline {
            Cow::Owned(e.field[..size as usize].to_vec())
        } else {
            let at = self.header.uint(&e.field[..inline as usize]);
            src.bytes(at..at.saturating_add(size))
                .ok_or_else(|| bad(format!("the values of tag {tag} are beyond the end")))?
        };
        Ok(Some(self.header.uint(&bytes)))
    }

    /// A tag's first value, or `default` when the page has none.
    pub(crate) fn uint_or(
        &self,
        src: &(impl Source + ?Sized),
        tag: u16,
        default: u64,
    ) -> Result<u64, MediaError> {
        Ok(self.uint(src, tag)?.unwrap_or(default))
    }

    /// A tag's values as numbers, rationals divided out.
    pub(crate) fn reals(
        &self,
        src: &(impl Source + ?Sized),
        tag: u16,
    ) -> Result<Option<Vec<f64>>, MediaError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(e.kind, 5 | 10) {
            return Ok(self
                .uints(src, tag)?
                .map(|v| v.into_iter().map(|x| x as f64).collect()));
        }
        let bytes = self.value_bytes(src, e)?;
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|b| {
                    let (n, d) = (self.header.uint(&b[..4]), self.header.uint(&b[4..]));
                    if e.kind == 10 {
                        (n as u32 as i32) as f64 / (d as u32 as i32) as f64
                    } else {
                        n as f64 / d as f64
                    }
                })
                .collect(),
        ))
    }

    /// A tag's values as bytes (UNDEFINED or BYTE: JPEG tables).
    pub(crate) fn raw<'s>(
        &self,
        src: &'s (impl Source + ?Sized),
        tag: u16,
    ) -> Result<Option<Cow<'s, [u8]>>, MediaError> {
        match self.entry(tag) {
            Some(e) if matches!(e.kind, 1 | 7) => self.value_bytes(src, e).map(Some),
            Some(e) => Err(bad(format!("tag {tag} has values of type {}", e.kind))),
            None => Ok(None),
        }
    }
}

/// The first `max_pages` pages' directories (where each is, and what it holds), following
/// the chain from the header, and where the chain goes on after them (0: it ends). An error
/// for a chain that loops or has no page.
pub(crate) fn page_directories(
    src: &(impl Source + ?Sized),
    header: Header,
    max_pages: u32,
) -> Result<(Vec<(u64, Directory)>, u64), MediaError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut at = header.first;
    while at != 0 && (out.len() as u64) < max_pages as u64 {
        if !seen.insert(at) {
            return Err(bad("the page directories loop"));
        }
        let dir = Directory::read(src, header, at)?;
        let next = dir.next;
        out.push((at, dir));
        at = next;
    }
    if out.is_empty() {
        return Err(bad("the file has no pages"));
    }
    Ok((out, at))
}

/// How many pages the chain has from `at` on, counted cheaply up to a bound (for an
/// honest message about a file over the page limit).
pub(crate) fn count_pages(src: &(impl Source + ?Sized), header: Header, mut at: u64) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    while at != 0 && n < 100_000 && seen.insert(at) {
        n += 1;
        at = Directory::read(src, header, at).map_or(0, |d| d.next);
    }
    n
}

/// The range `count` bytes at `at` cover, checked.
pub(crate) fn span(at: u64, count: u64) -> Option<Range<u64>> {
    Some(at..at.checked_add(count)?)
}
