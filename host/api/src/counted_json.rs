//! Parsing a JSON body straight into its type while counting its values: the cap on a request's
//! JSON values ([`MAX_JSON_VALUES`](super::request_limits::MAX_JSON_VALUES)) is kept during the
//! one parse, with no `serde_json::Value` tree built first to count.
//!
//! [`Counted`] wraps a deserializer and charges one unit of a budget for every value it hands
//! out (object keys are not values), including the values a type skips (unknown fields) or
//! buffers (`#[serde(flatten)]`, untagged enums); the parse stops with an error as soon as the
//! budget is spent.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// Parses `bytes` as one `T`, refusing a document of more than `values` JSON values below its
/// top level (the top-level value itself is not counted, as in
/// [`check_counts`](super::request_limits::check_counts)).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], values: usize) -> serde_json::Result<T> {
    let budget = Budget(Cell::new(values.saturating_add(1)));
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = T::deserialize(Counted::new(&mut deserializer, &budget))?;
    deserializer.end()?;
    Ok(parsed)
}

/// How many more values the document may hold.
struct Budget(Cell<usize>);

impl Budget {
    fn charge<E: de::Error>(&self) -> Result<(), E> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(E::custom("too many JSON values")),
        }
    }
}

/// A deserializer of one value that charges the budget when the value is read.
struct Counted<'b, D> {
    inner: D,
    budget: &'b Budget,
    /// Already charged: the inside of an `Option` or newtype the visitor was handed.
    charged: bool,
}

impl<'b, D> Counted<'b, D> {
    fn new(inner: D, budget: &'b Budget) -> Self {
        Counted {
            inner,
            budget,
            charged: false,
        }
    }

    fn charge<E: de::Error>(&self) -> Result<(), E> {
        if self.charged {
            Ok(())
        } else {
            self.budget.charge()
        }
    }
}

/// A visitor that keeps counting inside what it visits.
struct Counting<'b, V> {
    inner: V,
    budget: &'b Budget,
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.charge::<D::Error>()?;
            let visitor = Counting { inner: visitor, budget: self.budget };
            self.inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Counted<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    /// A skipped value is walked, not skipped, so that what it holds is counted too.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
            self.inner.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Counting<'_, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Counted {
            inner,
            budget: self.budget,
            charged: true,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Counted {
            inner,
            budget: self.budget,
            charged: true,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(Counting {
            inner: seq,
            budget: self.budget,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Counting {
            inner: map,
            budget: self.budget,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Counting {
            inner: data,
            budget: self.budget,
        })
    }
}

/// A seed whose value is counted.
struct CountedSeed<'b, S> {
    inner: S,
    budget: &'b Budget,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for CountedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Counted::new(inner, self.budget))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Counting<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        self.inner.next_element_seed(CountedSeed {
            inner: seed,
            budget: self.budget,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Counting<'_, A> {
    type Error = A::Error;

    /// Keys are names, not values: not counted.
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.next_value_seed(CountedSeed {
            inner: seed,
            budget: self.budget,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'b, A: EnumAccess<'de>> EnumAccess<'de> for Counting<'b, A> {
    type Error = A::Error;
    type Variant = Counting<'b, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        let variant = Counting {
            inner: variant,
            budget: self.budget,
        };
        Ok((value, variant))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Counting<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.newtype_variant_seed(CountedSeed {
            inner: seed,
            budget: self.budget,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = Counting {
            inner: visitor,
            budget: self.budget,
        };
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = Counting {
            inner: visitor,
            budget: self.budget,
        };
        self.inner.struct_variant(fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use switchyard_sdk::openai::ChatRequest;

    /// The values below the top level, as `check_counts` counts them.
    fn counted(json: &str) -> usize {
        let value: Value = serde_json::from_str(json).expect("JSON");
        let fits = |cap| from_slice::<Value>(json.as_bytes(), cap).is_ok();
        let count = (0..10_000).find(|cap| fits(*cap)).expect("fits");
        let fields = value.as_object().expect("an object");
        assert_eq!(
            count,
            crate::request_limits::json_values(fields.values(), usize::MAX),
            "{json}"
        );
        count
    }

    #[test]
    fn every_value_below_the_top_is_counted_once() {
        assert_eq!(counted(r#"{"a": [[1, 2], {"b": "c"}], "d": null}"#), 7);
        assert_eq!(counted(r#"{}"#), 0);
        assert_eq!(counted(r#"{"a": {"b": {"c": [null, true, 1.5, "x"]}}}"#), 7);
    }

    /// A typed parse counts what the type keeps in `extra` (flatten), what an untagged enum
    /// buffers, what an `Option` holds, and the fields a nested type ignores.
    #[test]
    fn a_typed_parse_counts_like_the_tree() {
        let json = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},{"role":"assistant","content":"yo","tool_calls":null}],"temperature":0.5,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"ignored":[1,2,3,[4]]}}],"stop":["a","b"],"extra":{"deep":[1,[2,[3]]]}}"#;
        let total = counted(json);
        assert!(from_slice::<ChatRequest>(json.as_bytes(), total).is_ok());
        let error = from_slice::<ChatRequest>(json.as_bytes(), total - 1).expect_err("over");
        assert!(
            error.to_string().contains("too many JSON values"),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_document_still_fails() {
        assert!(from_slice::<Value>(b"{\"a\": 1} trailing", 10).is_err());
        assert!(from_slice::<ChatRequest>(br#"{"model":"m"}"#, 10).is_err());
    }
}
