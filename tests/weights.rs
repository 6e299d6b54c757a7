//! The embedded weights and the weights file format.

use burn::module::Module;
use burn::tensor::Device;
use digitscope::network::{Architecture, Network, Pooling};
use digitscope::weights::{self, EMBEDDED, WeightsInfo};
use digitscope::{Detector, Error};

#[test]
fn embedded_weights_decode_into_the_current_architecture() {
    let detector = Detector::embedded(Device::flex()).expect("embedded weights decode");
    let info = detector.info();
    assert_eq!(detector.network().architecture(), info.architecture);
    assert_eq!(info.pooling, detector.pooling());
    assert!(info.test_accuracy > 0.97, "embedded weights report {}", info.test_accuracy);
    let expected = Network::new(detector.network().architecture(), &Device::flex()).num_params();
    assert_eq!(detector.network().num_params(), expected);
}

#[test]
fn weights_round_trip() {
    let device = Device::flex();
    let net = Network::new(Architecture::Deep, &device);
    let info = WeightsInfo {
        recipe: "test".into(),
        architecture: Architecture::Deep,
        pooling: Pooling::Max3,
        test_accuracy: 0.5,
        pyramid: vec![1, 2],
        checksum: None,
    };
    let bytes = weights::encode(net, &info).unwrap();
    let (decoded, decoded_info) = weights::decode(&bytes, &device).unwrap();
    let (_, record) = weights::read_info(&bytes).unwrap();
    assert_eq!(decoded_info, WeightsInfo { checksum: Some(weights::checksum(record)), ..info });
    assert_eq!(decoded.architecture(), Architecture::Deep);
}

#[test]
fn half_weights_load_into_the_f32_network_and_agree() {
    let device = Device::flex();
    // The trainer's f32 output, of which the embedded default is the f16 version.
    let f32_file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/weights/scenes.dsw")).unwrap();
    let (full, info) = weights::decode(&f32_file, &device).unwrap();
    let f32_bytes = weights::encode(full.clone(), &info).unwrap();
    let half_bytes = weights::encode_half(full.clone(), &info).unwrap();
    let record_len = |b: &[u8]| weights::read_info(b).unwrap().1.len();
    // f16 values: about half the record (the rest is each tensor's dtype and shape).
    assert!(
        record_len(&half_bytes) * 10 < record_len(&f32_bytes) * 6,
        "{} vs {}",
        record_len(&half_bytes),
        record_len(&f32_bytes)
    );
    let (half, half_info) = weights::decode(&half_bytes, &device).unwrap();
    assert_eq!(half_info.recipe, info.recipe);
    // Loaded as f32, each value the f32 one rounded to f16 (relative error ≤ 2^-11), not equal
    // to it everywhere (so the file really holds f16).
    let (a, b) = (full.parameters().unwrap(), half.parameters().unwrap());
    let (wa, wb) = (&a.convs[2].weight, &b.convs[2].weight);
    assert_eq!(wa.len(), wb.len());
    let mut changed = 0;
    for (x, y) in wa.iter().zip(wb) {
        assert!((x - y).abs() <= x.abs() * 2f32.powi(-11) + 1e-7, "{x} → {y}");
        changed += usize::from(x != y);
    }
    assert!(changed > wa.len() / 2, "only {changed} of {} weights changed", wa.len());
    // Rounding to f16 again changes nothing; the embedded weights are these f16 values.
    let again = weights::decode(&weights::encode_half(half, &info).unwrap(), &device).unwrap().0;
    let embedded = weights::decode(EMBEDDED, &device).unwrap().0;
    for net in [again, embedded] {
        let p = net.parameters().unwrap();
        assert_eq!(&p.convs[2].weight, wb);
        assert_eq!(p.output.weight, b.output.weight);
    }
}

/// Where the tensors' heads (dtype, rank, dimensions) of a record of the embedded format end
/// and its values begin.
fn heads_end(record: &[u8]) -> usize {
    let count = u32::from_le_bytes(record[..4].try_into().unwrap());
    (0..count).fold(4, |at, _| at + 2 + 4 * record[at + 1] as usize)
}

#[test]
fn f16_values_are_stored_as_byte_planes_and_the_format_before_still_reads() {
    // The embedded weights (format 3): all f16, their high bytes then their low bytes after the
    // heads. The same values written as format 2 (each tensor's head and its values' bytes side
    // by side) load into the same network.
    assert_eq!(&EMBEDDED[..8], b"DSCPWTS3");
    let (info, record) = weights::read_info(EMBEDDED).unwrap();
    let heads = heads_end(record);
    let planes = (record.len() - heads) / 2;
    let (high, low) = (&record[heads..heads + planes], &record[heads + planes..]);
    // The high bytes (sign, exponent) repeat: a few distinct values where the low ones take
    // nearly all 256.
    let distinct = |bytes: &[u8]| {
        bytes
            .iter()
            .fold([false; 256], |mut s, &b| {
                s[b as usize] = true;
                s
            })
            .iter()
            .filter(|&&s| s)
            .count()
    };
    assert!(distinct(high) < distinct(low) / 2, "{} high, {} low", distinct(high), distinct(low));
    let mut in_turn = record[..4].to_vec();
    let (mut at, mut value) = (4, 0);
    while at < heads {
        let rank = record[at + 1] as usize;
        let n: usize = record[at + 2..at + 2 + 4 * rank]
            .chunks_exact(4)
            .map(|d| u32::from_le_bytes(d.try_into().unwrap()) as usize)
            .product();
        assert_eq!(record[at], 1, "an f16 tensor");
        in_turn.extend_from_slice(&record[at..at + 2 + 4 * rank]);
        for v in value..value + n {
            in_turn.extend_from_slice(&[low[v], high[v]]);
        }
        (at, value) = (at + 2 + 4 * rank, value + n);
    }
    assert_eq!(value, planes);
    let meta = serde_json::to_vec(&WeightsInfo { checksum: Some(weights::checksum(&in_turn)), ..info }).unwrap();
    let mut format_2 = b"DSCPWTS2".to_vec();
    format_2.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    format_2.extend_from_slice(&meta);
    format_2.extend_from_slice(&in_turn);
    let device = Device::flex();
    let (old, new) = (weights::decode(&format_2, &device).unwrap().0, weights::decode(EMBEDDED, &device).unwrap().0);
    let bits = |net: &Network| -> Vec<u32> {
        weights::parameters(net).into_iter().flat_map(|(_, v)| v).map(f32::to_bits).collect()
    };
    assert_eq!(bits(&old), bits(&new));
    // And a network written again is written as format 3, the same bytes.
    let again = weights::encode_half(new, &weights::read_info(EMBEDDED).unwrap().0).unwrap();
    assert_eq!(again, EMBEDDED);
}

