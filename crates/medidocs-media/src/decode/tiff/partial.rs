//! A TIFF page read in parts: what one page needs of a multi-page original (its directory,
//! the values the directory points at, its strips or tiles), so a page of a 300-page fax
//! reads its own bytes and not the other pages'.
//!
//! The caller asks [`tiff_page_needs`] which byte ranges are still missing, reads them
//! (ranged reads of the stored original), adds them to a [`PartialFile`] and asks again;
//! once nothing is missing, [`decode_tiff_page_at`] decodes the page from those parts as
//! if it were the first page of a file of its own. Anything unusual (a directory that
//! points outside the file, a value of a type TIFF does not define) makes the planner stop
//! asking and the decoder fail; the caller then decodes from the whole original, whose
//! errors are the ones a user is shown.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use crate::{Limits, MediaError, guard};

/// Ranged reads closer than this are read as one: a request costs more than a few KiB.
const COALESCE_GAP: u64 = 64 * 1024;
/// The first read of a directory: most directories and their values fit in it.
const DIRECTORY_GUESS: u64 = 16 * 1024;
/// A directory with more entries than this is not a page's: the planner stops.
const MAX_ENTRIES: u64 = 4096;
/// The largest single value array the planner asks for (a colour map is 1.5 KiB, strip
/// tables of a tall fax some KiB).
const MAX_VALUE_BYTES: u64 = 1024 * 1024;

/// Parts of an original, by the offset they were read at.
#[derive(Debug, Default, Clone)]
pub struct PartialFile {
    parts: BTreeMap<u64, Vec<u8>>,
}

impl PartialFile {
    /// Adds the bytes read at `offset` (a ranged read, cut short at the file's end).
    pub fn insert(&mut self, offset: u64, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.parts.insert(offset, bytes);
        }
    }

    /// How many bytes of the original it holds.
    pub fn held(&self) -> u64 {
        self.parts.values().map(|p| p.len() as u64).sum()
    }

    /// The part holding `pos`, and where that part starts.
    fn part_at(&self, pos: u64) -> Option<(u64, &[u8])> {
        self.parts
            .range(..=pos)
            .rev()
            .find(|(start, bytes)| pos < *start + bytes.len() as u64)
            .map(|(start, bytes)| (*start, bytes.as_slice()))
    }

    /// Whether every byte of `range` is held.
    fn covers(&self, range: &Range<u64>) -> bool {
        let mut pos = range.start;
        while pos < range.end {
            match self.part_at(pos) {
                Some((start, bytes)) => pos = start + bytes.len() as u64,
                None => return false,
            }
        }
        true
    }

    /// The parts of `range` not held.
    fn uncovered(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut pos = range.start;
        while pos < range.end {
            if let Some((start, bytes)) = self.part_at(pos) {
                pos = start + bytes.len() as u64;
                continue;
            }
            // Up to the next part that starts within the range, or the range's end.
            let end = self
                .parts
                .range(pos..range.end)
                .next()
                .map_or(range.end, |(start, _)| *start);
            out.push(pos..end);
            pos = end;
        }
        out
    }

    /// `range`'s bytes, when one part holds all of them.
    pub(crate) fn slice(&self, range: Range<u64>) -> Option<&[u8]> {
        let (start, bytes) = self.part_at(range.start)?;
        let from = usize::try_from(range.start - start).ok()?;
        let to = usize::try_from(range.end.checked_sub(start)?).ok()?;
        bytes.get(from..to)
    }

    fn bytes_at<const N: usize>(&self, pos: u64) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        let mut cursor = PartialCursor {
            file: self,
            header: Vec::new(),
            pos,
        };
        cursor.read_exact(&mut out).ok()?;
        Some(out)
    }
}

/// A TIFF page read in rounds of ranged reads: [`TiffPageReads::next`] says what to read,
/// [`TiffPageReads::insert`] takes what was read, until `next` says `None`;
/// [`TiffPageReads::finish`] then gives the parts, or `None` when the reads stopped without
/// them all (no progress: what it asked for lies beyond the file's end; or too many rounds).
#[derive(Debug)]
pub struct TiffPageReads {
    parts: PartialFile,
    at: u64,
    limits: Limits,
    rounds: usize,
    last: Vec<Range<u64>>,
    complete: bool,
}

/// A page's directory, its values and its strips: three rounds of reads, and one to spare
/// for a directory larger than the first read of it.
const MAX_ROUNDS: usize = 5;

impl TiffPageReads {
    /// Reads of the page whose directory starts at `at`.
    pub fn new(at: u64, limits: Limits) -> Self {
        Self {
            parts: PartialFile::default(),
            at,
            limits,
            rounds: 0,
            last: Vec::new(),
            complete: false,
        }
    }

