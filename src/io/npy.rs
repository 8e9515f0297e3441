//! NumPy `.npy` (format version 1.0) for little-endian `float64` and `complex128` arrays.
//!
//! Written files load with `numpy.load`; reading accepts C-ordered `<f8` (and `<f4`,
//! widened) arrays of any rank and reports anything else as a clear [`Error::Input`].

use crate::{Error, Result};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A dense C-ordered array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Shape, outermost dimension first.
    pub shape: Vec<usize>,
    /// Values in C (row-major) order.
    pub data: Vec<f64>,
}

fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let mut dict = header_dict(descr, shape);
    // Total header (magic 6 + version 2 + len 2 + dict + '\n') padded to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    header_bytes(&dict)
}

fn header_bytes(dict: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

fn header_dict(descr: &str, shape: &[usize]) -> String {
    let shape_txt = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}")
}

/// Write a C-ordered `float64` array of the given shape to `path` (atomically).
pub fn write_npy_f64(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    assert_eq!(shape.iter().product::<usize>(), data.len(), "npy shape");
    let mut bytes = header("<f8", shape);
    bytes.reserve(8 * data.len());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    super::write_atomic(path, &bytes)
}

/// Write a C-ordered `complex128` array given as interleaved `(re, im)` pairs.
pub fn write_npy_c64(path: &Path, shape: &[usize], re_im: &[(f64, f64)]) -> Result<()> {
    assert_eq!(shape.iter().product::<usize>(), re_im.len(), "npy shape");
    let mut bytes = header("<c16", shape);
    bytes.reserve(16 * re_im.len());
    for (re, im) in re_im {
        bytes.extend_from_slice(&re.to_le_bytes());
        bytes.extend_from_slice(&im.to_le_bytes());
    }
    super::write_atomic(path, &bytes)
}

/// Read a `float64` (or `float32`, widened) C-ordered array from `path`.
pub fn read_npy_f64(path: &Path) -> Result<NpyArray> {
    let bad = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read ({e})")))?;
    parse_npy(&bytes).map_err(bad)
}

/// Parse the bytes of a `.npy` file; the error is a plain description.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    parse_npy_inner(bytes, false)
}

/// Parse `.npy` bytes; with `allow_trailing`, bytes after the data the header announces are
/// ignored (the start of a frame whose append was cut off, see [`NpyFrames`]).
fn parse_npy_inner(bytes: &[u8], allow_trailing: bool) -> std::result::Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (missing \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start + hlen;
    if bytes.len() < end {
        return Err("truncated .npy header".into());
    }
    let dict =
        std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not text".to_string())?;
    let field = |key: &str| -> std::result::Result<&str, String> {
        let pat = format!("'{key}':");
        let i = dict
            .find(&pat)
            .ok_or_else(|| format!("header has no '{key}'"))?;
        Ok(dict[i + pat.len()..].trim_start())
    };
    let descr_txt = field("descr")?;
    let descr = descr_txt
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| "malformed 'descr'".to_string())?;
    let width = match descr {
        "<f8" | "=f8" | "f8" => 8,
        "<f4" | "=f4" | "f4" => 4,
        other => {
            return Err(format!(
                "dtype '{other}' is not supported (accepted: little-endian float64 or float32)"
            ))
        }
    };
    if field("fortran_order")?.starts_with("True") {
        return Err("Fortran-ordered arrays are not supported (save a C-ordered array)".into());
    }
    let shape_txt = field("shape")?;
    let close = shape_txt
        .find(')')
        .ok_or_else(|| "malformed 'shape'".to_string())?;
    let inner = shape_txt
        .strip_prefix('(')
        .ok_or_else(|| "malformed 'shape'".to_string())?;
    let shape: Vec<usize> = inner[..close - 1]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| "malformed 'shape'".to_string())?;
    let count: usize = shape.iter().product();
    let mut payload = &bytes[end..];
    if allow_trailing && payload.len() > count * width {
        payload = &payload[..count * width];
    }
    if payload.len() != count * width {
        return Err(format!(
            "data length {} bytes does not match shape {:?} of {}-byte values",
            payload.len(),
            shape,
            width
        ));
    }
    let data = if width == 8 {
        payload
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else {
        payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect()
    };
    Ok(NpyArray { shape, data })
}

