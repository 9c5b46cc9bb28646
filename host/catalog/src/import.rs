//! `switchyard catalog import`: converts LiteLLM's MIT-licensed price map
//! (`model_prices_and_context_window.json`, shipped in the `litellm` wheel) into the catalog's
//! models file.
//!
//! The rules in `host/domain/catalog/aliases.toml` say which LiteLLM providers to read and how their
//! model ids become canonical `author/slug` ids: the organisation or the model-name prefix gives
//! the author; the slug is lowercased, Fireworks' `v3p3` becomes `3.3`, quantization and `turbo`
//! suffixes are dropped (the quantization is recorded), Anthropic's `4-5-20250929` becomes `4.5`.
//! The alias table overrides those rules id by id. Every provider id that maps to the same
//! canonical id becomes one endpoint of one model.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use switchyard_domain::config::builtin_catalog::{CatalogSource, ModelsFile};
use switchyard_domain::config::{EndpointConfig, ModelConfig};

const PER_MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
/// Suffix tokens dropped from slugs; the first four name a quantization.
const QUANTIZATIONS: [&str; 6] = ["fp8", "fp16", "bf16", "int8", "int4", "fp4"];
/// Modalities in the order they are listed.
const MODALITIES: [&str; 6] = ["text", "image", "file", "audio", "video", "embeddings"];
/// Parameters every chat model takes.
const BASE_PARAMETERS: [&str; 4] = ["max_tokens", "temperature", "top_p", "stop"];

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The rules file is malformed.
    #[error("invalid import rules: {0}")]
    Rules(#[from] toml::de::Error),
    /// The price map is not JSON.
    #[error("the price map is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The price map is JSON but not an object of models.
    #[error("the price map must be a JSON object of model entries")]
    NotAnObject,
}

/// The import rules and alias table (`host/domain/catalog/aliases.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRules {
    /// LiteLLM provider name → how to read its entries.
    pub sources: BTreeMap<String, SourceRule>,
    /// Organisation in an `org/model` id → canonical author (empty: no organisation).
    #[serde(default)]
    pub orgs: BTreeMap<String, String>,
    /// Model-name prefix → canonical author.
    #[serde(default)]
    pub authors: BTreeMap<String, String>,
    /// Author → display name.
    #[serde(default)]
    pub author_names: BTreeMap<String, String>,
    /// `<provider>/<provider model id>` → canonical id.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

/// How to read one LiteLLM provider's entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRule {
    /// The Switchyard provider serving these models.
    pub provider: String,
    /// Stripped from LiteLLM's key to get the provider's model id.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Keys without `prefix` are read too (otherwise skipped).
    #[serde(default)]
    pub prefix_optional: bool,
    /// Prepended to provider model ids without an organisation (Fireworks' full ids).
    #[serde(default)]
    pub model_prefix: Option<String>,
    /// Canonical author of models whose id names none.
    #[serde(default)]
    pub author: Option<String>,
    /// Provider model ids containing any of these are skipped.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Separates the organisation from the model in the provider's ids instead of `/` (Bedrock's
    /// `anthropic.claude-…`); ids without it are skipped.
    #[serde(default)]
    pub org_separator: Option<String>,
    /// Inference-profile prefixes (Bedrock's `us` in `us.amazon.nova-lite-v1:0`), most preferred
    /// first: the canonical id is read without them; a model's plain id is kept over its
    /// profiles, else its first-listed profile.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// A trailing model revision (Bedrock's `-v1:0`, `-1:0`) is not part of the canonical id.
    #[serde(default)]
    pub revision_suffix: bool,
    /// The Switchyard provider serving this source's Responses-only models (LiteLLM's mode
    /// `responses`, e.g. OpenAI's `-pro` and codex lines); without it they are skipped.
    #[serde(default)]
    pub responses_provider: Option<String>,
}

impl SourceRule {
    /// The id without its inference-profile prefix, and the profile's rank (1 for the first
    /// listed; 0 without a profile).
    fn strip_profile<'a>(&self, upstream: &'a str) -> (usize, &'a str) {
        (self.profiles.iter().enumerate())
            .find_map(|(index, profile)| {
                (upstream.strip_prefix(profile.as_str()))
                    .and_then(|rest| rest.strip_prefix('.'))
                    .map(|rest| (index + 1, rest))
            })
            .unwrap_or((0, upstream))
    }
}

