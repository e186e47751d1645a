//! Keeps the JSON Schema a plugin publishes (`config_schema`) honest: the keys it lists must
//! be exactly the fields of the config struct serde reads. A drifted schema tells vendors and
//! `patchdeck plugins` about keys the plugin rejects, or hides keys it accepts.

use patchdeck_probe_api::abi::PdProbeV1;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::collections::BTreeSet;

/// The field names serde uses for a struct `T` (after `rename`s).
pub fn field_names<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut found = None;
    let _ = T::deserialize(Capture(&mut found));
    found.map(<[&str]>::to_vec).unwrap_or_default()
}

struct Capture<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Capture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("fields captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The `config_schema` a plugin exports through its real ABI descriptor.
pub fn exported_schema(entry: extern "C" fn(u16, u16) -> *const PdProbeV1) -> String {
    let d = entry(patchdeck_probe_api::abi::PD_ABI_MAJOR, 0);
    assert!(!d.is_null(), "the plugin refused ABI major 1");
    // SAFETY: a non-null descriptor from `export_probe!` is a static with NUL-terminated
    // static strings.
    unsafe {
        let d = &*d;
        assert!(
            !d.config_schema.is_null(),
            "the plugin exports no config schema"
        );
        std::ffi::CStr::from_ptr(d.config_schema)
            .to_string_lossy()
            .into_owned()
    }
}

/// Checks that the schema's `properties` at `path` (`""` = top level, `"sups"` = the items
/// of the array `sups`) are exactly the fields of `T`, and that every `required` key is one.
pub fn check<'de, T: Deserialize<'de>>(schema: &str, path: &str) -> Result<(), String> {
    let root: serde_json::Value =
        serde_json::from_str(schema).map_err(|e| format!("schema is not JSON: {e}"))?;
    let mut node = &root;
    if !path.is_empty() {
        node = &root["properties"][path]["items"];
    }
    let props: BTreeSet<&str> = node["properties"]
        .as_object()
        .ok_or_else(|| format!("no `properties` at `{path}`"))?
        .keys()
        .map(String::as_str)
        .collect();
    let fields: BTreeSet<&str> = field_names::<T>().into_iter().collect();
    if fields.is_empty() {
        return Err("the config type is not a struct".into());
    }
    let missing: Vec<_> = fields.difference(&props).collect();
    let extra: Vec<_> = props.difference(&fields).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(format!(
            "schema at `{path}` drifted: fields not in the schema {missing:?}, schema keys that are no field {extra:?}"
        ));
    }
    if node["additionalProperties"] != serde_json::Value::Bool(false) {
        return Err(format!(
            "schema at `{path}` must say \"additionalProperties\": false (the config denies unknown fields)"
        ));
    }
    for r in node["required"].as_array().into_iter().flatten() {
        let r = r.as_str().unwrap_or("");
        if !fields.contains(r) {
            return Err(format!(
                "schema at `{path}` requires `{r}`, which is no field"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        url: String,
        #[serde(rename = "max_age")]
        age: Option<String>,
    }

    #[test]
    fn finds_fields_and_catches_drift() {
        assert_eq!(field_names::<Sample>(), ["url", "max_age"]);
        let ok = r#"{"type":"object","required":["url"],"properties":{"url":{},"max_age":{}},"additionalProperties":false}"#;
        assert_eq!(check::<Sample>(ok, ""), Ok(()));
        let drift = r#"{"properties":{"url":{},"urll":{}},"additionalProperties":false}"#;
        let e = check::<Sample>(drift, "").unwrap_err();
        assert!(
            e.contains("[\"max_age\"]") && e.contains("[\"urll\"]"),
            "{e}"
        );
        let open = r#"{"properties":{"url":{},"max_age":{}}}"#;
        assert!(
            check::<Sample>(open, "")
                .unwrap_err()
                .contains("additionalProperties")
        );
        let nested = r#"{"properties":{"list":{"type":"array","items":{"properties":{"url":{},"max_age":{}},"additionalProperties":false}}}}"#;
        assert_eq!(check::<Sample>(nested, "list"), Ok(()));
    }
}