/// Total header length of a [`NpyFrames`] file, in bytes (fixed, so that the header can be
/// rewritten in place with a larger frame count).
pub const FRAMES_HEADER_LEN: usize = 128;

fn frames_header(frames: usize, frame_shape: &[usize]) -> Vec<u8> {
    let mut shape = vec![frames];
    shape.extend_from_slice(frame_shape);
    let mut dict = header_dict("<f8", &shape);
    let room = FRAMES_HEADER_LEN - 10 - 1;
    assert!(dict.len() <= room, "npy frames header: shape too long");
    dict.extend(std::iter::repeat_n(' ', room - dict.len()));
    dict.push('\n');
    header_bytes(&dict)
}

/// A `float64` `.npy` array of equal frames, `(frames, ...frame_shape)`, written one frame at a
/// time: the data of a frame is appended, then the fixed-width header
/// ([`FRAMES_HEADER_LEN`] bytes) is rewritten in place with the new frame count. After every
/// [`append`](NpyFrames::append) the file is a complete array (`numpy.load` reads it); an
/// append cut off between the data and the header leaves bytes after the announced frames,
/// which [`read_npy_frames`] ignores and [`NpyFrames::reopen`] truncates.
#[derive(Debug)]
pub struct NpyFrames {
    path: PathBuf,
    file: std::fs::File,
    frame_shape: Vec<usize>,
    frames: usize,
}

impl NpyFrames {
    /// Start `path` as an array of zero frames of `frame_shape` (replacing any file there,
    /// atomically), open for appending.
    pub fn create(path: &Path, frame_shape: &[usize]) -> Result<Self> {
        super::write_atomic(path, &frames_header(0, frame_shape))?;
        Self::open_rw(path, frame_shape, 0)
    }

