//! The one error type of the crate: every failure is a one-line, human-readable message.

use std::fmt;

/// What went wrong, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input image is unusable (bad size, wrong buffer length, too large, bad values).
    InvalidInput(String),
    /// A weights file is corrupt, truncated or for another architecture.
    Weights(String),
    /// A file could not be read or decoded.
    Io(String),
    /// The compute backend failed.
    Backend(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(msg) => write!(f, "invalid input: {msg}"),
            Error::Weights(msg) => write!(f, "invalid weights: {msg}"),
            Error::Io(msg) => write!(f, "{msg}"),
            Error::Backend(msg) => write!(f, "backend error: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
