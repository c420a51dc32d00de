//! A TIFF page read in parts: what one page needs of a multi-page original (its directory,
//! the values the directory points at, its strips or tiles), so a page of a 300-page fax
//! reads its own bytes and not the other pages'.
//!
//! The caller asks [`tiff_page_needs`] which byte ranges are still missing, reads them
//! (ranged reads of the stored original), adds them to a [`PartialFile`] and asks again;
//! once nothing is missing, [`decode_tiff_page_at`] decodes the page from those parts. Anything unusual (a directory that
//! points outside the file, a value of a type TIFF does not define) makes the planner stop
//! asking and the decoder fail; the caller then decodes from the whole original, whose
//! errors are the ones a user is shown.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use super::ifd::{Directory, Header};
use crate::{Limits, MediaError, guard};

/// Ranged reads closer than this are read as one: a request costs more than a few KiB.
const COALESCE_GAP: u64 = 64 * 1024;
/// The first read of a directory: most directories and their values fit in it.
const DIRECTORY_GUESS: u64 = 16 * 1024;
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

    /// The bytes of `range`, if held (from one part, or joined from several).
    pub(crate) fn read(&self, range: Range<u64>) -> Option<Cow<'_, [u8]>> {
        if let Some(b) = self.slice(range.clone()) {
            return Some(Cow::Borrowed(b));
        }
        if !self.covers(&range) {
            return None;
        }
        let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).ok()?);
        let mut pos = range.start;
        while pos < range.end {
            let (start, bytes) = self.part_at(pos)?;
            let from = (pos - start) as usize;
            let to = (range.end.min(start + bytes.len() as u64) - start) as usize;
            out.extend_from_slice(&bytes[from..to]);
            pos = start + to as u64;
        }
        Some(Cow::Owned(out))
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
    let guess = at..at.saturating_add(DIRECTORY_GUESS);
    let Ok(header) = Header::read(file) else {
        return missing(file, [0..16, guess]);
    };
    let dir = match Directory::read(file, header, at) {
        Ok(dir) => dir,
        Err(_) => {
            return match header.directory_span(file, at) {
                // Its size is known and it is held: it is not a directory to read.
                Some(span) if file.covers(&span) => Vec::new(),
                Some(span) => missing(file, std::iter::once(span)),
                None => missing(file, std::iter::once(guess)),
            };
        }
    };
    let mut wanted = dir.value_ranges(MAX_VALUE_BYTES);
    // The image data: strips, tiles, or an old-style JPEG stream, once their tables are
    // held (the next round, if they are not yet).
    for (offsets, counts) in [(273, 279), (324, 325), (513, 514)] {
        if let (Ok(Some(starts)), Ok(Some(lengths))) =
            (dir.uints(file, offsets), dir.uints(file, counts))
        {
            wanted.extend(
                starts
                    .iter()
                    .zip(&lengths)
                    .filter(|(_, len)| **len > 0)
                    .map(|(start, len)| *start..start.saturating_add(*len)),
            );
        }
    }
    missing(file, wanted)
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

/// Decodes page `page` (1-based, for messages), whose directory is at `at`, from the parts
/// [`TiffPageReads`] read; as [`crate::decode_page`] decodes it from the whole original.
pub fn decode_tiff_page_at(
    file: &PartialFile,
    at: u64,
    page: u32,
    limits: &Limits,
) -> Result<super::super::DecodedPage, MediaError> {
    guard("TIFF", || {
        let header = super::ifd::Header::read(file)?;
        super::decode_at(file, header, at, page, limits)
    })
}
