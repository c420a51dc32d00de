//! A thin binding of the few functions of Tesseract's C API (`tesseract/capi.h`, Debian's
//! libtesseract-dev) the OCR worker needs, and [`Api`], which owns one `TessBaseAPI`.
//!
//! Written by hand rather than generated (bindgen needs libclang): eleven functions, whose
//! signatures `capi.h` fixes for the 5.x releases. Only the OCR worker process calls them
//! ([`super::worker`]); a fault in Tesseract ends that process, never the pipeline's.

use std::ffi::{CStr, CString, c_char, c_float, c_int, c_uchar};

#[repr(C)]
struct TessBaseApi {
    _private: [u8; 0],
}

/// `TessPageSegMode`: fully automatic page segmentation without OSD (the CLI's `--psm 3`).
const PSM_AUTO: c_int = 3;
/// `TessPageSegMode`: one uniform block of text (`--psm 6`): a probe's few lines, whose
/// layout is known, read without looking for columns.
const PSM_SINGLE_BLOCK: c_int = 6;
/// `TessPageSegMode`: orientation and script detection only (`--psm 0`).
const PSM_OSD_ONLY: c_int = 0;

#[link(name = "tesseract")]
unsafe extern "C" {
    fn TessVersion() -> *const c_char;
    fn TessBaseAPICreate() -> *mut TessBaseApi;
    fn TessBaseAPIDelete(handle: *mut TessBaseApi);
    fn TessBaseAPIInit3(
        handle: *mut TessBaseApi,
        datapath: *const c_char,
        language: *const c_char,
    ) -> c_int;
    fn TessBaseAPISetPageSegMode(handle: *mut TessBaseApi, mode: c_int);
    fn TessBaseAPISetImage(
        handle: *mut TessBaseApi,
        imagedata: *const c_uchar,
        width: c_int,
        height: c_int,
        bytes_per_pixel: c_int,
        bytes_per_line: c_int,
    );
    fn TessBaseAPIRecognize(handle: *mut TessBaseApi, monitor: *mut std::ffi::c_void) -> c_int;
    fn TessBaseAPIGetTsvText(handle: *mut TessBaseApi, page_number: c_int) -> *mut c_char;
    fn TessBaseAPIClear(handle: *mut TessBaseApi);
    fn TessBaseAPIDetectOrientationScript(
        handle: *mut TessBaseApi,
        orient_deg: *mut c_int,
        orient_conf: *mut c_float,
        script_name: *mut *const c_char,
        script_conf: *mut c_float,
    ) -> c_int;
    fn TessDeleteText(text: *const c_char);
}

/// Tesseract's version, as the library reports it.
pub fn version() -> String {
    // SAFETY: TessVersion returns a static NUL-terminated string.
    unsafe {
        let v = TessVersion();
        if v.is_null() {
            return "unknown".into();
        }
        CStr::from_ptr(v).to_string_lossy().into_owned()
    }
}

const TSV_HEADER: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n";

/// An 8-bit grey image, rows packed (`width` bytes each).
pub struct Grey<'a> {
    pub width: u32,
    pub height: u32,
    pub pixels: &'a [u8],
}

impl Grey<'_> {
    /// Dimensions Tesseract takes (as C ints), with exactly `width × height` pixels.
    fn checked(&self) -> Option<(c_int, c_int)> {
        let (w, h) = (
            c_int::try_from(self.width).ok()?,
            c_int::try_from(self.height).ok()?,
        );
        let n = (self.width as usize).checked_mul(self.height as usize)?;
        (w > 0 && h > 0 && self.pixels.len() == n).then_some((w, h))
    }
}

/// One `TessBaseAPI`, initialised with its languages (or with `osd` for orientation).
pub struct Api {
    handle: *mut TessBaseApi,
}

impl Api {
    /// Loads `languages` (Tesseract's names, `eng+gle`) from the installed tessdata.
    pub fn new(languages: &str) -> Result<Api, String> {
        let lang = CString::new(languages).map_err(|_| "a language name holds NUL")?;
        // SAFETY: Create returns an owned handle (or null); Init3 reads the NUL-terminated
        // string during the call; the handle is deleted on every path below or by Drop.
        unsafe {
            let handle = TessBaseAPICreate();
            if handle.is_null() {
                return Err("Tesseract could not create an engine".into());
            }
            let api = Api { handle };
            if TessBaseAPIInit3(handle, std::ptr::null(), lang.as_ptr()) != 0 {
                return Err(format!(
                    "Tesseract has no '{languages}' language data: install tesseract-ocr-{} (scripts/install-deps.sh does)",
                    languages.split('+').next().unwrap_or(languages)
                ));
            }
            Ok(api)
        }
    }

    /// Reads the page as `tesseract … --psm 3 tsv` does, answering the same TSV; or, for
    /// a `block` of lines, as `--psm 6` does.
    pub fn read_tsv(&mut self, image: &Grey, block: bool) -> Result<String, String> {
        let (w, h) = image
            .checked()
            .ok_or("the page's size and pixels disagree")?;
        // SAFETY: the pixel slice holds w×h bytes (checked) and outlives the calls that
        // read it: SetImage copies it into Tesseract's own image; Clear drops the page's
        // results; the TSV text is freed with TessDeleteText as the API requires.
        unsafe {
            TessBaseAPISetPageSegMode(self.handle, if block { PSM_SINGLE_BLOCK } else { PSM_AUTO });
            TessBaseAPISetImage(self.handle, image.pixels.as_ptr(), w, h, 1, w);
            let rc = TessBaseAPIRecognize(self.handle, std::ptr::null_mut());
            if rc != 0 {
                TessBaseAPIClear(self.handle);
                return Err(format!("Tesseract could not read the page ({rc})"));
            }
            let text = TessBaseAPIGetTsvText(self.handle, 0);
            // The command's TSV renderer writes this header before the page's rows.
            let mut tsv = TSV_HEADER.to_string();
            if !text.is_null() {
                tsv.push_str(&CStr::from_ptr(text).to_string_lossy());
                TessDeleteText(text);
            }
            TessBaseAPIClear(self.handle);
            Ok(tsv)
        }
    }

    /// Orientation and script detection (an `osd` engine): the clockwise rotation that
    /// makes the page upright, as `--psm 0` prints it (`Rotate:`), and its confidence.
    pub fn orientation(&mut self, image: &Grey) -> Option<(u32, f32)> {
        let (w, h) = image.checked()?;
        let mut deg: c_int = 0;
        let (mut conf, mut sconf): (c_float, c_float) = (0.0, 0.0);
        let mut script: *const c_char = std::ptr::null();
        // SAFETY: as in read_tsv; the script name is Tesseract's and freed as the API says.
        let ok = unsafe {
            TessBaseAPISetPageSegMode(self.handle, PSM_OSD_ONLY);
            TessBaseAPISetImage(self.handle, image.pixels.as_ptr(), w, h, 1, w);
            let ok = TessBaseAPIDetectOrientationScript(
                self.handle,
                &mut deg,
                &mut conf,
                &mut script,
                &mut sconf,
            );
            if !script.is_null() {
                TessDeleteText(script);
            }
            TessBaseAPIClear(self.handle);
            ok
        };
        // The text's orientation, counter-clockwise; the rotation that undoes it is its
        // complement (Tesseract's OrientationIdToValue).
        (ok != 0).then(|| ((360 - deg.rem_euclid(360) as u32) % 360, conf))
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is deleted once.
        unsafe { TessBaseAPIDelete(self.handle) }
    }
}
