//! Hints for sizes written in another unit than Ferry's: `memory: 512Mi`
//! or `cpu: 0.5`, as Kubernetes and docker write them. Each hint says the
//! unit and, when the conversion is exact, the number to write.

use std::sync::LazyLock;

use regex::Regex;

/// A number with an optional unit suffix: `512Mi`, `2 GB`, `0.5`, `500m`.
static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]*)\s*$").expect("valid regex")
});

/// The number and unit suffix of `text`, if it is written like a quantity.
/// Bounded input: a value longer than any quantity is not one.
fn quantity(text: &str) -> Option<(f64, String)> {
    if text.len() > 32 {
        return None;
    }
    let captures = QUANTITY.captures(text)?;
    let number = captures.get(1)?.as_str().parse::<f64>().ok()?;
    let unit = captures.get(2).map_or("", |m| m.as_str()).to_owned();
    Some((number, unit))
}

/// `value` as a whole number, if it is one (up to rounding noise).
fn whole(value: f64) -> Option<u64> {
    let rounded = value.round();
    ((value - rounded).abs() < 1e-9 && (1.0..1e12).contains(&rounded)).then_some(rounded as u64)
}

/// The hint for a `memory` written as `text`, which is not a plain
/// integer: the unit, and what to write if `text` converts exactly.
pub(crate) fn memory(text: &str) -> String {
    const UNIT: &str = "memory is in MiB";
    let Some((number, unit)) = quantity(text) else {
        return format!("{UNIT}, e.g. `memory: 512`");
    };
    // Decimal and binary prefixes are both read as binary: a task's memory
    // is set in MiB, and `2GB` almost always means 2048 MiB.
    let factor = match unit.to_ascii_lowercase().as_str() {
        "mi" | "mib" | "m" | "mb" => Some(1.0),
        "gi" | "gib" | "g" | "gb" => Some(1024.0),
        "ti" | "tib" | "t" | "tb" => Some(1024.0 * 1024.0),
        "ki" | "kib" | "k" | "kb" => Some(1.0 / 1024.0),
        // A bare decimal (`0.5`) is too small to be MiB: read it as GiB.
        "" if number < 128.0 => Some(1024.0),
        "" => Some(1.0),
        _ => None,
    };
    match factor.and_then(|factor| whole(number * factor)) {
        Some(mib) if unit.is_empty() && number < 128.0 => {
            format!("{UNIT}: write {mib} for {number} GiB")
        }
        Some(mib) => format!("{UNIT}: write {mib}"),
        None => format!("{UNIT}, e.g. `memory: 512`"),
    }
}

/// The hint for a `cpu` written as `text`, which is not a plain integer.
pub(crate) fn cpu(text: &str) -> String {
    const UNIT: &str = "cpu is in CPU units, 1024 = 1 vCPU";
    let Some((number, unit)) = quantity(text) else {
        return format!("{UNIT}, e.g. `cpu: 512` for half a vCPU");
    };
    let vcpus = match unit.to_ascii_lowercase().as_str() {
        // Kubernetes millicores.
        "m" => Some(number / 1000.0),
        "" | "vcpu" | "vcpus" | "cpu" | "cpus" | "core" | "cores" => Some(number),
        _ => None,
    };
    match vcpus.and_then(|vcpus| whole(vcpus * 1024.0)) {
        Some(units) => format!("{UNIT}: write {units}"),
        None => format!("{UNIT}, e.g. `cpu: 512` for half a vCPU"),
    }
}

/// A hint for a whole-number `cpu` that Fargate does not have and that
/// looks like a count of vCPUs (`cpu: 2`).
pub(crate) fn cpu_as_vcpus(cpu: u32) -> Option<String> {
    (1..=16).contains(&cpu).then(|| {
        format!(
            "cpu is in CPU units, 1024 = 1 vCPU: write {} for {cpu} vCPU",
            cpu * 1024
        )
    })
}

/// A hint for a whole-number `memory` that Fargate does not have and that
/// looks like GiB (`memory: 2`).
pub(crate) fn memory_as_gib(memory: u32) -> Option<String> {
    (1..=120)
        .contains(&memory)
        .then(|| format!("memory is in MiB: write {} for {memory} GiB", memory * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_convert_to_mib() {
        for (text, hint) in [
            ("512Mi", "memory is in MiB: write 512"),
            ("512MiB", "memory is in MiB: write 512"),
            ("1Gi", "memory is in MiB: write 1024"),
            ("1G", "memory is in MiB: write 1024"),
            ("2GB", "memory is in MiB: write 2048"),
            ("2 gb", "memory is in MiB: write 2048"),
            ("0.5Gi", "memory is in MiB: write 512"),
            ("0.5", "memory is in MiB: write 512 for 0.5 GiB"),
            ("lots", "memory is in MiB, e.g. `memory: 512`"),
            ("1.3Mi", "memory is in MiB, e.g. `memory: 512`"),
        ] {
            assert_eq!(memory(text), hint, "{text}");
        }
    }

    #[test]
    fn cpu_quantities_convert_to_units() {
        for (text, hint) in [
            ("0.5", "write 512"),
            (".25", "write 256"),
            ("500m", "write 512"),
            ("2 vCPU", "write 2048"),
            ("1", "write 1024"),
            ("fast", "e.g. `cpu: 512` for half a vCPU"),
            ("0.3", "e.g. `cpu: 512` for half a vCPU"),
        ] {
            let found = cpu(text);
            assert!(
                found.starts_with("cpu is in CPU units, 1024 = 1 vCPU"),
                "{found}"
            );
            assert!(found.ends_with(hint), "{text}: {found}");
        }
        assert_eq!(cpu_as_vcpus(1024), None);
        assert!(cpu_as_vcpus(2).is_some_and(|h| h.contains("write 2048")));
        assert!(memory_as_gib(4).is_some_and(|h| h.contains("write 4096")));
    }
}
