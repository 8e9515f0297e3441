//! NumPy `.npy` (format version 1.0) for little-endian `float64` and `complex128` arrays.
//!
//! Written files load with `numpy.load`; reading accepts C-ordered `<f8` (and `<f4`,
//! widened) arrays of any rank and reports anything else as a clear [`Error::Input`].

use crate::{Error, Result};
use std::path::Path;

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
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Total header (magic 6 + version 2 + len 2 + dict + '\n') padded to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
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
    let payload = &bytes[end..];
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
}