    /// The ranges to read next; `None` when done.
    #[allow(clippy::should_implement_trait)] // not an iterator: it needs what was read
    pub fn next(&mut self) -> Option<Vec<Range<u64>>> {
        let needs = tiff_page_needs(&self.parts, self.at, &self.limits);
        if needs.is_empty() {
            self.complete = true;
            return None;
        }
        if needs == self.last || self.rounds == MAX_ROUNDS {
            return None;
        }
        self.rounds += 1;
        self.last.clone_from(&needs);
        Some(needs)
    }

    /// The bytes read at `offset` (cut short at the file's end).
    pub fn insert(&mut self, offset: u64, bytes: Vec<u8>) {
        self.parts.insert(offset, bytes);
    }

    /// The parts read, if the planner asked for nothing more.
    pub fn finish(self) -> Option<PartialFile> {
        self.complete.then_some(self.parts)
    }
}

/// How a TIFF file is laid out: byte order, and classic or BigTIFF.
#[derive(Debug, Clone, Copy)]
struct Layout {
    little: bool,
    big: bool,
}

impl Layout {
    fn read(file: &PartialFile) -> Option<Self> {
        let h: [u8; 4] = file.bytes_at(0)?;
        let little = match &h[..2] {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        let version = if little {
            u16::from_le_bytes([h[2], h[3]])
        } else {
            u16::from_be_bytes([h[2], h[3]])
        };
        let big = match version {
            42 => false,
            43 => true,
            _ => return None,
        };
        Some(Self { little, big })
    }

    fn uint(self, b: &[u8]) -> u64 {
        let mut v = [0u8; 8];
        if self.little {
            v[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(v)
        } else {
            v[8 - b.len()..].copy_from_slice(b);
            u64::from_be_bytes(v)
        }
    }

    /// The header's length, and where in it the first directory's offset is.
    fn header(self) -> (usize, Range<usize>) {
        if self.big { (16, 8..16) } else { (8, 4..8) }
    }

    fn offset_size(self) -> u64 {
        if self.big { 8 } else { 4 }
    }

    fn entry_size(self) -> u64 {
        if self.big { 20 } else { 12 }
    }

    fn count_size(self) -> u64 {
        if self.big { 8 } else { 2 }
    }
}

/// The byte size of one value of a TIFF field type; 0 for a type TIFF does not define.
fn type_size(kind: u16) -> u64 {
    match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16..=18 => 8,
        _ => 0,
    }
}

/// One directory entry: its tag, and where its values are (inline: within the entry).
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    values: Range<u64>,
}

/// The byte ranges page `at` (the offset of its directory) still needs that `file` does not
/// hold, with nearby ranges read as one; empty when it holds all of them, when the
/// directory is not one the planner understands, or when what it names comes to more than
/// `limits.max_bytes` (the decoder then says what is wrong, or the caller reads the whole
/// original, whose size was checked).
pub fn tiff_page_needs(file: &PartialFile, at: u64, limits: &Limits) -> Vec<Range<u64>> {
    let needs = page_needs(file, at);
    let total = needs
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.end - r.start));
    if total.saturating_add(file.held()) > limits.max_bytes {
        return Vec::new();
    }
    needs
}

fn page_needs(file: &PartialFile, at: u64) -> Vec<Range<u64>> {
    let Some(layout) = Layout::read(file) else {
        return missing(file, vec![0..16, at..at.saturating_add(DIRECTORY_GUESS)]);
    };
    let count_at = at..at + layout.count_size();
    let Some(count) = read_uint(file, layout, count_at.clone()) else {
        return missing(
            file,
            std::iter::once(at..at.saturating_add(DIRECTORY_GUESS)),
        );
    };
    if count == 0 || count > MAX_ENTRIES {
        return Vec::new();
    }
    let directory = at..count_at.end + count * layout.entry_size() + layout.offset_size();
    if !file.covers(&directory) {
        return missing(file, std::iter::once(directory));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for i in 0..count {
        let e = count_at.end + i * layout.entry_size();
        let (Some(tag), Some(kind)) = (
            read_uint(file, layout, e..e + 2),
            read_uint(file, layout, e + 2..e + 4),
        ) else {
            return Vec::new();
        };
        let count_len = layout.offset_size();
        let Some(n) = read_uint(file, layout, e + 4..e + 4 + count_len) else {
            return Vec::new();
        };
        let field = e + 4 + count_len..e + 4 + 2 * count_len;
        let size = match n.checked_mul(type_size(kind as u16)) {
            Some(s) if s <= MAX_VALUE_BYTES => s,
            _ => continue,
        };
        let values = if size <= layout.offset_size() {
            field.start..field.start + size
        } else {
            let Some(offset) = read_uint(file, layout, field) else {
                return Vec::new();
            };
            offset..offset.saturating_add(size)
        };
        entries.push(Entry {
            tag: tag as u16,
            kind: kind as u16,
            count: n,
            values,
        });
    }
    let mut wanted: Vec<Range<u64>> = entries.iter().map(|e| e.values.clone()).collect();
    let find = |tag: u16| entries.iter().find(|e| e.tag == tag);
    // The image data: strips, tiles, or an old-style JPEG stream.
    for (offsets, counts) in [(273, 279), (324, 325), (513, 514)] {
        let (Some(offsets), Some(counts)) = (find(offsets), find(counts)) else {
            continue;
        };
        if !file.covers(&offsets.values) || !file.covers(&counts.values) {
            continue; // the next round, once the tables are read
        }
        let (Some(starts), Some(lengths)) =
            (values(file, layout, offsets), values(file, layout, counts))
        else {
            return Vec::new();
        };
        wanted.extend(
            starts
                .iter()
                .zip(&lengths)
                .filter(|(_, len)| **len > 0)
                .map(|(start, len)| *start..start.saturating_add(*len)),
        );
    }
    missing(file, wanted)
}

/// An unsigned value of 1, 2, 4 or 8 bytes at `range`, if held.
fn read_uint(file: &PartialFile, layout: Layout, range: Range<u64>) -> Option<u64> {
    let b: [u8; 8] = match range.end - range.start {
        1 => pad(file.bytes_at::<1>(range.start)?),
        2 => pad(file.bytes_at::<2>(range.start)?),
        4 => pad(file.bytes_at::<4>(range.start)?),
        8 => file.bytes_at::<8>(range.start)?,
        _ => return None,
    };
    Some(layout.uint(&b[..(range.end - range.start) as usize]))
}

fn pad<const N: usize>(b: [u8; N]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..N].copy_from_slice(&b);
    out
}

