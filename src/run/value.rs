//! Parsers shared by the command line and config files for values that people write in more
//! than one way: counts as `1000000`, `1e6` or `1_000_000`.

use serde::{Deserialize, Deserializer};

/// Parse a non-negative integer written as an integer (`1000`, `1_000`) or in exponent
/// notation with an integral value (`1e6`, `2.5e3`). Used as a clap value parser.
pub fn parse_count(s: &str) -> Result<usize, String> {
    let t = s.trim().replace('_', "");
    if let Ok(v) = t.parse::<usize>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) => {
            Ok(v as usize)
        }
        _ => Err(format!(
            "'{s}' is not a non-negative integer (e.g. 1000 or 1e6)"
        )),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CountRepr {
    Int(u64),
    Float(f64),
    Text(String),
}

/// Serde helper for `Option<usize>` fields that accept `1e6` (a TOML float) as a count.
pub fn count_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let r: Option<CountRepr> = Option::deserialize(d)?;
    match r {
        None => Ok(None),
        Some(CountRepr::Int(v)) => Ok(Some(v as usize)),
        Some(CountRepr::Float(v)) => parse_count(&format!("{v:e}"))
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(CountRepr::Text(s)) => parse_count(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// Serde helper for `Option<Vec<usize>>` count lists.
pub fn counts_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<usize>>, D::Error> {
    let r: Option<Vec<CountRepr>> = Option::deserialize(d)?;
    match r {
        None => Ok(None),
        Some(items) => items
            .into_iter()
            .map(|c| match c {
                CountRepr::Int(v) => Ok(v as usize),
                CountRepr::Float(v) => {
                    parse_count(&format!("{v:e}")).map_err(serde::de::Error::custom)
                }
                CountRepr::Text(s) => parse_count(&s).map_err(serde::de::Error::custom),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_every_spelling() {
        assert_eq!(parse_count("1000"), Ok(1000));
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("1e6"), Ok(1_000_000));
        assert_eq!(parse_count("2.5e3"), Ok(2500));
        assert!(parse_count("2.5").is_err());
        assert!(parse_count("-3").is_err());
        assert!(parse_count("1e300").is_err());
        assert!(parse_count("nan").is_err());
    }
}
