//! # digitscope
//!
//! A digit detector made from a classifier: a small convolutional MNIST network trained with an
//! 11th class *background* is **convolutionalized** — its dense head is applied over the channels
//! of the last feature map instead of after a global max pool — so the same weights run over an
//! image of any size and return an 11-class heatmap at stride 8, decoded into detections.
//!
//! This crate is the one definition of the network ([`network`]), its weights ([`weights`]),
//! the heatmap and its geometry ([`heatmap`]) and the decoding ([`detect`]); the CLI, the trainer
//! and the WebAssembly module all use it.

pub mod backend;
pub mod bands;
#[cfg(feature = "training-ops")]
pub mod conv_train;
pub mod detect;
pub mod detector;
pub mod direct;
pub mod error;
pub mod heatmap;
pub mod image;
#[cfg(not(target_arch = "wasm32"))]
pub mod mnist;
pub mod names;
pub mod network;
#[cfg(not(target_arch = "wasm32"))]
pub mod pngio;
pub mod render;
pub mod scene;
#[cfg(feature = "training-ops")]
pub mod swish;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use detect::{DecodeOptions, Detection};
pub use detector::Detector;
pub use error::{Error, Result};
pub use heatmap::Heatmap;
pub use image::{GrayImage, PixelFormat, Pixels};
pub use names::Named;
pub use network::{Architecture, Network, Pooling};
