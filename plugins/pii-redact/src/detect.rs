//! Finding what `pii-redact` masks: each kind a regular expression, checked further where the
//! shape alone says too little (Luhn for cards, mod 97 for IBANs, a digit count for phones).

use regex::Regex;
use serde::Deserialize;

/// A kind of personal data or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// E-mail addresses.
    Email,
    /// Phone numbers (8 to 15 digits, optional `+` and separators).
    Phone,
    /// Payment card numbers (13 to 19 digits passing Luhn).
    Card,
    /// IBANs (passing their mod-97 check).
    Iban,
    /// API keys of well-known shapes (OpenAI, Anthropic, AWS, GitHub, Slack, Google).
    ApiKey,
}

impl Kind {
    /// Every kind, in the order they are looked for (keys and cards before phones, whose digits
    /// they would otherwise claim).
    pub fn all() -> Vec<Kind> {
        vec![
            Kind::ApiKey,
            Kind::Email,
            Kind::Iban,
            Kind::Card,
            Kind::Phone,
        ]
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Card => "CARD",
            Kind::Iban => "IBAN",
            Kind::ApiKey => "API_KEY",
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            Kind::Email => r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            Kind::Phone => r"\+?\(?\d[\d .()-]{6,}\d",
            Kind::Card => r"\b\d(?:[ -]?\d){12,18}\b",
            Kind::Iban => r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
            Kind::ApiKey => {
                r"\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})"
            }
        }
    }

    fn valid(self, found: &str) -> bool {
        let digits: Vec<u32> = found.chars().filter_map(|c| c.to_digit(10)).collect();
        match self {
            Kind::Card => luhn(&digits),
            Kind::Phone => (8..=15).contains(&digits.len()),
            Kind::Iban => iban_checks(found),
            Kind::Email | Kind::ApiKey => true,
        }
    }
}

/// `text` with every `kinds` match replaced by its placeholder (the same value always the same
/// one, numbered per kind in `map`); `None` when nothing matched.
pub fn mask(text: &str, kinds: &[Kind], map: &mut Vec<(String, String)>) -> Option<String> {
    let mut current = text.to_owned();
    let mut changed = false;
    for kind in Kind::all().into_iter().filter(|kind| kinds.contains(kind)) {
        let Ok(regex) = Regex::new(kind.pattern()) else {
            continue;
        };
        let replaced = regex.replace_all(&current, |found: &regex::Captures<'_>| {
            let original = &found[0];
            if !kind.valid(original) {
                return original.to_owned();
            }
            changed = true;
            placeholder(kind, original, map)
        });
        current = replaced.into_owned();
    }
    changed.then_some(current)
}

fn placeholder(kind: Kind, original: &str, map: &mut Vec<(String, String)>) -> String {
    if let Some((placeholder, _)) = map.iter().find(|(_, seen)| seen == original) {
        return placeholder.clone();
    }
    let prefix = format!("[{}_", kind.label());
    let number = map.iter().filter(|(p, _)| p.starts_with(&prefix)).count() + 1;
    let placeholder = format!("{prefix}{number}]");
    map.push((placeholder.clone(), original.to_owned()));
    placeholder
}

/// The Luhn check of a card number's digits.
fn luhn(digits: &[u32]) -> bool {
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| match index % 2 {
            1 if digit * 2 > 9 => digit * 2 - 9,
            1 => digit * 2,
            _ => digit,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 check: the first four characters moved to the end, letters as 10..35, mod 97
/// is 1.
fn iban_checks(found: &str) -> bool {
    let compact: String = found.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 15 {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u64 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(value) => value as u64,
            None => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_tell_real_numbers_from_look_alikes() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
        assert!(iban_checks("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_checks("DE89370400440532013000"));
        assert!(!iban_checks("GB82 WEST 1234 5698 7654 33"));
    }
}
