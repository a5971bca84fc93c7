//! Hints fit what was written: a size in another unit gets Ferry's unit
//! and the number to write; a quoted number is only quoted.

use super::*;

#[track_caller]
fn hint(line: &str, path: &str, expected: &str) {
    let errors = errors(&edit(&[(25, line)]));
    assert_eq!(errors.len(), 1, "{}", Diagnostics(errors.clone()));
    assert_eq!(errors[0].path, path);
    assert!(
        errors[0].message.contains(expected),
        "{}\nshould contain {expected:?}",
        errors[0]
    );
    if !expected.contains("without quotes") {
        assert!(
            !errors[0].message.contains("without quotes"),
            "{}",
            errors[0]
        );
    }
}

const MEMORY: &str = "spec.processes.worker.memory";
const CPU: &str = "spec.processes.worker.cpu";

#[test]
fn memory_in_other_units() {
    hint("      memory: 512Mi", MEMORY, "memory is in MiB: write 512");
    hint("      memory: 1Gi", MEMORY, "memory is in MiB: write 1024");
    hint("      memory: 1G", MEMORY, "memory is in MiB: write 1024");
    hint("      memory: 2GB", MEMORY, "memory is in MiB: write 2048");
    hint(
        "      memory: 0.5",
        MEMORY,
        "memory is in MiB: write 512 for 0.5 GiB",
    );
    hint(
        "      memory: '3072'",
        MEMORY,
        "write numbers without quotes",
    );
    hint(
        "      memory: 2",
        MEMORY,
        "memory is in MiB: write 2048 for 2 GiB",
    );
}

#[test]
fn cpu_in_other_units() {
    let units = "cpu is in CPU units, 1024 = 1 vCPU: write 512";
    hint("      cpu: 0.5", CPU, units);
    hint("      cpu: '0.5'", CPU, units);
    hint("      cpu: 500m", CPU, units);
    hint("      cpu: '512'", CPU, "write numbers without quotes");
    hint("      cpu: 2", CPU, "write 2048 for 2 vCPU");
}
