//! TIFF LZW (compression 5) strips, decoded for speed. Every table entry is a run of bytes
//! already written to the output (a code's string is the previous code's string plus the
//! first byte of the one after it, and the two are adjacent in the output), so a code is
//! one short copy within the output: no string table, no reversal. On a 300 dpi colour
//! scan this decodes about four times as fast as the general decoder `weezl` (see
//! docs/benchmarks.md). Anything unusual (old-style LSB-first streams, a bad code, a
//! strip that ends early) is an error, and the caller then falls back to `weezl`
//! ([`super::codec::lzw`]).

const CLEAR: usize = 256;
const EOI: usize = 257;
const FIRST: usize = 258;
const MAX_CODES: usize = 4096;

/// Why a strip was not decoded here.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LzwError {
    /// A code that is neither a byte, a known entry nor the next entry.
    BadCode,
    /// The stream ended before the strip's bytes were all produced.
    Short,
}

/// Decodes one strip into `out`, which must be exactly the strip's decoded size. Bytes the
/// stream has beyond `out` are ignored, as libtiff does.
pub(crate) fn decode_strip(input: &[u8], out: &mut [u8]) -> Result<(), LzwError> {
    // Table entry `c` (c >= 258) is out[pos[c]..pos[c] + len[c]].
    let mut pos = [0u32; MAX_CODES];
    let mut len = [0u32; MAX_CODES];
    let mut next = FIRST;
    let mut width = 9u32;
    let (mut bits, mut nbits, mut ip) = (0u64, 0u32, 0usize);
    let mut op = 0usize;
    let mut prev: Option<(usize, usize)> = None;
    let end = out.len();
    while op < end {
        if nbits < width {
            if let Some(word) = input.get(ip..ip + 8) {
                // Eight bytes at once; only whole bytes are counted, and the bits beyond
                // them are the same bits the next load brings again.
                let mut be = [0u8; 8];
                be.copy_from_slice(word);
                bits |= u64::from_be_bytes(be) >> nbits;
                let take = (63 - nbits) / 8;
                ip += take as usize;
                nbits += take * 8;
            }
            while nbits <= 56 && ip < input.len() {
                bits |= (input[ip] as u64) << (56 - nbits);
                ip += 1;
                nbits += 8;
            }
            if nbits < width {
                return Err(LzwError::Short);
            }
        }
        let code = (bits >> (64 - width)) as usize;
        bits <<= width;
        nbits -= width;

        let start = op;
        if code < CLEAR {
            out[op] = code as u8;
            op += 1;
        } else if code == CLEAR {
            next = FIRST;
            width = 9;
            prev = None;
            continue;
        } else if code == EOI {
            return Err(LzwError::Short);
        } else if code < next {
            let (p, l) = (pos[code] as usize, len[code] as usize);
            if l > end - op {
                out.copy_within(p..p + (end - op), op);
                return Ok(());
            }
            // Short strings are copied as 16 bytes at once: what lies past the string is
            // rewritten by the codes after it.
            if l <= 16 && p + 16 <= end && op + 16 <= end {
                out.copy_within(p..p + 16, op);
            } else {
                out.copy_within(p..p + l, op);
            }
            op += l;
        } else if code == next {
            // The string being defined: the previous one plus its own first byte.
            let (p, l) = prev.ok_or(LzwError::BadCode)?;
            let fit = (l + 1).min(end - op);
            out.copy_within(p..p + fit.min(l), op);
            if fit > l {
                out[op + l] = out[p];
            }
            op += fit;
        } else {
            return Err(LzwError::BadCode);
        }
        if let Some((p, l)) = prev
            && next < MAX_CODES
        {
            pos[next] = p as u32;
            len[next] = (l + 1) as u32;
            next += 1;
            // TIFF's "early change": the code width grows one code early.
            if next + 1 >= 1 << width && width < 12 {
                width += 1;
            }
        }
        prev = Some((start, op - start));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain TIFF LZW encoder (MSB first, early change, Clear when the table is full), to
    /// check the decoder against streams whose content is known.
    fn encode(data: &[u8]) -> Vec<u8> {
        use std::collections::HashMap;
        let mut out = Vec::new();
        let (mut acc, mut nacc) = (0u64, 0u32);
        let mut put = |code: usize, width: u32, out: &mut Vec<u8>| {
            acc = (acc << width) | code as u64;
            nacc += width;
            while nacc >= 8 {
                out.push((acc >> (nacc - 8)) as u8);
                nacc -= 8;
            }
        };
        let mut table: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut width = 9;
        let mut next = FIRST;
        put(CLEAR, width, &mut out);
        let mut w: Vec<u8> = Vec::new();
        for &b in data {
            let mut wb = w.clone();
            wb.push(b);
            if wb.len() == 1 || table.contains_key(&wb) {
                w = wb;
                continue;
            }
            let code = if w.len() == 1 {
                w[0] as usize
            } else {
                table[&w]
            };
            put(code, width, &mut out);
            table.insert(wb, next);
            next += 1;
            // The encoder's table runs one entry ahead of the decoder's.
            if next >= 1 << width && width < 12 {
                width += 1;
            }
            if next >= MAX_CODES - 2 {
                put(CLEAR, width, &mut out);
                table.clear();
                next = FIRST;
                width = 9;
            }
            w = vec![b];
        }
        if !w.is_empty() {
            let code = if w.len() == 1 {
                w[0] as usize
            } else {
                table[&w]
            };
            put(code, width, &mut out);
            // The decoder adds an entry for this code too, which may widen the next code.
            if next + 1 >= 1 << width && width < 12 {
                width += 1;
            }
        }
        put(EOI, width, &mut out);
        put(0, 7, &mut out);
        out
    }

    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Runs, gradients and noise: long and short strings, and the KwKwK case.
                match (i / 5000) % 3 {
                    0 => (i / 700) as u8,
                    1 => (x >> 60) as u8,
                    _ => (x >> 33) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn decodes_what_an_encoder_wrote() {
        for (n, seed) in [(1, 1), (300, 2), (70_000, 3), (250_000, 4)] {
            let data = sample(n, seed);
            let stream = encode(&data);
            let mut out = vec![0u8; n];
            assert_eq!(decode_strip(&stream, &mut out), Ok(()), "{n} bytes");
            assert!(out == data, "{n} bytes decoded differently");
        }
        // The KwKwK case on its own: "aaaaaaa" codes a, 258, 259, ...
        let data = vec![b'a'; 1000];
        let mut out = vec![0u8; 1000];
        assert_eq!(decode_strip(&encode(&data), &mut out), Ok(()));
        assert_eq!(out, data);
    }

    #[test]
    fn bad_and_short_streams_are_errors_not_panics() {
        let data = sample(20_000, 9);
        let stream = encode(&data);
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            decode_strip(&stream[..stream.len() / 2], &mut out),
            Err(LzwError::Short)
        );
        // A code beyond the table right after a Clear.
        assert_eq!(
            decode_strip(&[0x80, 0x3f, 0xf0, 0x00], &mut out),
            Err(LzwError::BadCode)
        );
        // Every bit flip of a short stream decodes or fails, never panics.
        let small = encode(&sample(600, 5));
        for i in 0..small.len() * 8 {
            let mut s = small.clone();
            s[i / 8] ^= 1 << (i % 8);
            let _ = decode_strip(&s, &mut vec![0u8; 600]);
        }
        // A stream longer than the strip: the rest is ignored.
        let mut out = vec![0u8; 10_000];
        assert_eq!(decode_strip(&stream, &mut out), Ok(()));
        assert!(out[..] == data[..10_000]);
    }
}