impl ImportRules {
    /// Parses a rules file.
    pub fn parse(text: &str) -> Result<ImportRules, ImportError> {
        Ok(toml::from_str(text)?)
    }
}

/// The result of an import.
#[derive(Debug)]
pub struct Imported {
    /// The catalog's models file.
    pub file: ModelsFile,
    /// Aliases that matched no imported entry (stale or mistyped).
    pub unmatched_aliases: Vec<String>,
}

/// The fields of a LiteLLM entry the importer reads.
#[derive(Debug, Default, Deserialize)]
struct Entry {
    litellm_provider: Option<String>,
    mode: Option<String>,
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    cache_creation_input_token_cost: Option<f64>,
    output_cost_per_reasoning_token: Option<f64>,
    input_cost_per_request: Option<f64>,
    input_cost_per_image: Option<f64>,
    max_input_tokens: Option<f64>,
    max_tokens: Option<f64>,
    max_output_tokens: Option<f64>,
    deprecation_date: Option<String>,
    supports_function_calling: Option<bool>,
    supports_response_schema: Option<bool>,
    supports_reasoning: Option<bool>,
    supports_vision: Option<bool>,
    supports_pdf_input: Option<bool>,
    supports_audio_input: Option<bool>,
    supports_audio_output: Option<bool>,
    supports_video_input: Option<bool>,
}

/// One provider's offer of a canonical model, before grouping.
struct Offer {
    canonical: String,
    /// The alias-table key that named the canonical id, if one did.
    alias: Option<String>,
    /// How far down the source's preference the id's inference profile is (0: no profile).
    profile_rank: usize,
    endpoint: EndpointConfig,
    context_length: Option<u64>,
    input_modalities: BTreeSet<&'static str>,
    output_modalities: BTreeSet<&'static str>,
    parameters: BTreeSet<&'static str>,
}

