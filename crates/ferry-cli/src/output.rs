//! `-o table|json|yaml`: the one value every command that prints data
//! takes, and how the structured forms are written. JSON and YAML come
//! from the same serde types, so they always hold the same fields.

use clap::ValueEnum;
use serde::Serialize;

/// How a command prints what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// Human-readable tables.
    #[default]
    Table,
    /// JSON, as documented in the README.
    Json,
    /// YAML, with the same fields as JSON.
    Yaml,
}

/// A structured form: what [`Output::structured`] hands back for `json`
/// and `yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structured {
    Json,
    Yaml,
}

impl Output {
    /// The structured form asked for; `None` for tables.
    pub fn structured(self) -> Option<Structured> {
        match self {
            Output::Table => None,
            Output::Json => Some(Structured::Json),
            Output::Yaml => Some(Structured::Yaml),
        }
    }
}

impl Structured {
    /// `value` as one document: indented JSON, or YAML; without a
    /// trailing newline.
    pub fn document<T: Serialize + ?Sized>(self, value: &T) -> anyhow::Result<String> {
        Ok(match self {
            Structured::Json => serde_json::to_string_pretty(value)?,
            Structured::Yaml => serde_yaml::to_string(value)?.trim_end().to_owned(),
        })
    }

    /// `value` as one record of a stream (`status --watch`, `logs`):
    /// a JSON object on one line, or a YAML document that starts with
    /// `---`, so a YAML reader takes the stream as a sequence of
    /// documents.
    pub fn record<T: Serialize + ?Sized>(self, value: &T) -> anyhow::Result<String> {
        Ok(match self {
            Structured::Json => serde_json::to_string(value)?,
            Structured::Yaml => format!("---\n{}", serde_yaml::to_string(value)?.trim_end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Shown {
        app_name: &'static str,
        tasks: Vec<u32>,
    }

    fn shown() -> Shown {
        Shown {
            app_name: "acme",
            tasks: vec![1, 2],
        }
    }

    #[test]
    fn yaml_and_json_hold_the_same_fields() {
        let json: serde_json::Value =
            serde_json::from_str(&Structured::Json.document(&shown()).expect("json"))
                .expect("parses");
        let yaml: serde_json::Value =
            serde_yaml::from_str(&Structured::Yaml.document(&shown()).expect("yaml"))
                .expect("parses");
        assert_eq!(json, yaml);
        assert_eq!(yaml["appName"], "acme");
    }

    #[test]
    fn records_are_one_json_line_or_one_yaml_document() {
        let line = Structured::Json.record(&shown()).expect("json");
        assert!(!line.contains('\n'), "{line}");
        let stream = format!(
            "{}\n{}\n",
            Structured::Yaml.record(&shown()).expect("yaml"),
            Structured::Yaml.record(&shown()).expect("yaml")
        );
        let documents: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&stream)
            .map(|d| serde_json::Value::deserialize(d).expect("document"))
            .collect();
        assert_eq!(documents.len(), 2, "{stream}");
    }

    #[test]
    fn tables_are_not_structured() {
        assert_eq!(Output::Table.structured(), None);
        assert_eq!(Output::Yaml.structured(), Some(Structured::Yaml));
    }
}
