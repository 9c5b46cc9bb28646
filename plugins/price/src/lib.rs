//! The `price` routing policy, Switchyard's default and OpenRouter's documented default: endpoints
//! with a recent outage go to the back, and the healthy rest are ordered by weighted random
//! sampling with weight inverse to the square of the request's expected price. Every candidate is
//! kept: the ones after the first are fallbacks.
//!
//! The ordering itself lives in [`order`], a pure module tested natively; this file only exports
//! it as a WebAssembly component.

use switchyard_sdk::router::{Candidate, Descriptor, RequestSummary, Router};

pub mod order;

/// The `price` policy.
pub struct Price;

impl Router for Price {
    fn describe() -> Descriptor {
        Descriptor {
            name: "price".to_owned(),
            version: "0.1.0".to_owned(),
        }
    }

    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
        order::order(&request, &candidates)
            .into_iter()
            .map(|index| {
                u32::try_from(index).map_err(|_| format!("candidate index {index} exceeds u32"))
            })
            .collect()
    }
}

switchyard_sdk::export_router!(Price);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_itself() {
        let descriptor = Price::describe();
        assert_eq!(descriptor.name, "price");
        assert_eq!(descriptor.version, "0.1.0");
    }

    #[test]
    fn empty_candidate_list_gives_empty_order() {
        let request = RequestSummary {
            model: "m".to_owned(),
            estimated_prompt_tokens: 10,
            max_tokens: None,
            seed: 1,
        };
        assert_eq!(Price::order(request, Vec::new()), Ok(Vec::new()));
    }
}