    /// Continue the frames file `path` after its first `keep` frames (a resumed run): the file
    /// must have been written by [`NpyFrames`] with this `frame_shape` and hold at least `keep`
    /// frames; the frames after them are dropped.
    pub fn reopen(path: &Path, frame_shape: &[usize], keep: usize) -> Result<Self> {
        let bad = |message: String| Error::Input {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read ({e})")))?;
        let a = parse_npy_inner(&bytes, true).map_err(bad)?;
        let fixed = bytes.len() >= FRAMES_HEADER_LEN
            && u16::from_le_bytes([bytes[8], bytes[9]]) as usize == FRAMES_HEADER_LEN - 10;
        if !fixed || a.shape.len() != frame_shape.len() + 1 || a.shape[1..] != *frame_shape {
            return Err(bad(format!(
                "shape {:?}: not a frames file of frames of shape {frame_shape:?} written by attnflow",
                a.shape
            )));
        }
        if a.shape[0] < keep {
            return Err(bad(format!(
                "holds {} frames, the checkpoint needs {keep}: cannot continue it",
                a.shape[0]
            )));
        }
        Self::open_rw(path, frame_shape, keep)
    }

    fn open_rw(path: &Path, frame_shape: &[usize], frames: usize) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::Output {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut f = NpyFrames {
            path: path.to_path_buf(),
            file,
            frame_shape: frame_shape.to_vec(),
            frames,
        };
        f.file
            .set_len(f.offset(frames))
            .and_then(|_| f.write_header())
            .map_err(|e| f.error(e))?;
        Ok(f)
    }

    fn frame_len(&self) -> usize {
        self.frame_shape.iter().product()
    }

    fn offset(&self, frame: usize) -> u64 {
        (FRAMES_HEADER_LEN + 8 * self.frame_len() * frame) as u64
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.file
            .write_all(&frames_header(self.frames, &self.frame_shape))?;
        self.file.flush()
    }

    fn error(&self, e: std::io::Error) -> Error {
        Error::Output {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Number of frames in the file.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Append one frame (`frame_shape` values, C order), then rewrite the frame count.
    pub fn append(&mut self, frame: &[f64]) -> Result<()> {
        assert_eq!(frame.len(), self.frame_len(), "npy frame size");
        let mut bytes = Vec::with_capacity(8 * frame.len());
        for v in frame {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let at = self.offset(self.frames);
        let r = self
            .file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.write_all(&bytes));
        r.map_err(|e| self.error(e))?;
        self.frames += 1;
        self.write_header().map_err(|e| self.error(e))
    }
}

/// Read a frames file written by [`NpyFrames`] (or any `float64`/`float32` `.npy`), ignoring
/// bytes after the frames its header announces (an append that was cut off).
pub fn read_npy_frames(path: &Path) -> Result<NpyArray> {
    let bad = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read ({e})")))?;
    parse_npy_inner(&bytes, true).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_padded_to_64_bytes() {
        for shape in [vec![3usize, 2], vec![1_000_000, 3], vec![7]] {
            let h = header("<f8", &shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
        }
    }

    #[test]
    fn round_trip_f64() {
        let dir = std::env::temp_dir().join(format!("attnflow-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        let data: Vec<f64> = (0..12).map(|i| (i as f64).sin()).collect();
        write_npy_f64(&p, &[4, 3], &data).unwrap();
        let a = read_npy_f64(&p).unwrap();
        assert_eq!(a.shape, vec![4, 3]);
        assert_eq!(a.data, data);
    }

    #[test]
    fn rejects_garbage_wrong_dtype_and_short_data() {
        assert!(parse_npy(b"hello world").unwrap_err().contains("magic"));
        let mut h = header("<i8", &[2]);
        h.extend_from_slice(&[0u8; 16]);
        assert!(parse_npy(&h).unwrap_err().contains("dtype"));
        let mut h = header("<f8", &[3]);
        h.extend_from_slice(&[0u8; 16]);
        assert!(parse_npy(&h).unwrap_err().contains("does not match"));
    }

    #[test]
    fn frames_file_appends_resumes_and_reads_like_a_whole_array() {
        let dir = std::env::temp_dir().join(format!("attnflow-npy-frames-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.npy");
        let frame = |k: usize| -> Vec<f64> { (0..6).map(|i| (10 * k + i) as f64 + 0.5).collect() };
        let mut f = NpyFrames::create(&p, &[3, 2]).unwrap();
        // Zero frames: a valid (0, 3, 2) array.
        let a = read_npy_f64(&p).unwrap();
        assert_eq!((a.shape, a.data.len()), (vec![0, 3, 2], 0));
        for k in 0..4 {
            f.append(&frame(k)).unwrap();
            // After every append: a complete array with a fixed-width header.
            let a = read_npy_f64(&p).unwrap();
            assert_eq!(a.shape, vec![k + 1, 3, 2]);
            let want: Vec<f64> = (0..=k).flat_map(frame).collect();
            assert_eq!(a.data, want);
            let b = std::fs::read(&p).unwrap();
            assert_eq!(b.len(), FRAMES_HEADER_LEN + 48 * (k + 1));
            assert_eq!(b[FRAMES_HEADER_LEN - 1], b'\n');
        }
        drop(f);
        // A cut-off append: data beyond the announced frames.
        let mut b = std::fs::read(&p).unwrap();
        b.extend_from_slice(&[7u8; 20]);
        std::fs::write(&p, &b).unwrap();
        assert!(read_npy_f64(&p).is_err());
        assert_eq!(read_npy_frames(&p).unwrap().shape, vec![4, 3, 2]);
        // Reopen after 2 frames (a checkpoint), then append: frames 0, 1, then the new one.
        let mut f = NpyFrames::reopen(&p, &[3, 2], 2).unwrap();
        assert_eq!(f.frames(), 2);
        f.append(&frame(9)).unwrap();
        let a = read_npy_f64(&p).unwrap();
        assert_eq!(a.shape, vec![3, 3, 2]);
        let want: Vec<f64> = [0, 1, 9].into_iter().flat_map(frame).collect();
        assert_eq!(a.data, want);
        // Refused: more frames than the file holds, another frame shape, not an npy.
        assert!(NpyFrames::reopen(&p, &[3, 2], 4)
            .unwrap_err()
            .to_string()
            .contains("holds 3 frames"));
        assert!(NpyFrames::reopen(&p, &[2, 3], 1).is_err());
        let q = dir.join("text.npy");
        std::fs::write(&q, "not an npy").unwrap();
        assert!(NpyFrames::reopen(&q, &[3, 2], 0).is_err());
    }
}
