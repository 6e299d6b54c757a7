//! Weight files: a small self-describing envelope around the network's tensors.
//!
//! Layout: `b"DSCPWTS3"`, a little-endian `u32` length, that many bytes of JSON metadata
//! ([`WeightsInfo`]), then the record: a `u32` tensor count; for each float parameter of the
//! [`Network`], in the order burn visits them (the convolutions' weights and biases, then the
//! dense layers'), a dtype byte (1: f16, 2: f32), a rank byte and the dimensions as `u32`s; then
//! the values: the high byte of every f16 value of every f16 tensor, in order, then their low
//! bytes, then the f32 tensors' values, all little-endian. (The high bytes — sign, exponent, top
//! of the mantissa — repeat far more than the low ones: gzip finds that where the bytes of each
//! value side by side hide it; the embedded default downloads some 9 KB smaller, [`F16`].)
//! Format 2 (`b"DSCPWTS2"`: each tensor's dtype, shape and values together, f16 values' bytes
//! in order) still reads. The metadata says which architecture the record is for and which FCN
//! pooling its recipe uses, so a file can be loaded without being told. The tensors are f32, or
//! f16 ([`encode_half`]: half the bytes); either loads into the f32 network. Every shape is
//! checked against the network's, and a checksum catches a flipped bit in the values.
//!
//! The record is read and written here rather than by burn's own record format (burnpack):
//! reading that in the browser took its CBOR decoder and record machinery along, 38 KB of the
//! default module's gzipped download.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Device, FloatDType, Tensor, TensorData, f16};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::network::{Architecture, Network, Pooling, float_tensor};

const MAGIC: &[u8; 8] = b"DSCPWTS3";
/// The format before ([`tensors_in_turn`]), still read.
const MAGIC_2: &[u8; 8] = b"DSCPWTS2";

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
    /// (the shapes and lengths are checked anyway, the values not). Written by [`encode`].
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
    let record = record(&network)?;
    let info = WeightsInfo { checksum: Some(checksum(&record)), ..info.clone() };
    let meta = serde_json::to_vec(&info).map_err(|e| Error::Weights(e.to_string()))?;
    let mut out = Vec::with_capacity(12 + meta.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&record);
    Ok(out)
}

/// The widest layer a weights file may have (a convolution's channels, the dense layer's units).
pub const MAX_WIDTH: usize = 1024;

/// Dtype bytes of the record. f16 values are stored as two byte planes (the module's text):
/// the embedded default, gzip -9, 141,673 bytes with each value's bytes side by side (format
/// 2), 132,767 bytes so (format 3), the same values.
const F16: u8 = 1;
const F32: u8 = 2;

/// A network's float parameters in the order burn visits them (each convolution's weight and
/// bias, then the dense layer's, then the output layer's): the order of the record.
fn parameter_data(network: &Network) -> Vec<TensorData> {
    struct Write {
        tensors: Vec<TensorData>,
    }
    impl ModuleVisitor for Write {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.tensors.push(param.val().into_data());
        }
    }
    let mut visitor = Write { tensors: Vec::new() };
    network.visit(&mut visitor);
    visitor.tensors
}

/// [`parameter_data`] as shapes and f32 values, as [`load`] takes them.
pub fn parameters(network: &Network) -> Vec<(Vec<usize>, Vec<f32>)> {
    parameter_data(network)
        .into_iter()
        .map(|data| {
            let shape = data.shape().to_vec();
            (shape, data.convert::<f32>().try_into_vec::<f32>().expect("f32 values"))
        })
        .collect()
}

/// The record of a network's float parameters (see the module's text).
fn record(network: &Network) -> Result<Vec<u8>> {
    let tensors = parameter_data(network);
    let mut out = (tensors.len() as u32).to_le_bytes().to_vec();
    let (mut high, mut low, mut full) = (Vec::<u8>::new(), Vec::<u8>::new(), Vec::<u8>::new());
    for data in &tensors {
        // TensorData holds its values in native order: little-endian on every target built.
        let bytes = data.as_bytes();
        let dtype = match data.dtype() {
            DType::F16 => {
                high.extend(bytes.iter().skip(1).step_by(2));
                low.extend(bytes.iter().step_by(2));
                F16
            }
            DType::F32 => {
                full.extend_from_slice(bytes);
                F32
            }
            other => return Err(Error::Weights(format!("a {other:?} tensor (f16 and f32 are stored)"))),
        };
        out.extend_from_slice(&[dtype, data.shape().len() as u8]);
        data.shape().iter().for_each(|&d| out.extend_from_slice(&(d as u32).to_le_bytes()));
    }
    out.extend(high);
    out.extend(low);
    out.extend(full);
    Ok(out)
}