/// Converts a LiteLLM price map into a models file, recording `source`. Chat and embedding
/// entries are imported (embedding models write `embeddings`), and Responses-only entries of
/// sources with a `responses_provider` (served by that provider); entries deprecated on or before
/// `source.imported`, other modes, and entries without their token prices (an input price for
/// embedding models) are left out.
pub fn import(
    price_map: &str,
    rules: &ImportRules,
    source: CatalogSource,
) -> Result<Imported, ImportError> {
    let Value::Object(entries) = serde_json::from_str::<Value>(price_map)? else {
        return Err(ImportError::NotAnObject);
    };
    let mut matched_aliases = BTreeSet::new();
    let mut offers: BTreeMap<(String, String), Offer> = BTreeMap::new();
    for (key, value) in entries {
        let Ok(entry) = serde_json::from_value::<Entry>(value) else {
            continue;
        };
        let Some(offer) = rules.offer(&key, &entry, &source.imported) else {
            continue;
        };
        if let Some(alias) = &offer.alias {
            matched_aliases.insert(alias.clone());
        }
        let slot = (offer.canonical.clone(), offer.endpoint.provider.clone());
        match offers.get(&slot) {
            Some(kept) if !prefer(&offer, kept) => {}
            _ => {
                offers.insert(slot, offer);
            }
        }
    }
    let mut models: BTreeMap<String, ModelConfig> = BTreeMap::new();
    let mut traits: BTreeMap<String, [BTreeSet<&'static str>; 3]> = BTreeMap::new();
    for ((canonical, _), offer) in offers {
        let model = models
            .entry(canonical.clone())
            .or_insert_with(|| ModelConfig {
                id: canonical.clone(),
                name: Some(rules.display_name(&canonical)),
                description: None,
                context_length: None,
                input_modalities: Vec::new(),
                output_modalities: Vec::new(),
                supported_parameters: Vec::new(),
                policy: None,
                endpoints: Vec::new(),
            });
        model.context_length = model.context_length.max(offer.context_length);
        model.endpoints.push(offer.endpoint);
        let [inputs, outputs, parameters] = traits.entry(canonical).or_default();
        inputs.extend(offer.input_modalities);
        outputs.extend(offer.output_modalities);
        parameters.extend(offer.parameters);
    }
    for (id, [inputs, outputs, parameters]) in traits {
        if let Some(model) = models.get_mut(&id) {
            model.input_modalities = ordered(&inputs);
            model.output_modalities = ordered(&outputs);
            model.supported_parameters = parameters.into_iter().map(str::to_owned).collect();
        }
    }
    let unmatched_aliases = (rules.aliases.keys())
        .filter(|alias| !matched_aliases.contains(*alias))
        .cloned()
        .collect();
    Ok(Imported {
        file: ModelsFile {
            source,
            models: models.into_values().collect(),
        },
        unmatched_aliases,
    })
}

/// Whether `new` should replace `kept` as a provider's endpoint for one canonical model: an
/// aliased id first, then the most preferred inference profile (none best), then a `latest`
/// id, then the greatest id (the newest dated version).
fn prefer(new: &Offer, kept: &Offer) -> bool {
    let rank = |offer: &Offer| {
        (
            offer.alias.is_some(),
            std::cmp::Reverse(offer.profile_rank),
            offer.endpoint.upstream_model.contains("latest"),
            offer.endpoint.upstream_model.clone(),
        )
    };
    rank(new) > rank(kept)
}

fn ordered(modalities: &BTreeSet<&str>) -> Vec<String> {
    MODALITIES
        .iter()
        .filter(|modality| modalities.contains(*modality))
        .map(|modality| (*modality).to_owned())
        .collect()
}

impl ImportRules {
    /// The offer of one LiteLLM entry, or `None` when it is left out.
    fn offer(&self, key: &str, entry: &Entry, date: &str) -> Option<Offer> {
        let rule = self.sources.get(entry.litellm_provider.as_deref()?)?;
        let (embedding, provider) = match entry.mode.as_deref() {
            Some("chat") => (false, &rule.provider),
            Some("embedding") => (true, &rule.provider),
            Some("responses") => (false, rule.responses_provider.as_ref()?),
            _ => return None,
        };
        if entry.deprecation_date.as_deref().is_some_and(|d| d <= date) {
            return None;
        }
        let upstream = match &rule.prefix {
            Some(prefix) => match key.strip_prefix(prefix.as_str()) {
                Some(rest) => rest,
                None if rule.prefix_optional => key,
                None => return None,
            },
            None => key,
        };
        if upstream.is_empty() || rule.skip.iter().any(|s| upstream.contains(s.as_str())) {
            return None;
        }
        let upstream = match &rule.model_prefix {
            Some(prefix) if !upstream.contains('/') => format!("{prefix}{upstream}"),
            _ => upstream.to_owned(),
        };
        let upstream = upstream.as_str();
        let (profile_rank, profiled) = rule.strip_profile(upstream);
        let prompt = per_million(entry.input_cost_per_token?)?;
        let completion = match (embedding, entry.output_cost_per_token) {
            (_, Some(price)) => per_million(price)?,
            (true, None) => Decimal::ZERO,
            (false, None) => return None,
        };
        if prompt.is_zero() && completion.is_zero() {
            return None;
        }
        let alias_key = format!("{}/{profiled}", rule.provider);
        let (slug_id, quantization) = self.canonical(rule, profiled);
        let (canonical, alias) = match self.aliases.get(&alias_key) {
            Some(canonical) => (canonical.clone(), Some(alias_key)),
            None => (slug_id?, None),
        };
        let tokens = |count: Option<f64>| count.filter(|c| *c > 0.0).map(|c| c as u64);
        let endpoint = EndpointConfig {
            provider: provider.clone(),
            upstream_model: upstream.to_owned(),
            prompt_price: prompt,
            completion_price: completion,
            cache_read_price: entry.cache_read_input_token_cost.and_then(per_million),
            cache_write_price: entry.cache_creation_input_token_cost.and_then(per_million),
            reasoning_price: entry.output_cost_per_reasoning_token.and_then(per_million),
            request_price: entry
                .input_cost_per_request
                .and_then(usd)
                .unwrap_or_default(),
            image_price: entry.input_cost_per_image.and_then(usd).unwrap_or_default(),
            web_search_price: None,
            builtin_tool_prices: BTreeMap::new(),
            max_output_tokens: tokens(entry.max_output_tokens),
            quantization,
            weight: 1.0,
        };
        let flag = |value: Option<bool>| value == Some(true);
        let mut input_modalities = BTreeSet::from(["text"]);
        for (supported, modality) in [
            (entry.supports_vision, "image"),
            (entry.supports_pdf_input, "file"),
            (entry.supports_audio_input, "audio"),
            (entry.supports_video_input, "video"),
        ] {
            if flag(supported) {
                input_modalities.insert(modality);
            }
        }
        if embedding {
            return Some(Offer {
                canonical,
                alias,
                profile_rank,
                endpoint,
                context_length: tokens(entry.max_input_tokens.or(entry.max_tokens)),
                input_modalities: BTreeSet::from(["text"]),
                output_modalities: BTreeSet::from(["embeddings"]),
                parameters: BTreeSet::new(),
            });
        }
        let mut output_modalities = BTreeSet::from(["text"]);
        if flag(entry.supports_audio_output) {
            output_modalities.insert("audio");
        }
        let mut parameters = BTreeSet::from(BASE_PARAMETERS);
        for (supported, names) in [
            (entry.supports_function_calling, ["tools", "tool_choice"]),
            (
                entry.supports_response_schema,
                ["response_format", "structured_outputs"],
            ),
            (entry.supports_reasoning, ["reasoning", "include_reasoning"]),
        ] {
            if flag(supported) {
                parameters.extend(names);
            }
        }
        Some(Offer {
            canonical,
            alias,
            profile_rank,
            endpoint,
            context_length: tokens(entry.max_input_tokens.or(entry.max_tokens)),
            input_modalities,
            output_modalities,
            parameters,
        })
    }

    /// The canonical id the rules give a provider model id, and the quantization its id names.
    fn canonical(&self, rule: &SourceRule, upstream: &str) -> (Option<String>, Option<String>) {
        let mut lower = upstream.to_lowercase();
        if let Some(separator) = &rule.org_separator {
            let Some((org, model)) = lower.split_once(separator.as_str()) else {
                return (None, None);
            };
            lower = format!("{org}/{model}");
        }
        if rule.revision_suffix {
            lower.truncate(without_revision(&lower).len());
        }
        // The organisation is the longest one in the table the id starts with, else the first
        // path segment; a model part that still has a slash has no canonical id by rule.
        let table_org = (self.orgs.keys())
            .filter(|org| lower.starts_with(org.as_str()) && lower[org.len()..].starts_with('/'))
            .max_by_key(|org| org.len());
        let (org, model) = match table_org {
            Some(org) => (self.orgs.get(org).cloned(), &lower[org.len() + 1..]),
            None => match lower.split_once('/') {
                Some((org, model)) => (Some(org.to_owned()), model),
                None => (None, lower.as_str()),
            },
        };
        if model.contains('/') {
            return (None, None);
        }
        let hosted_weights = rule.author.is_none();
        let (slug, quantization) = normalise_slug(model, hosted_weights);
        let author = org
            .filter(|org| !org.is_empty())
            .or_else(|| self.author_by_prefix(&slug))
            .or_else(|| rule.author.clone());
        let id = author.map(|author| format!("{author}/{slug}"));
        (id.filter(|_| !slug.is_empty()), quantization)
    }

    /// The author whose model-name prefix `slug` starts with (longest prefix wins).
    fn author_by_prefix(&self, slug: &str) -> Option<String> {
        (self.authors.iter())
            .filter(|(prefix, _)| {
                slug.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, author)| author.clone())
    }

    /// `Meta: Llama 3.3 70B Instruct` for `meta-llama/llama-3.3-70b-instruct`.
    fn display_name(&self, canonical: &str) -> String {
        let (author, slug) = canonical.split_once('/').unwrap_or(("", canonical));
        let author = match self.author_names.get(author) {
            Some(name) => name.clone(),
            None => capitalise(author),
        };
        let words: Vec<String> = slug
            .split(['-', '_'])
            .filter(|word| !word.is_empty())
            .map(|word| match word {
                "gpt" | "oss" | "vl" => word.to_uppercase(),
                _ if word.ends_with('b') && word[..word.len() - 1].parse::<f64>().is_ok() => {
                    word.to_uppercase()
                }
                _ => capitalise(word),
            })
            .collect();
        format!("{author}: {}", words.join(" "))
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lowercase slug with Fireworks' `v3p3` as `3.3`, `Meta-Llama` as `llama`, Anthropic's
/// `4-5-20250929` as `4.5`, and `latest` and quantization tokens dropped, plus `turbo` for
/// `hosted_weights` (a host's faster variant, not OpenAI's `gpt-3.5-turbo`); plus the
/// quantization.
fn normalise_slug(model: &str, hosted_weights: bool) -> (String, Option<String>) {
    let mut quantization = None;
    let mut tokens: Vec<String> = Vec::new();
    for token in model.split('-') {
        let token = decimal_p(token);
        if let Some(found) = QUANTIZATIONS.iter().find(|q| **q == token) {
            quantization = Some((*found).to_owned());
            continue;
        }
        if token == "latest" || (hosted_weights && token == "turbo") {
            continue;
        }
        tokens.push(token);
    }
    if tokens.first().is_some_and(|t| t == "meta") && tokens.get(1).is_some_and(|t| t == "llama") {
        tokens.remove(0);
    }
    if tokens.first().is_some_and(|t| t == "llama")
        && let Some(version) = tokens.get_mut(1)
        && version.starts_with('v')
        && version[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        version.remove(0);
    }
    if tokens.first().is_some_and(|t| t == "claude") {
        if tokens.last().is_some_and(|t| t.len() == 8 && is_digits(t)) {
            tokens.pop();
        }
        tokens = join_single_digits(tokens);
    }
    (tokens.join("-"), quantization)
}

/// `claude-3-5-sonnet-20240620` for `claude-3-5-sonnet-20240620-v1:0`: a trailing `-v<n>:<n>`
/// or `-<n>:<n>` revision dropped.
fn without_revision(id: &str) -> &str {
    let Some((head, minor)) = id.rsplit_once(':') else {
        return id;
    };
    let Some((model, major)) = head.rsplit_once('-') else {
        return id;
    };
    let major = major.strip_prefix('v').unwrap_or(major);
    if is_digits(major) && is_digits(minor) {
        model
    } else {
        id
    }
}

/// `v3p3` → `v3.3`: a `p` between digits is a decimal point.
fn decimal_p(token: &str) -> String {
    let bytes = token.as_bytes();
    let mut out = String::with_capacity(token.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let between_digits = i > 0
            && i + 1 < bytes.len()
            && bytes[i - 1].is_ascii_digit()
            && bytes[i + 1].is_ascii_digit();
        out.push(if byte == b'p' && between_digits {
            '.'
        } else {
            byte as char
        });
    }
    out
}

/// `["claude", "3", "5", "sonnet"]` → `["claude", "3.5", "sonnet"]`.
fn join_single_digits(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens {
        let joinable = token.len() == 1
            && is_digits(&token)
            && out
                .last()
                .is_some_and(|last| last.len() == 1 && is_digits(last));
        match out.last_mut() {
            Some(last) if joinable => {
                last.push('.');
                last.push_str(&token);
            }
            _ => out.push(token),
        }
    }
    out
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A USD-per-token float as USD per million tokens, exactly as printed (no float error).
fn per_million(per_token: f64) -> Option<Decimal> {
    usd(per_token).map(|price| (price * PER_MILLION).normalize())
}

/// A non-negative USD float as a decimal, from its shortest round-trip representation.
fn usd(value: f64) -> Option<Decimal> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Decimal::from_str(&value.to_string())
        .or_else(|_| Decimal::from_scientific(&format!("{value:e}")))
        .ok()
        .map(|price| price.normalize())
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    civil_date((seconds / 86_400) as i64)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_normalised() {
        let cases = [
            ("llama-v3p3-70b-instruct", "llama-3.3-70b-instruct", None),
            (
                "llama-3.3-70b-instruct-turbo",
                "llama-3.3-70b-instruct",
                None,
            ),
            ("meta-llama-3.1-8b-instruct", "llama-3.1-8b-instruct", None),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4.5", None),
            ("claude-3-5-haiku-latest", "claude-3.5-haiku", None),
            ("qwen3-235b-a22b-fp8", "qwen3-235b-a22b", Some("fp8")),
            ("gemma-3-27b-it", "gemma-3-27b-it", None),
        ];
        for (model, slug, quantization) in cases {
            let (got, got_quantization) = normalise_slug(&model.to_lowercase(), true);
            assert_eq!(got, slug, "{model}");
            assert_eq!(got_quantization.as_deref(), quantization, "{model}");
        }
        assert_eq!(normalise_slug("gpt-3.5-turbo", false).0, "gpt-3.5-turbo");
    }

    #[test]
    fn revisions_are_dropped() {
        assert_eq!(
            without_revision("anthropic/claude-3-5-sonnet-20241022-v2:0"),
            "anthropic/claude-3-5-sonnet-20241022"
        );
        assert_eq!(
            without_revision("openai/gpt-oss-20b-1:0"),
            "openai/gpt-oss-20b"
        );
        assert_eq!(
            without_revision("anthropic/claude-opus-4-6-v1"),
            "anthropic/claude-opus-4-6-v1"
        );
        assert_eq!(without_revision("deepseek/v3.2"), "deepseek/v3.2");
        assert_eq!(without_revision("x:y"), "x:y");
    }

    #[test]
    fn float_prices_convert_exactly() {
        assert_eq!(
            per_million(1.5e-07).map(|d| d.to_string()),
            Some("0.15".into())
        );
        assert_eq!(per_million(3e-06).map(|d| d.to_string()), Some("3".into()));
        assert_eq!(
            per_million(1.04e-06).map(|d| d.to_string()),
            Some("1.04".into())
        );
        assert_eq!(per_million(-1.0), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_417), "2025-11-25");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;
    use switchyard_domain::config::builtin_catalog::ALIASES;

    const SAMPLE: &str = include_str!("../../tests/data/litellm_sample.json");

    fn source() -> CatalogSource {
        CatalogSource {
            name: "sample".into(),
            url: "https://example.invalid".into(),
            license: "MIT".into(),
            version: "litellm 1.110.2".into(),
            imported: "2026-11-25".into(),
        }
    }

    fn endpoints(model: &ModelConfig) -> Vec<(String, String, String, String)> {
        (model.endpoints.iter())
            .map(|e| {
                (
                    e.provider.clone(),
                    e.upstream_model.clone(),
                    e.prompt_price.to_string(),
                    e.completion_price.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn the_sample_imports_to_the_expected_entries() {
        let rules = ImportRules::parse(ALIASES).expect("rules");
        let imported = import(SAMPLE, &rules, source()).expect("import");
        assert_eq!(imported.file.source, source());
        let models: BTreeMap<&str, &ModelConfig> = (imported.file.models.iter())
            .map(|model| (model.id.as_str(), model))
            .collect();
        // Left out: deprecated before the import date (deepseek-chat, Together's Llama 3.3),
        // a provider without a rule (gmi), LiteLLM's sample_spec, a Bedrock per-region price
        // (`bedrock/us-east-1/…`) and a Vertex-style `@` id.
        assert_eq!(
            models.keys().copied().collect::<Vec<_>>(),
            [
                "amazon/nova-lite-v1",
                "amazon/titan-embed-text-v1",
                "anthropic/claude-haiku-4.5",
                "meta-llama/llama-3.1-8b-instruct",
                "meta-llama/llama-3.3-70b-instruct",
                "openai/gpt-4o-mini",
                "openai/gpt-oss-120b",
                "openai/gpt-oss-20b",
                "openai/text-embedding-3-large",
                "qwen/qwen3-32b",
                "x-ai/grok-4.7",
            ]
        );
        let s = |text: &str| text.to_owned();
        // Embedding models write embeddings and are priced per input token.
        let embedding = models["openai/text-embedding-3-large"];
        assert_eq!(embedding.output_modalities, ["embeddings"]);
        assert_eq!(
            endpoints(embedding),
            [(s("openai"), s("text-embedding-3-large"), s("0.13"), s("0"))]
        );
        // One model, three providers; Bedrock's revision suffix is not part of the canonical id.
        assert_eq!(
            endpoints(models["openai/gpt-oss-120b"]),
            [
                (
                    s("bedrock"),
                    s("openai.gpt-oss-120b-1:0"),
                    s("0.15"),
                    s("0.6")
                ),
                (s("cerebras"), s("gpt-oss-120b"), s("0.35"), s("0.75")),
                (s("groq"), s("openai/gpt-oss-120b"), s("0.15"), s("0.6")),
            ]
        );
        // Bedrock's plain model id is kept over its inference profiles (`us.`, `eu.`), a
        // `global.` profile over a `us.` one when there is no plain id.
        assert_eq!(
            endpoints(models["anthropic/claude-haiku-4.5"]),
            [
                (
                    s("anthropic"),
                    s("claude-haiku-4-5-20251001"),
                    s("1"),
                    s("5")
                ),
                (
                    s("bedrock"),
                    s("anthropic.claude-haiku-4-5-20251001-v1:0"),
                    s("1"),
                    s("5")
                ),
            ]
        );
        assert_eq!(
            endpoints(models["amazon/nova-lite-v1"]),
            [(
                s("bedrock"),
                s("amazon.nova-lite-v1:0"),
                s("0.06"),
                s("0.24")
            )]
        );
        assert_eq!(
            endpoints(models["x-ai/grok-4.7"]),
            [(s("bedrock"), s("global.xai.grok-4.7"), s("2"), s("6"))]
        );
        // Fireworks' short ids get their account prefix; `v3p3` is 3.3.
        assert_eq!(
            endpoints(models["openai/gpt-oss-20b"])[0].1,
            "accounts/fireworks/models/gpt-oss-20b"
        );
        // … and the alias table maps Bedrock's `llama3-3`.
        assert_eq!(
            endpoints(models["meta-llama/llama-3.3-70b-instruct"])
                .into_iter()
                .map(|(provider, upstream, ..)| (provider, upstream))
                .collect::<Vec<_>>(),
            [
                (s("bedrock"), s("meta.llama3-3-70b-instruct-v1:0")),
                (
                    s("fireworks"),
                    s("accounts/fireworks/models/llama-v3p3-70b-instruct")
                ),
            ]
        );
        // The alias table maps Cerebras' id.
        assert_eq!(
            endpoints(models["meta-llama/llama-3.1-8b-instruct"])[0].1,
            "llama-3.1-8b"
        );
        // The dated Anthropic id is kept over its undated twin; cache prices come along.
        let haiku = models["anthropic/claude-haiku-4.5"];
        assert_eq!(haiku.name.as_deref(), Some("Anthropic: Claude Haiku 4.5"));
        assert_eq!(haiku.context_length, Some(200_000));
        let endpoint = &haiku.endpoints[0];
        assert_eq!(
            endpoint.cache_read_price.map(|p| p.to_string()),
            Some(s("0.1"))
        );
        assert_eq!(
            endpoint.cache_write_price.map(|p| p.to_string()),
            Some(s("1.25"))
        );
        assert_eq!(endpoint.max_output_tokens, Some(64_000));
        assert!(haiku.input_modalities.contains(&s("image")));
        assert!(haiku.supported_parameters.contains(&s("tools")));
        assert!(haiku.supported_parameters.contains(&s("reasoning")));
        // The quantization in an id is recorded, not part of the canonical id.
        let qwen = &models["qwen/qwen3-32b"].endpoints[0];
        assert_eq!(qwen.upstream_model, "qwen/qwen3-32b-fp8");
        assert_eq!(qwen.quantization.as_deref(), Some("fp8"));
        // The sample's aliased ids are matched (an alias also covers an id's profiles); the
        // table's others are reported as unmatched.
        for matched in [
            "cerebras/llama-3.1-8b",
            "bedrock/amazon.nova-lite-v1:0",
            "bedrock/meta.llama3-3-70b-instruct-v1:0",
        ] {
            assert!(
                !(imported.unmatched_aliases.iter()).any(|a| a == matched),
                "{matched}"
            );
        }
        assert!((imported.unmatched_aliases.iter()).any(|a| a == "mistral/open-mistral-nemo"));
    }

    #[test]
    fn a_price_map_that_is_not_an_object_is_refused() {
        let rules = ImportRules::parse(ALIASES).expect("rules");
        assert!(matches!(
            import("[1, 2]", &rules, source()),
            Err(ImportError::NotAnObject)
        ));
        assert!(matches!(
            import("{", &rules, source()),
            Err(ImportError::Json(_))
        ));
    }
}
