//! One JSON reader for everything the browser decodes.
//!
//! serde_json compiles a type's decoding once per kind of input. Server
//! functions read their responses from bytes (`from_slice`); resources
//! (the data a server-rendered page hands to the browser) and the live feed
//! read from text (`from_str`). A type that arrived both ways, which most
//! page data does, was compiled into the wasm twice. Everything here reads
//! from bytes, as server functions must.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};

/// The resources' codec: JSON as serde_json writes it, read from bytes.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        decode(val)
    }
}

/// Reads `T` from JSON text (through the byte reader: see the module's doc).
pub fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

/// Data loaded for a page: a [`Resource`] whose value reaches the browser
/// in [`Json`].
pub type Loaded<T> = Resource<T, Json>;

/// [`Resource::new`], with the value handed to the browser in [`Json`].
#[track_caller]
pub fn load<T, S, Fut>(source: impl Fn() -> S + Send + Sync + 'static, fetcher: impl Fn(S) -> Fut + Send + Sync + 'static) -> Loaded<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_serde_json_writes_and_borrows_raw_values() {
        let text = serde_json::to_string(&vec![Some(3_i64), None]).expect("encodes");
        assert_eq!(decode::<Vec<Option<i64>>>(&text).expect("decodes"), vec![Some(3), None]);
        let raw: &serde_json::value::RawValue = decode(r#"{"a": [1, 2]}"#).expect("raw");
        assert_eq!(raw.get(), r#"{"a": [1, 2]}"#);
        assert!(decode::<i64>("\"not a number\"").is_err());
    }
}