/// A record that ends before what it says it holds.
fn truncated() -> Error {
    Error::Weights("truncated record".into())
}

/// A record's tensors: each one's shape and values.
type Tensors = Vec<(Vec<usize>, Vec<f32>)>;

/// A record's bytes, taken from the front.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or_else(truncated)?;
        self.rest = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }

    /// A tensor's dtype byte, its shape and its number of values.
    fn head(&mut self) -> Result<(u8, Vec<usize>, usize)> {
        let head = self.take(2)?;
        let (dtype, rank) = (head[0], head[1] as usize);
        let shape = (0..rank).map(|_| self.u32()).collect::<Result<Vec<usize>>>()?;
        let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        Ok((dtype, shape, n.ok_or_else(truncated)?))
    }

    /// The tensor count, and room for that many (a tensor takes at least 2 bytes: a count
    /// beyond that is no record, and no allocation).
    fn count(&mut self) -> Result<(usize, Tensors)> {
        let (total, count) = (self.rest.len(), self.u32()?);
        Ok((count, Vec::with_capacity(count.min(total / 2))))
    }

    fn end(self) -> Result<()> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(Error::Weights(format!("{n} bytes after the last tensor"))),
        }
    }
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// The tensors of a record: shape and values (f16 ones widened to f32, exactly).
fn tensors(record: &[u8]) -> Result<Tensors> {
    let mut read = Reader { rest: record };
    let (count, mut out) = read.count()?;
    let mut heads = Vec::with_capacity(out.capacity());
    let (mut halves, mut fulls) = (0usize, 0usize);
    for i in 0..count {
        let (dtype, shape, n) = read.head()?;
        let total = match dtype {
            F16 => &mut halves,
            F32 => &mut fulls,
            other => return Err(Error::Weights(format!("tensor {i}: unknown dtype byte {other}"))),
        };
        *total = total.checked_add(n).ok_or_else(truncated)?;
        heads.push((dtype, shape, n));
    }
    let high = read.take(halves)?;
    let low = read.take(halves)?;
    let full = read.take(fulls.checked_mul(4).ok_or_else(truncated)?)?;
    read.end()?;
    let (mut at16, mut at32) = (0, 0);
    for (dtype, shape, n) in heads {
        let values = if dtype == F16 {
            at16 += n;
            let pairs = low[at16 - n..at16].iter().zip(&high[at16 - n..at16]);
            pairs.map(|(&l, &h)| f16::from_le_bytes([l, h]).to_f32()).collect()
        } else {
            at32 += n;
            f32_values(&full[4 * (at32 - n)..4 * at32])
        };
        out.push((shape, values));
    }
    Ok(out)
}

/// The tensors of a format-2 record: each tensor's dtype, shape and values in turn, f16 values'
/// bytes side by side.
fn tensors_in_turn(record: &[u8]) -> Result<Tensors> {
    let mut read = Reader { rest: record };
    let (count, mut out) = read.count()?;
    for i in 0..count {
        let (dtype, shape, n) = read.head()?;
        let values = match dtype {
            F16 => read
                .take(n.checked_mul(2).ok_or_else(truncated)?)?
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            F32 => f32_values(read.take(n.checked_mul(4).ok_or_else(truncated)?)?),
            other => return Err(Error::Weights(format!("tensor {i}: unknown dtype byte {other}"))),
        };
        out.push((shape, values));
    }
    read.end()?;
    Ok(out)
}

/// Loads `tensors` into `network`'s float parameters, in order, each of the parameter's shape.
pub fn load(network: Network, tensors: Vec<(Vec<usize>, Vec<f32>)>) -> Result<Network> {
    struct Read {
        tensors: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
        index: usize,
        error: Option<String>,
    }
    impl ModuleMapper for Read {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let i = self.index;
            self.index += 1;
            if self.error.is_some() {
                return param;
            }
            param.map(|tensor| {
                let expected = tensor.dims();
                match self.tensors.next() {
                    Some((shape, values)) if shape == expected => {
                        let grad = tensor.is_require_grad();
                        float_tensor(values, expected, &tensor.device()).set_require_grad(grad)
                    }
                    Some((shape, _)) => {
                        self.error =
                            Some(format!("tensor {i}: shape {shape:?} in the file, {expected:?} in the network"));
                        tensor
                    }
                    None => {
                        self.error = Some(format!("{i} tensors in the file, more in the network"));
                        tensor
                    }
                }
            })
        }
    }
    let count = tensors.len();
    let mut reader = Read { tensors: tensors.into_iter(), index: 0, error: None };
    let network = network.map(&mut reader);
    match reader.error {
        Some(error) => Err(Error::Weights(error)),
        None if reader.index != count => {
            Err(Error::Weights(format!("{count} tensors in the file, {} in the network", reader.index)))
        }
        None => Ok(network),
    }
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

