//! Data-format labels (MATLAB's `dims`): S spatial, C channel, B batch, T time, U unspecified.
//! A formatted array's dims are kept in MATLAB's canonical order S…, C, B, T, U….

use std::fmt;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    S,
    C,
    B,
    T,
    U,
}

impl Label {
    pub fn from_char(op: &str, c: char) -> Result<Label> {
        Ok(match c.to_ascii_uppercase() {
            'S' => Label::S,
            'C' => Label::C,
            'B' => Label::B,
            'T' => Label::T,
            'U' => Label::U,
            _ => return Err(Error::format(op, format!("invalid format label '{c}': labels are S, C, B, T and U"))),
        })
    }
    pub fn as_char(self) -> char {
        match self {
            Label::S => 'S',
            Label::C => 'C',
            Label::B => 'B',
            Label::T => 'T',
            Label::U => 'U',
        }
    }
}

/// A validated format in canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Format(Vec<Label>);

impl Format {
    /// Parses `fmt` as given by a user (any order). Returns the labels in the given order.
    pub fn parse_labels(op: &str, fmt: &str) -> Result<Vec<Label>> {
        let labels: Vec<Label> = fmt.chars().map(|c| Label::from_char(op, c)).collect::<Result<_>>()?;
        if labels.len() > crate::limits::MAX_DIMS {
            return Err(Error::format(
                op,
                format!("format '{fmt}' has {} labels; arrays have at most {} dims", labels.len(), crate::limits::MAX_DIMS),
            ));
        }
        for l in [Label::C, Label::B, Label::T] {
            if labels.iter().filter(|&&x| x == l).count() > 1 {
                return Err(Error::format(op, format!("format '{fmt}' has more than one '{}' dimension", l.as_char())));
            }
        }
        Ok(labels)
    }

    /// The stable permutation that sorts `labels` into canonical order (output dim i takes
    /// input dim `perm[i]`), and the resulting format.
    pub fn canonicalize(labels: &[Label]) -> (Vec<usize>, Format) {
        let mut perm: Vec<usize> = (0..labels.len()).collect();
        perm.sort_by_key(|&i| labels[i]); // stable
        let sorted = perm.iter().map(|&i| labels[i]).collect();
        (perm, Format(sorted))
    }

    /// A format already in canonical order (checked).
    pub fn canonical(op: &str, fmt: &str) -> Result<Format> {
        let labels = Self::parse_labels(op, fmt)?;
        let (perm, f) = Self::canonicalize(&labels);
        if perm.iter().enumerate().any(|(i, &p)| i != p) {
            return Err(Error::format(op, format!("format '{fmt}' is not in canonical order (expected '{f}')")));
        }
        Ok(f)
    }

    pub fn from_labels(labels: Vec<Label>) -> Format {
        Format(labels)
    }
    pub fn labels(&self) -> &[Label] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// 0-based positions of `label`.
    pub fn find(&self, label: Label) -> Vec<usize> {
        self.0.iter().enumerate().filter(|(_, &l)| l == label).map(|(i, _)| i).collect()
    }
    pub fn has(&self, label: Label) -> bool {
        self.0.contains(&label)
    }
    /// The format without the dims in `axes`.
    pub fn without(&self, axes: &[usize]) -> Format {
        Format(self.0.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &l)| l).collect())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.0 {
            write!(f, "{}", l.as_char())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn canonical_order_is_stable() {
        let l = Format::parse_labels("t", "BSSC").unwrap();
        let (perm, f) = Format::canonicalize(&l);
        assert_eq!(f.to_string(), "SSCB");
        assert_eq!(perm, vec![1, 2, 3, 0]);
        let l = Format::parse_labels("t", "UTSU").unwrap();
        let (perm, f) = Format::canonicalize(&l);
        assert_eq!(f.to_string(), "STUU");
        assert_eq!(perm, vec![2, 1, 0, 3]);
        assert!(Format::parse_labels("t", "CC").is_err());
        assert!(Format::parse_labels("t", "X").is_err());
    }
}
