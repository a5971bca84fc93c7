//! The CPU and memory combinations Fargate accepts for a task.
//!
//! Source: "Task CPU and memory" in the Amazon ECS developer guide
//! (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size>).
//! ECS rejects any other combination when the task definition is
//! registered; checking here turns that late AWS error into a manifest
//! error with a line number.

/// The memory (MiB) Fargate allows for one CPU value.
#[derive(Debug, Clone, Copy)]
enum MemoryChoices {
    List(&'static [u32]),
    Steps { min: u32, max: u32, step: u32 },
}

impl MemoryChoices {
    fn contains(self, memory: u32) -> bool {
        match self {
            Self::List(values) => values.contains(&memory),
            Self::Steps { min, max, step } => {
                (min..=max).contains(&memory) && (memory - min) % step == 0
            }
        }
    }

    fn values(self) -> Vec<u32> {
        match self {
            Self::List(values) => values.to_vec(),
            Self::Steps { min, max, step } => (min..=max).step_by(step as usize).collect(),
        }
    }

    fn describe(self) -> String {
        match self {
            Self::List(values) => or_list(values),
            Self::Steps { min, max, step } => format!("{min} to {max} in steps of {step}"),
        }
    }
}

/// CPU units, smallest first, with the memory each allows.
const SIZES: &[(u32, MemoryChoices)] = &[
    (256, MemoryChoices::List(&[512, 1024, 2048])),
    (
        512,
        MemoryChoices::Steps {
            min: 1024,
            max: 4096,
            step: 1024,
        },
    ),
    (
        1024,
        MemoryChoices::Steps {
            min: 2048,
            max: 8192,
            step: 1024,
        },
    ),
    (
        2048,
        MemoryChoices::Steps {
            min: 4096,
            max: 16384,
            step: 1024,
        },
    ),
    (
        4096,
        MemoryChoices::Steps {
            min: 8192,
            max: 30720,
            step: 1024,
        },
    ),
    (
        8192,
        MemoryChoices::Steps {
            min: 16384,
            max: 61440,
            step: 4096,
        },
    ),
    (
        16384,
        MemoryChoices::Steps {
            min: 32768,
            max: 122880,
            step: 8192,
        },
    ),
];

fn choices(cpu: u32) -> Option<MemoryChoices> {
    SIZES
        .iter()
        .find(|(size, _)| *size == cpu)
        .map(|(_, memory)| *memory)
}

/// The memory values (MiB) Fargate accepts with `cpu` CPU units, ascending,
/// or `None` if Fargate has no such CPU size.
pub fn valid_memory_for_cpu(cpu: u32) -> Option<Vec<u32>> {
    choices(cpu).map(MemoryChoices::values)
}

/// Every Fargate CPU size, ascending, for the JSON Schema.
pub(crate) fn cpu_values() -> Vec<i64> {
    SIZES.iter().map(|(cpu, _)| i64::from(*cpu)).collect()
}

/// Every memory value (MiB) some Fargate CPU size allows, ascending, for
/// the JSON Schema; which CPU it needs is `ferry validate`'s to check.
pub(crate) fn memory_values() -> Vec<i64> {
    let mut values: Vec<i64> = SIZES
        .iter()
        .flat_map(|(_, choices)| choices.values())
        .map(i64::from)
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The smallest CPU size that allows `memory` MiB, if any does.
pub(crate) fn smallest_cpu_for_memory(memory: u32) -> Option<u32> {
    SIZES
        .iter()
        .find(|(_, choices)| choices.contains(memory))
        .map(|(cpu, _)| *cpu)
}

/// The smallest memory allowed with `cpu`, if `cpu` is a Fargate size.
pub(crate) fn smallest_memory_for_cpu(cpu: u32) -> Option<u32> {
    choices(cpu).and_then(|choices| choices.values().first().copied())
}

pub(crate) fn is_valid(cpu: u32, memory: u32) -> bool {
    choices(cpu).is_some_and(|choices| choices.contains(memory))
}

/// "256, 512, 1024, 2048, 4096, 8192 or 16384"
pub(crate) fn describe_cpu_values() -> String {
    let cpus: Vec<u32> = SIZES.iter().map(|(cpu, _)| *cpu).collect();
    or_list(&cpus)
}

/// e.g. "2048 to 8192 in steps of 1024"; empty for a CPU Fargate lacks.
pub(crate) fn describe_memory_for_cpu(cpu: u32) -> String {
    choices(cpu)
        .map(MemoryChoices::describe)
        .unwrap_or_default()
}

/// Every valid memory value, grouped by the CPU it needs.
pub(crate) fn describe_all_memory() -> String {
    SIZES
        .iter()
        .map(|(cpu, choices)| format!("{} (cpu {cpu})", choices.describe()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn or_list(values: &[u32]) -> String {
    match values.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            let rest: Vec<String> = rest.iter().map(ToString::to_string).collect();
            format!("{} or {last}", rest.join(", "))
        }
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_tables_match_the_ecs_documentation() {
        assert_eq!(valid_memory_for_cpu(256), Some(vec![512, 1024, 2048]));
        assert_eq!(
            valid_memory_for_cpu(512),
            Some(vec![1024, 2048, 3072, 4096])
        );
        assert_eq!(
            valid_memory_for_cpu(1024),
            Some((2..=8).map(|gib| gib * 1024).collect())
        );
        assert_eq!(
            valid_memory_for_cpu(2048),
            Some((4..=16).map(|gib| gib * 1024).collect())
        );
        assert_eq!(
            valid_memory_for_cpu(4096),
            Some((8..=30).map(|gib| gib * 1024).collect())
        );
        assert_eq!(
            valid_memory_for_cpu(8192),
            Some((16..=60).step_by(4).map(|gib| gib * 1024).collect())
        );
        assert_eq!(
            valid_memory_for_cpu(16384),
            Some((32..=120).step_by(8).map(|gib| gib * 1024).collect())
        );
        for cpu in [0, 1, 128, 300, 1000, 32768] {
            assert_eq!(valid_memory_for_cpu(cpu), None, "{cpu}");
        }
    }

    #[test]
    fn smallest_cpu_for_memory_picks_the_cheapest_size() {
        assert_eq!(smallest_cpu_for_memory(512), Some(256));
        assert_eq!(smallest_cpu_for_memory(2048), Some(256));
        assert_eq!(smallest_cpu_for_memory(3072), Some(512));
        assert_eq!(smallest_cpu_for_memory(9216), Some(2048));
        assert_eq!(smallest_cpu_for_memory(61440), Some(8192));
        assert_eq!(smallest_cpu_for_memory(122880), Some(16384));
        assert_eq!(smallest_cpu_for_memory(1536), None);
        assert_eq!(smallest_cpu_for_memory(0), None);
    }

    #[test]
    fn descriptions_list_the_valid_values() {
        assert_eq!(
            describe_cpu_values(),
            "256, 512, 1024, 2048, 4096, 8192 or 16384"
        );
        assert_eq!(describe_memory_for_cpu(256), "512, 1024 or 2048");
        assert_eq!(
            describe_memory_for_cpu(1024),
            "2048 to 8192 in steps of 1024"
        );
        assert!(describe_all_memory().starts_with("512, 1024 or 2048 (cpu 256); 1024 to 4096"));
    }

    #[test]
    fn every_listed_combination_is_valid() {
        for (cpu, _) in SIZES {
            for memory in valid_memory_for_cpu(*cpu).unwrap_or_default() {
                assert!(is_valid(*cpu, memory), "{cpu}/{memory}");
            }
            assert_eq!(
                smallest_memory_for_cpu(*cpu),
                valid_memory_for_cpu(*cpu).map(|m| m[0])
            );
        }
    }
}
