//! Weight files: a small self-describing envelope around burn's record (burnpack) bytes.
//!
//! Layout: `b"DSCPWTS1"`, a little-endian `u32` length, that many bytes of JSON metadata
//! ([`WeightsInfo`]), then the burnpack record of the [`Network`]. The metadata says which
//! architecture the record is for and which FCN pooling its recipe uses, so a file can be
//! loaded without being told. The record's tensors are f32, or f16 ([`encode_half`]: half the
//! bytes); either loads into the f32 network (cast on load).

use burn::module::{Module, ModuleMapper, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::network::{Architecture, Network, Pooling};

const MAGIC: &[u8; 8] = b"DSCPWTS1";

/// The weights embedded in the crate: the project's default detector.
pub const EMBEDDED: &[u8] = include_bytes!("../weights/default.dsw");

/// What a weights file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    /// The recipe that produced the weights (e.g. `small`, `small-shift`, `deep-shift`).
    pub recipe: String,
    /// `small` or `deep` (a bad name fails [`decode`], naming the allowed ones).
    pub architecture: Architecture,
    /// The FCN pooling to use with these weights: `none`, `max3` or `window`.
    pub pooling: Pooling,
    /// 11-class test accuracy measured by the trainer (10,000 MNIST test + 1,000 background).
    pub test_accuracy: f32,
    /// Downscale factors of the image pyramid the detector runs (1 = native size).
    #[serde(default = "native_only")]
    pub pyramid: Vec<usize>,
    /// FNV-1a 64 of the record bytes, in hex: a bit flipped anywhere in the tensors is caught
    /// (burnpack itself checks shapes and lengths, not values). Written by [`encode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// FNV-1a, 64-bit, as 16 hex digits.
pub fn checksum(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

fn native_only() -> Vec<usize> {
    vec![1]
}

/// Serialises a network and its metadata into the envelope.
pub fn encode(network: Network, info: &WeightsInfo) -> Result<Vec<u8>> {
    let record = network.into_record().into_bytes().map_err(|e| Error::Weights(e.to_string()))?;
    let info = WeightsInfo { checksum: Some(checksum(&record)), ..info.clone() };
    let meta = serde_json::to_vec(&info).map_err(|e| Error::Weights(e.to_string()))?;
    let mut out = Vec::with_capacity(12 + meta.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&record);
    Ok(out)
}

/// [`encode`] with the tensors stored as f16: half the record's bytes. Each value is rounded to
/// the nearest f16 (relative error ≤ 2⁻¹¹); loading casts them back to f32.
pub fn encode_half(network: Network, info: &WeightsInfo) -> Result<Vec<u8>> {
    struct Half;
    impl ModuleMapper for Half {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|tensor| tensor.cast(FloatDType::F16))
        }
    }
    encode(network.map(&mut Half), info)
}

/// Reads only the metadata of an envelope.
pub fn read_info(bytes: &[u8]) -> Result<(WeightsInfo, &[u8])> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(Error::Weights("not a digitscope weights file (bad magic)".into()));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let meta = bytes.get(12..12 + len).ok_or_else(|| Error::Weights("truncated metadata".into()))?;
    let info: WeightsInfo = serde_json::from_slice(meta).map_err(|e| Error::Weights(format!("bad metadata: {e}")))?;
    Ok((info, &bytes[12 + len..]))
}

/// Decodes an envelope into a network on `device`, checking every tensor's shape.
pub fn decode(bytes: &[u8], device: &Device) -> Result<(Network, WeightsInfo)> {
    let (info, record) = read_info(bytes)?;
    let architecture = info.architecture;
    if info.pyramid.is_empty() || info.pyramid.iter().any(|&f| !(1..=8).contains(&f)) {
        return Err(Error::Weights(format!("bad pyramid {:?}", info.pyramid)));
    }
    if let Some(expected) = &info.checksum {
        let actual = checksum(record);
        if &actual != expected {
            return Err(Error::Weights(format!(
                "corrupt record: checksum {actual}, expected {expected} ({} bytes)",
                record.len()
            )));
        }
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(record.to_vec()))
        .map_err(|e| Error::Weights(e.to_string()))?
        // f16 records (encode_half) load into the f32 network.
        .cast_to_module_dtype();
    let network =
        Network::new(architecture, device).try_load_record(record).map_err(|e| Error::Weights(e.to_string()))?;
    Ok((network, info))
}
