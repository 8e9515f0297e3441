//! Checkpoint files: one file per checkpoint, written atomically (temporary file, then
//! rename), holding a JSON header (counts, names, flags) and named `f64` arrays stored as raw
//! little-endian bits, so that every floating-point value (NaN included) is restored exactly.
//!
//! Layout: the line `ATTNFLOW-CHECKPOINT 1\n`, the header length as a little-endian `u64`,
//! the header (JSON, with an `arrays` list of `{name, len}`), then the arrays in that order.

use crate::io::write_atomic;
use crate::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;

const MAGIC: &[u8] = b"ATTNFLOW-CHECKPOINT 1\n";

/// A checkpoint in memory: a JSON header and named arrays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// Small data (integers, strings, flags, lists without floating-point values).
    pub header: serde_json::Map<String, Value>,
    /// Named arrays of `f64`, restored bit for bit.
    pub arrays: Vec<(String, Vec<f64>)>,
}

impl Checkpoint {
    /// An empty checkpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a header entry.
    pub fn set(&mut self, key: &str, value: impl serde::Serialize) {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        self.header.insert(key.to_string(), v);
    }

    /// Add an array.
    pub fn push_array(&mut self, name: &str, data: Vec<f64>) {
        self.arrays.push((name.to_string(), data));
    }

    /// A header entry, deserialised.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        let v = self
            .header
            .get(key)
            .cloned()
            .ok_or_else(|| corrupt(format!("missing entry {key}")))?;
        serde_json::from_value(v).map_err(|e| corrupt(format!("entry {key}: {e}")))
    }

    /// An array by name.
    pub fn array(&self, name: &str) -> Result<&[f64]> {
        self.arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| corrupt(format!("missing array {name}")))
    }

    /// Serialise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = self.header.clone();
        header.insert(
            "arrays".into(),
            Value::Array(
                self.arrays
                    .iter()
                    .map(|(n, v)| json!({"name": n, "len": v.len()}))
                    .collect(),
            ),
        );
        let text = serde_json::to_vec(&Value::Object(header)).unwrap_or_default();
        let total: usize = self.arrays.iter().map(|(_, v)| 8 * v.len()).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + text.len() + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(text.len() as u64).to_le_bytes());
        out.extend_from_slice(&text);
        for (_, v) in &self.arrays {
            for x in v {
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        }
        out
    }

    /// Parse bytes written by [`Checkpoint::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not an attnflow checkpoint (bad magic)")?;
        if rest.len() < 8 {
            return Err("truncated header".into());
        }
        let len = u64::from_le_bytes(rest[..8].try_into().unwrap_or([0; 8])) as usize;
        let rest = &rest[8..];
        if rest.len() < len {
            return Err("truncated header".into());
        }
        let header: Value =
            serde_json::from_slice(&rest[..len]).map_err(|e| format!("header: {e}"))?;
        let Value::Object(mut header) = header else {
            return Err("header is not an object".into());
        };
        let list = header
            .remove("arrays")
            .and_then(|v| v.as_array().cloned())
            .ok_or("header lists no arrays")?;
        let mut data = &rest[len..];
        let mut arrays = Vec::new();
        for item in list {
            let name = item["name"].as_str().ok_or("array without a name")?;
            let n = item["len"].as_u64().ok_or("array without a length")? as usize;
            if data.len() < 8 * n {
                return Err(format!("array {name} is truncated"));
            }
            let v: Vec<f64> = data[..8 * n]
                .chunks_exact(8)
                .map(|c| f64::from_bits(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
                .collect();
            data = &data[8 * n..];
            arrays.push((name.to_string(), v));
        }
        if !data.is_empty() {
            return Err("trailing bytes after the arrays".into());
        }
        Ok(Checkpoint { header, arrays })
    }

    /// Write atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Read and parse; a damaged file is an [`Error::Input`] naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read checkpoint: {e}"),
        })?;
        Self::from_bytes(&bytes).map_err(|m| Error::Input {
            path: path.to_path_buf(),
            message: format!("damaged checkpoint: {m}"),
        })
    }
}

fn corrupt(message: String) -> Error {
    Error::Numerical(format!("checkpoint: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_bit() {
        let mut c = Checkpoint::new();
        c.set("steps", 17usize);
        c.set("name", "x");
        c.push_array("x", vec![0.1, -0.0, f64::NAN, f64::INFINITY, 1e-310]);
        c.push_array("empty", vec![]);
        let back = Checkpoint::from_bytes(&c.to_bytes()).unwrap();
        assert_eq!(back.get::<usize>("steps").unwrap(), 17);
        let x = back.array("x").unwrap();
        let bits: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u64> = c.arrays[0].1.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, want);
        assert!(back.array("empty").unwrap().is_empty());
        let bytes = c.to_bytes();
        assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(Checkpoint::from_bytes(b"garbage").is_err());
    }
}