fn weights_error(bytes: &[u8]) -> String {
    match weights::decode(bytes, &Device::flex()) {
        Err(Error::Weights(msg)) => msg,
        Err(other) => panic!("wrong error kind: {other}"),
        Ok(_) => panic!("corrupt weights decoded"),
    }
}

#[test]
fn corrupt_weights_are_a_clear_error() {
    assert!(weights_error(b"").contains("bad magic"));
    assert!(weights_error(&EMBEDDED[..20]).contains("truncated"));
    let mut bad = EMBEDDED.to_vec();
    bad[0] ^= 0xff;
    assert!(weights_error(&bad).contains("bad magic"));
    // A bit flipped in the last tensor's values: shapes and lengths still hold, the checksum not.
    let (info, _) = weights::read_info(EMBEDDED).unwrap();
    assert!(info.checksum.is_some(), "the embedded weights carry a checksum");
    let mut flipped = EMBEDDED.to_vec();
    let at = flipped.len() - 9;
    flipped[at] ^= 0x10;
    assert!(weights_error(&flipped).contains("corrupt record: checksum"), "{}", weights_error(&flipped));
    // Cut the record short.
    assert!(!weights_error(&EMBEDDED[..EMBEDDED.len() - 1000]).is_empty());
    // Claim the other architecture: every tensor shape is checked (the widths are read from the
    // file, so the first tensor that cannot fit is the head's, after the small net's three
    // convolutions).
    let (info, record) = weights::read_info(EMBEDDED).unwrap();
    let other = if info.architecture == Architecture::Small { Architecture::Deep } else { Architecture::Small };
    let meta = serde_json::to_vec(&WeightsInfo { architecture: other, ..info.clone() }).unwrap();
    let mut swapped = EMBEDDED[..8].to_vec();
    swapped.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    swapped.extend_from_slice(&meta);
    swapped.extend_from_slice(record);
    assert!(!weights_error(&swapped).is_empty());
    assert!(
        weights_error(&swapped).contains("tensor 6: shape [32, 32, 3, 3] in the file, [32, 64] in the network"),
        "{}",
        weights_error(&swapped)
    );
    // A record that is not what its header says, its checksum left out (so that the structure
    // itself is checked): bytes after the last tensor, too few tensors, a cut-short tensor, an
    // unknown dtype, an absurd tensor count.
    let envelope = |record: &[u8]| {
        let meta = serde_json::to_vec(&WeightsInfo { checksum: None, ..info.clone() }).unwrap();
        let mut out = EMBEDDED[..8].to_vec();
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(record);
        out
    };
    assert!(weights::decode(&envelope(record), &Device::flex()).is_ok(), "the record itself loads");
    let mut longer = record.to_vec();
    longer.push(0);
    assert_eq!(weights_error(&envelope(&longer)), "1 bytes after the last tensor");
    // Without the last tensor (the output bias, 11 f16 values): its head (6 bytes) and its
    // bytes at the end of both planes left out.
    let count = u32::from_le_bytes(record[..4].try_into().unwrap());
    let heads = heads_end(record);
    let planes = (record.len() - heads) / 2;
    let mut fewer = (count - 1).to_le_bytes().to_vec();
    fewer.extend_from_slice(&record[4..heads - 6]);
    fewer.extend_from_slice(&record[heads..heads + planes - 11]);
    fewer.extend_from_slice(&record[heads + planes..record.len() - 11]);
    assert_eq!(weights_error(&envelope(&fewer)), format!("{} tensors in the file, more in the network", count - 1));
    assert_eq!(weights_error(&envelope(&record[..record.len() - 2])), "truncated record");
    let mut dtype = record.to_vec();
    dtype[4] = 9;
    assert_eq!(weights_error(&envelope(&dtype)), "tensor 0: unknown dtype byte 9");
    let mut absurd = record.to_vec();
    absurd[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(weights_error(&envelope(&absurd)), "truncated record");
    // A name that is no architecture fails when the file loads, naming the allowed ones.
    let mut meta = serde_json::to_value(&info).unwrap();
    meta["architecture"] = "huge".into();
    let meta = serde_json::to_vec(&meta).unwrap();
    let mut swapped = EMBEDDED[..8].to_vec();
    swapped.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    swapped.extend_from_slice(&meta);
    swapped.extend_from_slice(record);
    assert!(
        weights_error(&swapped).contains("unknown variant `huge`, expected `small` or `deep`"),
        "{}",
        weights_error(&swapped)
    );
}