/// An entry's values as unsigned numbers (BYTE, SHORT, LONG or LONG8), if held.
fn values(file: &PartialFile, layout: Layout, e: &Entry) -> Option<Vec<u64>> {
    let size = type_size(e.kind);
    if !matches!(e.kind, 1 | 3 | 4 | 16) || e.count > MAX_VALUE_BYTES / size {
        return None;
    }
    (0..e.count)
        .map(|i| {
            let at = e.values.start + i * size;
            read_uint(file, layout, at..at + size)
        })
        .collect()
}

/// What of `wanted` `file` lacks, sorted, with ranges closer than [`COALESCE_GAP`] joined.
fn missing(file: &PartialFile, wanted: impl IntoIterator<Item = Range<u64>>) -> Vec<Range<u64>> {
    let mut wanted: Vec<Range<u64>> = wanted.into_iter().flat_map(|r| file.uncovered(r)).collect();
    wanted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(wanted.len());
    for r in wanted {
        match out.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(COALESCE_GAP) => {
                last.end = last.end.max(r.end)
            }
            _ => out.push(r),
        }
    }
    out
}

/// A reader over a [`PartialFile`] whose header names `header`'s first directory: the page
/// is then the file's first. Reading a byte it does not hold is an error.
pub(crate) struct PartialCursor<'a> {
    file: &'a PartialFile,
    header: Vec<u8>,
    pos: u64,
}

impl<'a> PartialCursor<'a> {
    /// A reader that sees page `at` as the first page of the file.
    pub(crate) fn page(file: &'a PartialFile, at: u64) -> Option<Self> {
        let layout = Layout::read(file)?;
        let (len, pointer) = layout.header();
        let mut header = file.slice(0..len as u64)?.to_vec();
        let pointer_bytes = if layout.big {
            if layout.little {
                at.to_le_bytes().to_vec()
            } else {
                at.to_be_bytes().to_vec()
            }
        } else {
            let at = u32::try_from(at).ok()?;
            if layout.little {
                at.to_le_bytes().to_vec()
            } else {
                at.to_be_bytes().to_vec()
            }
        };
        header[pointer].copy_from_slice(&pointer_bytes);
        Some(Self {
            file,
            header,
            pos: 0,
        })
    }
}

impl Read for PartialCursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(rest) = usize::try_from(self.pos)
            .ok()
            .and_then(|p| self.header.get(p..))
            .filter(|r| !r.is_empty())
        {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let Some((start, bytes)) = self.file.part_at(self.pos) else {
            return Err(io::Error::other(format!(
                "byte {} of the original was not read",
                self.pos
            )));
        };
        let from = (self.pos - start) as usize;
        let n = (bytes.len() - from).min(buf.len());
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PartialCursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self
                .pos
                .checked_add_signed(d)
                .ok_or_else(|| io::Error::other("seek before the start"))?,
            SeekFrom::End(_) => {
                return Err(io::Error::other("the original's length is not known"));
            }
        };
        Ok(self.pos)
    }
}

/// Decodes page `at` (the offset of its directory) from the parts [`tiff_page_needs`] asked
/// for; as [`crate::decode_page`] decodes it from the whole original.
pub fn decode_tiff_page_at(
    file: &PartialFile,
    at: u64,
    limits: &Limits,
) -> Result<super::super::DecodedPage, MediaError> {
    guard("TIFF", || {
        let cursor = PartialCursor::page(file, at)
            .ok_or_else(|| MediaError::Corrupt("TIFF: the header was not read".into()))?;
        super::decode_tiff(super::TiffSource::Partial(file), cursor, 0, limits)
    })
}