/// Reads only the metadata of an envelope (format 3 or 2), and its record.
pub fn read_info(bytes: &[u8]) -> Result<(WeightsInfo, &[u8])> {
    if bytes.len() < 12 || (&bytes[..8] != MAGIC && &bytes[..8] != MAGIC_2) {
        return Err(Error::Weights("not a digitscope weights file (bad magic)".into()));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let meta = bytes.get(12..12 + len).ok_or_else(|| Error::Weights("truncated metadata".into()))?;
    let info: WeightsInfo = serde_json::from_slice(meta).map_err(|e| Error::Weights(format!("bad metadata: {e}")))?;
    Ok((info, &bytes[12 + len..]))
}

/// The trunk's widths and the head's units that `tensors` (a record's, in order) were made
/// with: each convolution's weight is `[outputs, inputs, 3, 3]` (then its bias), the head's dense
/// weight `[channels, hidden]`. Only a tensor whose shape chains on to the one before (its inputs
/// the previous outputs) and whose width is in range says its width — the network built is then
/// no larger than what the file holds; elsewhere the notebook's width is taken, and the load
/// reports the shape that does not fit.
fn file_widths(architecture: Architecture, tensors: &[(Vec<usize>, Vec<f32>)]) -> (Vec<usize>, usize) {
    let in_range = |w: usize| (1..=MAX_WIDTH).contains(&w);
    let mut inputs = 1;
    let mut widths = architecture.widths();
    for (i, width) in widths.iter_mut().enumerate() {
        if let Some((shape, _)) = tensors.get(2 * i)
            && let [outputs, ins, 3, 3] = shape[..]
            && ins == inputs
            && in_range(outputs)
        {
            *width = outputs;
        }
        inputs = *width;
    }
    let hidden = match tensors.get(2 * widths.len()).map(|(shape, _)| &shape[..]) {
        Some(&[channels, hidden]) if channels == inputs && in_range(hidden) => hidden,
        _ => crate::network::HIDDEN,
    };
    (widths, hidden)
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
    let tensors = if &bytes[..8] == MAGIC { tensors(record)? } else { tensors_in_turn(record)? };
    let (widths, hidden) = file_widths(architecture, &tensors);
    let network = load(Network::with_widths(architecture, &widths, hidden, device), tensors)?;
    Ok((network, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(shapes: &[&[usize]]) -> Vec<(Vec<usize>, Vec<f32>)> {
        shapes.iter().map(|s| (s.to_vec(), Vec::new())).collect()
    }

    #[test]
    fn widths_come_from_shapes_that_chain_and_only_from_them() {
        let deep = Architecture::Deep;
        let wide: &[&[usize]] = &[
            &[24, 1, 3, 3],
            &[24],
            &[16, 24, 3, 3],
            &[16],
            &[40, 16, 3, 3],
            &[40],
            &[32, 40, 3, 3],
            &[32],
            &[96, 32, 3, 3],
            &[96],
            &[104, 96, 3, 3],
            &[104],
            &[104, 72],
        ];
        assert_eq!(file_widths(deep, &shapes(wide)), (vec![24, 16, 40, 32, 96, 104], 72));
        // A first tensor that is not a convolution's weight (here a bias-like vector claiming a
        // thousand channels) says nothing: the notebook's 16 there, so that a small file cannot
        // make the network that is built large; the next weight, made for 24 inputs, does not
        // chain on to 16 either; the rest chain again.
        let mut bad = wide.to_vec();
        bad[0] = &[1000];
        assert_eq!(file_widths(deep, &shapes(&bad)), (vec![16, 16, 40, 32, 96, 104], 72));
        // A convolution whose inputs are not the previous outputs, a width out of range, a head
        // that does not take the trunk's channels: the notebook's width there.
        let mut bad = wide.to_vec();
        bad[4] = &[40, 17, 3, 3];
        assert_eq!(file_widths(deep, &shapes(&bad)).0, vec![24, 16, 32, 32, 96, 104]);
        let mut bad = wide.to_vec();
        bad[10] = &[MAX_WIDTH + 1, 96, 3, 3];
        assert_eq!(file_widths(deep, &shapes(&bad)), (vec![24, 16, 40, 32, 96, 64], 64));
        let mut bad = wide.to_vec();
        bad[12] = &[96, 72];
        assert_eq!(file_widths(deep, &shapes(&bad)).1, 64);
        assert_eq!(file_widths(deep, &[]), (deep.widths(), 64));
    }
}
