//! One spelling for every option's name: serde's. The enums that name options (architecture,
//! pooling, decoding, ink, downscale; the trainer's recipes and scene sets) derive `Serialize`
//! and `Deserialize` with their names, implement [`Named`], and are read and written through it
//! — in weights files, on the command line and across the wasm boundary alike.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An enum of unit variants with serde names.
pub trait Named: Serialize + DeserializeOwned + Copy {
    /// What it names, for error messages ("pooling", "ink" …).
    const WHAT: &'static str;

    /// Its name (serde's spelling).
    fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            other => unreachable!("{} names are strings, not {other:?}", Self::WHAT),
        }
    }

    /// Parses a name; the error names the allowed ones (serde's "expected one of …").
    fn from_name(name: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .map_err(|e| format!("unknown {} {name:?}: {e}", Self::WHAT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Decoding;
    use crate::image::{Downscale, Ink};
    use crate::network::{Architecture, Pooling};

    fn round_trip<T: Named + PartialEq + std::fmt::Debug>(all: &[T], names: &[&str]) {
        for (&value, &name) in all.iter().zip(names) {
            assert_eq!(value.name(), name);
            assert_eq!(T::from_name(name), Ok(value));
        }
    }

    #[test]
    fn names_are_the_ones_files_and_options_spell() {
        round_trip(&[Architecture::Small, Architecture::Deep], &["small", "deep"]);
        round_trip(&[Pooling::None, Pooling::Max3, Pooling::Window], &["none", "max3", "window"]);
        round_trip(&[Decoding::Peaks, Decoding::Components], &["peaks", "components"]);
        round_trip(&[Ink::Light, Ink::Dark, Ink::Auto], &["light", "dark", "auto"]);
        round_trip(
            &[Downscale::Box, Downscale::Gain, Downscale::Max, Downscale::Stroke],
            &["box", "gain", "max", "stroke"],
        );
    }

    #[test]
    fn a_bad_name_is_an_error_that_lists_the_allowed_ones() {
        assert_eq!(
            Pooling::from_name("max5"),
            Err("unknown pooling \"max5\": unknown variant `max5`, expected one of `none`, `max3`, `window`"
                .to_string())
        );
        assert!(Architecture::from_name("Deep").unwrap_err().contains("expected `small` or `deep`"));
    }
}
