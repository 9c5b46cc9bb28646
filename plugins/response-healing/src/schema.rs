//! The JSON Schema subset structured outputs use: `type` (one or a list), `properties`,
//! `required`, `additionalProperties: false`, `items`, `enum`, `const`, `anyOf`, and `$ref` to
//! `#/$defs/...` is not followed (such parts are accepted as they are).

use serde_json::Value;

/// Checks `value` against `schema`; the error names the first path that breaks it.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(()); // `true` or an unknown form
    };
    if let Some(Value::Array(options)) = schema.get("anyOf") {
        if options
            .iter()
            .any(|option| validate(option, value, path).is_ok())
        {
            return Ok(());
        }
        return Err(format!("{path} matches none of `anyOf`"));
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| is_type(value, t)) {
            return Err(format!(
                "{path} should be {} but is {}",
                allowed.join(" or "),
                type_of(value)
            ));
        }
    }
    if let Some(Value::Array(choices)) = schema.get("enum")
        && !choices.contains(value)
    {
        return Err(format!("{path} is not one of the allowed values"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{path} should be {constant}"));
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                return Err(format!("{path} lacks the required property `{name}`"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => validate(property, field, &format!("{path}.{name}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!(
                        "{path} has the property `{name}`, which the schema does not allow"
                    ));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{path}[{index}]"))?;
        }
    }
    Ok(())
}

fn is_type(value: &Value, wanted: &str) -> bool {
    match wanted {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        other => type_of(value) == other || (other == "number" && value.is_number()),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
