//! Reduces a JSON Schema to the OpenAPI subset Gemini's `responseSchema` and function
//! `parameters` accept.

use serde_json::{Map, Value};

/// Schema keywords Gemini accepts; everything else (`additionalProperties`, `$schema`,
/// `strict`...) is dropped.
const KEPT: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// The reduced schema. A `type` list such as `["string", "null"]` becomes `type: string` with
/// `nullable: true`.
pub fn reduce(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        if !KEPT.contains(&key.as_str()) {
            continue;
        }
        let value = match key.as_str() {
            "properties" => match value {
                Value::Object(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, schema)| (name.clone(), reduce(schema)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" => reduce(value),
            "anyOf" => match value {
                Value::Array(options) => Value::Array(options.iter().map(reduce).collect()),
                other => other.clone(),
            },
            "type" => match value {
                Value::Array(types) => {
                    let mut kinds = types.iter().filter(|t| t.as_str() != Some("null"));
                    if types.iter().any(|t| t.as_str() == Some("null")) {
                        out.insert("nullable".to_owned(), Value::Bool(true));
                    }
                    kinds
                        .next()
                        .cloned()
                        .unwrap_or(Value::String("string".to_owned()))
                }
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// True when `schema` is an object schema without properties (Gemini rejects those as function
/// parameters; the function is declared without parameters instead).
pub fn is_empty_object(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
}
